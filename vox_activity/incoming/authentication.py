"""Who sent this POST, and who speaks in it?  Signatures, checked with proven keys.

Two questions, answered in that order:

1. **Who signed the request?**  An HTTP signature, RFC 9421 (``Signature-Input``,
   as Fedify sends first) or draft-cavage (``Signature``, as Mastodon sends),
   checked with a key proven to be its actor's
   (:func:`vox_activity.net.remote_keys.verification_key`).  The key is found
   under a request budget (:mod:`vox_activity.net.budget`): a key that cannot
   be had in time means 401, which the sender retries.  A key that no longer
   verifies is refetched once (it may have been rotated), at most once a
   minute per key.  The header is parsed once; its key id is counted against
   the sender's allowance before anything is fetched (429).
2. **Whose activity is it?**  The signer's, normally.  An activity whose
   ``actor`` is someone else (a relay, a forwarded reply) is accepted only
   with an Object Integrity Proof (FEP-8b32, ``eddsa-jcs-2022``) by that
   actor, checked with a key from the actor's own ``assertionMethod``.
   Otherwise 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
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
from vox_activity.models import DomainBlock, RemoteActor, RemoteKey
from vox_activity.net.budget import request_budget
from vox_activity.net.remote_keys import verification_key
from vox_activity.protocol import cavage, proofs, rfc9421
from vox_activity.protocol.iri import check_iri
from vox_activity.protocol.vocabulary import iri_of
from vox_activity.site import site_scheme

__all__ = [
    "Authenticated",
    "Signed",
    "authenticate",
    "authenticate_fetch",
    "parse_signature",
]


@dataclass(frozen=True)
class Signed:
    """A parsed HTTP signature: its scheme, key id, and parsed parameters."""

    scheme: str
    key_id: str
    params: Any = None


@dataclass(frozen=True)
class Authenticated:
    """Who signed the request, and the actor the activity is proven to be by."""

    signer: RemoteActor
    actor: RemoteActor
    #: How ``actor`` was proven: ``"http-signature"`` or ``"integrity-proof"``.
    proven_by: str


def signed_headers(request: HttpRequest) -> dict[str, str]:
    """The headers as the sender signed them; ``Host`` as the site sees it.

    Behind a reverse proxy that rewrites ``Host``, set ``USE_X_FORWARDED_HOST``
    so ``get_host()`` returns the name the sender used.
    """
    headers = dict(request.headers)
    headers["Host"] = request.get_host()
    return headers


def target_uri(request: HttpRequest) -> str:
    """The URI the sender addressed: the site's public scheme, host and path."""
    return f"{site_scheme()}://{request.get_host()}{request.get_full_path()}"


def parse_signature(headers: Mapping[str, str]) -> Signed | None:
    """The request's signature, parsed; None when it is not signed."""
    scheme = rfc9421.signature_scheme_of(headers)
    if scheme == "rfc9421":
        key_id = rfc9421.key_id_of(headers)
        if not key_id:
            raise SignatureError("no signature we can check in Signature-Input")
        return Signed("rfc9421", key_id)
    if scheme == "cavage":
        lowered = {name.lower(): value for name, value in headers.items()}
        params = cavage.parse_signature_header(lowered["signature"])
        return Signed("cavage", params.key_id, params)
    return None


def authenticate(request: HttpRequest, data: dict[str, Any]) -> Authenticated:
    """The signer of ``request`` and the proven actor of ``data``.

    Raises :class:`Refused` (401 unsigned or badly signed, 403 when the
    actor is not proven, 429 over the allowance) or :class:`Dropped`.
    """
    headers = signed_headers(request)
    try:
        signed = parse_signature(headers)
    except SignatureError as exc:
        raise Refused(401, f"Bad signature header: {exc.reason}") from exc
    if signed is None:
        raise Refused(401, "The request is not signed (no Signature header).")
    refuse_blocked(signed.key_id)
    throttle(signed.key_id, request)
    actor_iri = iri_of(data.get("actor"))
    deletes_itself = (
        data.get("type") == "Delete" and iri_of(data.get("object")) == actor_iri
    )
    if deletes_itself and not _known_sender(signed.key_id, actor_iri):
        raise Dropped  # a deleted account we never knew: nothing to undo
    with request_budget():
        signer = _verified_signer(request, headers, signed)
        if actor_iri == signer.iri:
            return Authenticated(signer, signer, "http-signature")
        check_iri(actor_iri, "actor")
        refuse_blocked(actor_iri)
        actor = _proven_actor(data, actor_iri, signer)
    return Authenticated(signer, actor, "integrity-proof")


def authenticate_fetch(request: HttpRequest) -> RemoteActor | None:
    """The remote actor who signed this GET, or None when it is not signed.

    Used where access depends on who asks (objects addressed to followers,
    authorized-fetch mode).  A signature that is there but does not verify
    is refused (401), as Mastodon does.
    """
    headers = signed_headers(request)
    try:
        signed = parse_signature(headers)
    except SignatureError as exc:
        raise Refused(401, f"Bad signature header: {exc.reason}") from exc
    if signed is None:
        return None
    refuse_blocked(signed.key_id)
    throttle(signed.key_id, request)
    with request_budget():
        return _verified_signer(request, headers, signed)


def refuse_blocked(iri: str) -> None:
    """403 for a server the admin blocked, before anything is fetched from it."""
    if DomainBlock.objects.blocks(iri):
        raise Refused(403, "This server is blocked here.")


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
    key = _fetch(signed.key_id, "publicKey")
    try:
        _verify(request, headers, signed, key.public_key_pem)
        return key.actor
    except KeyMismatch as first:
        fresh = _refetched(signed.key_id, key)
        if fresh is None:
            raise Refused(401, f"Bad signature: {first.reason}") from first
        try:
            _verify(request, headers, signed, fresh.public_key_pem)
        except SignatureError as exc:
            raise Refused(401, f"Bad signature: {exc.reason}") from exc
        return fresh.actor
    except SignatureError as exc:  # no new key can fix this one
        raise Refused(401, f"Bad signature: {exc.reason}") from exc


def _fetch(key_id: str, purpose: str) -> RemoteKey:
    try:
        key = verification_key(key_id)
    except RemoteActorError as exc:
        raise Refused(401, f"The signing key could not be fetched: {exc}") from exc
    if key.purpose != purpose:
        raise Refused(401, f"{key_id} is not a key for this kind of signature.")
    return key


def _refetched(key_id: str, key: RemoteKey) -> RemoteKey | None:
    """The key fetched again if it changed (rotation), else None."""
    try:
        fresh = verification_key(key_id, refresh=True)
    except RemoteActorError:
        return None
    return fresh if fresh.public_key_pem != key.public_key_pem else None


def _verify(
    request: HttpRequest, headers: dict[str, str], signed: Signed, pem: str
) -> None:
    if signed.scheme == "rfc9421":
        rfc9421.verify_request(
            request.method or "POST", target_uri(request), headers, request.body, pem
        )
        return
    cavage.verify_request(
        request.method or "POST",
        request.get_full_path(),
        headers,
        request.body,
        pem,
        params=signed.params,
    )


def _proven_actor(
    data: dict[str, Any], actor_iri: str, signer: RemoteActor
) -> RemoteActor:
    """The activity's actor, proven by its integrity proof (FEP-8b32), or 403."""
    try:
        proof = proofs.proof_of(data)
    except SignatureError as exc:
        raise Refused(401, f"Bad integrity proof: {exc.reason}") from exc
    if proof is None:
        raise Refused(
            403,
            f"The request is signed by {signer.iri}, not by the activity's actor, "
            "and the activity carries no integrity proof by its actor.",
        )
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or method.partition("#")[0] != actor_iri:
        raise Refused(403, "The integrity proof is not by the activity's actor.")
    key = _fetch(method, "assertionMethod")
    if not _proof_holds(data, proof, key):
        fresh = _refetched(method, key)  # perhaps the key was rotated
        if fresh is None or not _proof_holds(data, proof, fresh):
            raise Refused(
                401, "The integrity proof does not verify with its actor's key."
            )
        key = fresh
    if key.actor.iri != actor_iri:
        raise Refused(403, "The integrity proof is not by the activity's actor.")
    return key.actor


def _proof_holds(data: dict[str, Any], proof: dict[str, Any], key: RemoteKey) -> bool:
    """Does ``key`` verify ``proof``?  Malformed proofs are refused (401)."""
    try:
        proofs.verify_proof(data, _ed25519(key.public_key_pem), proof=proof)
    except KeyMismatch:
        return False
    except SignatureError as exc:
        raise Refused(401, f"Bad integrity proof: {exc.reason}") from exc
    return True


def _ed25519(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError("the proof key is not an Ed25519 key")
    return key
