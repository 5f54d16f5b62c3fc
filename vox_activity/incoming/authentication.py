"""Who sent this POST?  Its signature, checked with a key proven to be the signer's.

The ``Signature`` header is parsed once: its key id is needed first (to count
the request against its server's allowance and to find the key), and the
parsed form is then verified.  The key is found by
:func:`vox_activity.net.remote_keys.verification_key` under a request budget
(:mod:`vox_activity.net.budget`): a key that cannot be had in time means
401, which the sender retries.  A key that no longer verifies is refetched
once (it may have been rotated), at most once a minute per key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from vox_activity.exceptions import (
    Dropped,
    KeyMismatch,
    Refused,
    RemoteActorError,
    SignatureError,
)
from vox_activity.incoming.throttle import throttle
from vox_activity.models import RemoteActor, RemoteKey
from vox_activity.net.budget import request_budget
from vox_activity.net.remote_keys import verification_key
from vox_activity.protocol import cavage
from vox_activity.protocol.vocabulary import iri_of

__all__ = ["Signed", "authenticate", "parse_signature", "signed_headers"]


@dataclass(frozen=True)
class Signed:
    """A parsed signature: which scheme, which key, the parsed parameters."""

    scheme: str
    key_id: str
    params: Any


def signed_headers(request: HttpRequest) -> dict[str, str]:
    """The headers as the sender signed them; ``Host`` as the site sees it.

    Behind a reverse proxy that rewrites ``Host``, set ``USE_X_FORWARDED_HOST``
    so ``get_host()`` returns the name the sender used.
    """
    headers = dict(request.headers)
    headers["Host"] = request.get_host()
    return headers


def parse_signature(headers: Mapping[str, str]) -> Signed | None:
    """The request's signature, parsed; None when it is not signed."""
    lowered = {name.lower(): value for name, value in headers.items()}
    raw = lowered.get("signature")
    if raw is None:
        return None
    params = cavage.parse_signature_header(raw)
    return Signed("cavage", params.key_id, params)


def authenticate(request: HttpRequest, data: dict[str, Any]) -> RemoteActor:
    """The remote actor whose key signed ``request``; 401/429, or Dropped."""
    headers = signed_headers(request)
    try:
        signed = parse_signature(headers)
    except SignatureError as exc:
        raise Refused(401, f"Bad Signature header: {exc.reason}") from exc
    if signed is None:
        raise Refused(401, "The request is not signed (no Signature header).")
    throttle(signed.key_id, request)
    actor = iri_of(data.get("actor"))
    deletes_itself = (
        data.get("type") == "Delete" and iri_of(data.get("object")) == actor
    )
    if deletes_itself and not _known_sender(signed.key_id, actor):
        raise Dropped  # a deleted account we never knew: nothing to undo
    with request_budget():
        return _verified_signer(request, headers, signed)


def _known_sender(key_id: str, actor: str) -> bool:
    """Have we ever stored this sender (by key, by key's document, or by actor)?"""
    owner = key_id.split("#", 1)[0]
    return (
        RemoteKey.objects.filter(key_id=key_id).exists()
        or RemoteActor.objects.filter(Q(iri=owner) | Q(iri=actor)).exists()
    )


def _verified_signer(
    request: HttpRequest, headers: dict[str, str], signed: Signed
) -> RemoteActor:
    try:
        key = verification_key(signed.key_id)
    except RemoteActorError as exc:
        raise Refused(401, f"The signing key could not be fetched: {exc}") from exc
    try:
        _verify(request, headers, signed, key.public_key_pem)
        return key.actor
    except KeyMismatch as first:
        try:  # perhaps the key was rotated: fetch it again (rate-limited)
            fresh = verification_key(signed.key_id, refresh=True)
        except RemoteActorError:
            fresh = key
        if fresh.public_key_pem == key.public_key_pem:
            raise Refused(401, f"Bad signature: {first.reason}") from first
        try:
            _verify(request, headers, signed, fresh.public_key_pem)
        except SignatureError as exc:
            raise Refused(401, f"Bad signature: {exc.reason}") from exc
        return fresh.actor
    except SignatureError as exc:  # no new key can fix this one
        raise Refused(401, f"Bad signature: {exc.reason}") from exc


def _verify(
    request: HttpRequest, headers: dict[str, str], signed: Signed, pem: str
) -> None:
    cavage.verify_request(
        request.method or "POST",
        request.get_full_path(),
        headers,
        request.body,
        pem,
        params=signed.params,
    )
