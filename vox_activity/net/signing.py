"""Signing outbound requests as an actor, and the double knock (RFC 9421, then cavage).

:func:`signed_request` sends a request signed as an actor.  Two signature
schemes are in use on the Fediverse: RFC 9421 HTTP Message Signatures (what
Fedify sends first, and what Mastodon verifies since 4.5) and the older
draft-cavage-12 (what every Mastodon verifies).  With the
``HTTP_SIGNATURES`` setting at ``"double-knock"`` (the default), as Fedify
does: the first request to a server is signed with RFC 9421; if it answers
400 or 401 the same request is sent again signed with draft-cavage, and the
scheme that worked is remembered per server (in the cache, and on its
:class:`~vox_activity.models.DomainHealth` row, written only when it
changes), so later requests knock once.

Parsed private keys are kept per process: a delivery worker signs with a
handful of keys over and over, and reading one from the database for every
delivery cost a query each.  A rotated key replaces the cached one at once in
this process (the ``post_save`` receiver below) and within
:data:`CACHE_SECONDS` in every other.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from vox_activity.conf import get_setting
from vox_activity.models import ActorKey, DomainHealth
from vox_activity.models.remote import domain_of as _domain_of
from vox_activity.net import http
from vox_activity.protocol import cavage, rfc9421
from vox_activity.registry import actor_for_iri, instance_actor_iri, key_id

__all__ = [
    "CACHE_SECONDS",
    "Scheme",
    "SigningKey",
    "forget_signing_keys",
    "remembered_scheme",
    "signed_request",
    "signer",
    "signing_key_for",
]

Scheme = Literal["rfc9421", "cavage"]

#: How long another process may go on signing with a key after a rotation.
CACHE_SECONDS = 300.0
#: Answers that mean "I did not accept that signature": knock again.
KNOCK_AGAIN = frozenset({400, 401})


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key_pem: str

    def __repr__(self) -> str:  # never print the private key
        return f"SigningKey(key_id={self.key_id!r})"


_cache: dict[str, tuple[float, SigningKey]] = {}
_lock = threading.Lock()


def signing_key_for(actor_iri: str | None) -> SigningKey:
    """The key to sign a request made on behalf of ``actor_iri``.

    A local actor signs with its own key; anything else (no actor, a remote
    or unknown IRI) with the instance actor's key.
    """
    cache_key = actor_iri or ""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(cache_key)
    if cached is not None and cached[0] > now:
        return cached[1]
    owner = actor_for_iri(actor_iri) if actor_iri else None
    departed = (
        ActorKey.objects.filter(actor_iri=actor_iri).first()
        if owner is None and actor_iri
        else None
    )
    if departed is not None:  # a deleted actor's last words (its Delete)
        assert actor_iri is not None
        key = SigningKey(key_id(actor_iri), departed.private_key_pem)
    else:
        iri = actor_iri if owner is not None and actor_iri else instance_actor_iri()
        pair = ActorKey.objects.for_actor(owner)
        key = SigningKey(key_id(iri), pair.private_key_pem)
    with _lock:
        _cache[cache_key] = (now + CACHE_SECONDS, key)
    return key


def forget_signing_keys() -> None:
    """Drop every cached key (this process): after a rotation, and in tests."""
    with _lock:
        _cache.clear()


@receiver(post_save, sender=ActorKey)
@receiver(post_delete, sender=ActorKey)
def _key_changed(**_kwargs: Any) -> None:
    forget_signing_keys()


def signer(actor_iri: str | None, scheme: Scheme = "cavage") -> http.Signer:
    """A ``sign(method, url, headers, body) -> headers`` for the HTTP client.

    It signs each request (and each redirect hop) as ``actor_iri``, or as the
    instance actor when that is not a local actor, with ``scheme``.
    """
    key = signing_key_for(actor_iri)
    sign_with = rfc9421.sign_request if scheme == "rfc9421" else cavage.sign_request

    def sign(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> Mapping[str, str]:
        return sign_with(
            method,
            url,
            headers,
            body,
            key_id=key.key_id,
            private_key_pem=key.private_key_pem,
        )

    return sign


# --- the double knock ---------------------------------------------------------


#: The server of a URL, kept per process (a worker signs for the same few
#: hundred inboxes over and over; parsing each IRI again cost more than its
#: cache lookups).
domain_of = functools.lru_cache(maxsize=1024)(_domain_of)


def _memory_key(domain: str) -> str:
    return f"vox_activity:signature-scheme:{domain}"


def remembered_scheme(url: str) -> Scheme | None:
    """The scheme the server of ``url`` is known to accept, if known."""
    domain = domain_of(url)
    known = cache.get(_memory_key(domain))
    if known is None:
        known = (
            DomainHealth.objects.filter(domain=domain)
            .values_list("signature_scheme", flat=True)
            .first()
        ) or ""
        cache.set(_memory_key(domain), known, 24 * 3600)
    return "rfc9421" if known == "rfc9421" else "cavage" if known else None


def _remember(url: str, scheme: Scheme) -> None:
    domain = domain_of(url)
    if cache.get(_memory_key(domain)) == scheme:
        return
    cache.set(_memory_key(domain), scheme, 24 * 3600)
    DomainHealth.objects.update_or_create(
        domain=domain, defaults={"signature_scheme": scheme}
    )


def _first_scheme(url: str) -> tuple[Scheme, bool]:
    """(scheme to sign with, whether to knock again with the other on 400/401)."""
    mode = get_setting("HTTP_SIGNATURES")
    if mode == "cavage":
        return "cavage", False
    if mode == "rfc9421":
        return "rfc9421", False
    known = remembered_scheme(url)
    return (known, False) if known else ("rfc9421", True)


def signed_request(
    method: str,
    url: str,
    *,
    actor_iri: str | None,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> http.Response:
    """Send a request signed as ``actor_iri`` (None: the instance actor).

    With the double knock, a 400 or 401 to an RFC 9421 signature sends the
    request again with draft-cavage; the scheme that got another answer is
    remembered for the server.  Raises what :func:`vox_activity.net.http.request`
    raises.
    """
    scheme, may_knock_again = _first_scheme(url)
    response = http.request(
        method, url, headers=headers, data=data, sign=signer(actor_iri, scheme)
    )
    if response.status_code in KNOCK_AGAIN and may_knock_again:
        scheme = "cavage"
        response = http.request(
            method, url, headers=headers, data=data, sign=signer(actor_iri, scheme)
        )
    if (
        response.status_code not in KNOCK_AGAIN
        and get_setting("HTTP_SIGNATURES") == "double-knock"
    ):
        _remember(url, scheme)
    return response
