"""Signing outbound requests as a local actor (or the instance actor).

:func:`signer` gives the HTTP client a function that signs each request (and
each redirect hop).  The private key is read here only, and parsed keys are
kept per process: a delivery worker signs with a handful of keys over and
over, and reading one from the database for every delivery cost a query each
(issue: deliveries at the floor of the stack).  A rotated key replaces the
cached one at once in this process (the ``post_save`` receiver below) and
within :data:`CACHE_SECONDS` in every other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from vox_activity.models import ActorKey
from vox_activity.net.http import Signer
from vox_activity.outgoing.documents import key_id
from vox_activity.protocol.cavage import sign_request
from vox_activity.registry import actor_for_iri, instance_actor_iri

__all__ = [
    "CACHE_SECONDS",
    "SigningKey",
    "forget_signing_keys",
    "signer",
    "signing_key_for",
]

#: How long another process may go on signing with a key after a rotation.
CACHE_SECONDS = 300.0


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
    if owner is None:
        iri = instance_actor_iri()
        key = SigningKey(key_id(iri), ActorKey.objects.for_actor(None).private_key_pem)
    else:
        assert actor_iri is not None
        key = SigningKey(
            key_id(actor_iri), ActorKey.objects.for_actor(owner).private_key_pem
        )
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


def signer(actor_iri: str | None) -> Signer:
    """A ``sign(method, url, headers, body) -> headers`` for the HTTP client.

    It signs each request (and each redirect hop) as ``actor_iri``, or as the
    instance actor when that is not a local actor.
    """
    key = signing_key_for(actor_iri)

    def sign(
        method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> Mapping[str, str]:
        return sign_request(
            method,
            url,
            headers,
            body,
            key_id=key.key_id,
            private_key_pem=key.private_key_pem,
        )

    return sign
