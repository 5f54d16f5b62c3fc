"""The key that verifies a signed request, and the actor it belongs to.

A key verifies an activity only when the key is provably its actor's
(:mod:`vox_activity.protocol.actor_documents` has the rules):

* the key id's document (without the fragment) *is* the actor, which lists
  the key: ``https://social.example/users/alice#main-key`` (Mastodon); or
* the key id's document is a key document on the actor's server whose
  ``owner``/``controller`` is the actor, *and* the actor's own document
  lists that key id: ``https://gts.example/users/alice/main-key``
  (GoToSocial serves such a key document).

Keys are cached as :class:`~vox_activity.models.RemoteKey` rows whose
``key_id`` is unique, so the cache can never give one key to two actors.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from vox_activity.conf import get_setting
from vox_activity.exceptions import RemoteActorError
from vox_activity.models import RemoteActor, RemoteKey
from vox_activity.net.remote_actors import fetch_actor, fetch_document
from vox_activity.protocol.actor_documents import (
    ACTOR_TYPES,
    KeyFields,
    key_entries,
    validate_actor,
)
from vox_activity.protocol.iri import is_iri, same_origin

__all__ = ["KEY_REFETCH_INTERVAL", "verification_key"]

#: A key is refetched (for rotated keys) at most this often, in seconds.
KEY_REFETCH_INTERVAL = 60


def verification_key(key_id: str, *, refresh: bool = False) -> RemoteKey:
    """The cached or fetched key ``key_id``, with its proven ``actor``.

    ``refresh`` refetches it (it may have been rotated), but at most once per
    :data:`KEY_REFETCH_INTERVAL` seconds, so a flood of badly signed requests
    cannot make us hammer a server.  Failures are remembered as long, so a
    flood naming an unknown or dead key costs one fetch.
    """
    if not is_iri(key_id):
        raise RemoteActorError(f"keyId {key_id!r} is not an http(s) IRI.")
    failed = cache.get(_failure_key(key_id))
    if failed:
        raise RemoteActorError(f"{failed} (not retried for a minute)", url=key_id)
    cached = RemoteKey.objects.usable(key_id)
    if cached is not None and _usable(cached, refresh):
        return cached
    try:
        return _fetch_key(key_id)
    except RemoteActorError as exc:
        cache.set(_failure_key(key_id), str(exc), KEY_REFETCH_INTERVAL)
        raise


def _usable(key: RemoteKey, refresh: bool) -> bool:
    now = timezone.now()
    just_fetched = key.actor.fetched_at > now - timedelta(seconds=KEY_REFETCH_INTERVAL)
    stale = key.actor.is_stale(get_setting("REMOTE_ACTOR_TTL"))
    return just_fetched or not (refresh or stale)


def _fetch_key(key_id: str) -> RemoteKey:
    """Fetch the key's document and prove whose key it is."""
    document_url = key_id.partition("#")[0]
    fetched = fetch_document(document_url)
    data = fetched.data
    if data.get("id") == document_url and data.get("type") in ACTOR_TYPES:
        actor = RemoteActor.objects.store(validate_actor(data, fetched.url), data)
        key = actor.keys.filter(key_id=key_id).first()
        if key is None:
            raise RemoteActorError(
                f"{actor.iri} does not publish the key {key_id}.",
                url=key_id,
                code="key.not-listed",
            )
        return key
    return _from_key_document(key_id, data)


def _from_key_document(key_id: str, data: dict[str, Any]) -> RemoteKey:
    """A separate key document: its owner must be on its server and list it."""
    entry = _entry_for(key_id, data)
    owner = entry.get("owner") or entry.get("controller")
    pem = entry.get("publicKeyPem")
    if not is_iri(owner) or not isinstance(pem, str) or not pem:
        raise RemoteActorError(
            f"The document of {key_id} names no owner and public key.",
            url=key_id,
            code="key.document",
        )
    if not same_origin(owner, key_id):
        raise RemoteActorError(
            f"The key {key_id} names an owner on another server ({owner}).",
            url=key_id,
            code="key.owner.origin",
        )
    actor = fetch_actor(owner, refresh=True)
    listed = {
        e if isinstance(e, str) else e.get("id")
        for e in key_entries(actor.data, "publicKey")
    }
    if key_id not in listed:
        raise RemoteActorError(
            f"{actor.iri} does not list the key {key_id} it is said to own.",
            url=key_id,
            code="key.not-listed",
        )
    return actor.add_key(KeyFields(key_id, "rsa", pem))


def _entry_for(key_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The entry describing ``key_id`` in a key document (or actor-shaped one)."""
    if data.get("id") == key_id and "publicKeyPem" in data:
        return data  # a CryptographicKey document of its own
    for entry in key_entries(data, "publicKey"):
        if isinstance(entry, dict) and entry.get("id") == key_id:
            return entry
    raise RemoteActorError(
        f"The document at {key_id} does not describe that key.",
        url=key_id,
        code="key.document",
    )


def _failure_key(key_id: str) -> str:
    return "vox_activity:key-failure:" + hashlib.sha256(key_id.encode()).hexdigest()
