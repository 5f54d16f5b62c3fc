"""Remote actors: fetch (signed), validate, cache, and find them by ``acct:``.

Every fetch is a GET signed by the instance actor, so servers that answer
only signed requests (Mastodon's "authorized fetch") answer us too.  A
fetched actor is cached as a :class:`~vox_activity.models.RemoteActor` row
for ``REMOTE_ACTOR_TTL`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from vox_activity.conf import get_setting
from vox_activity.models import RemoteActor
from vox_activity.net import http
from vox_activity.protocol.payload import PayloadError, parse_json_object
from vox_activity.protocol.vocabulary import ACTIVITY_JSON, LD_JSON_AS, origin_of

logger = logging.getLogger(__name__)

ACCEPT = f"{ACTIVITY_JSON}, {LD_JSON_AS}"
ACTOR_TYPES = {"Application", "Group", "Organization", "Person", "Service"}


class RemoteActorError(Exception):
    """A remote actor could not be fetched or is not usable; says why."""


class RemoteActorGone(RemoteActorError):
    """The actor's server answered 404 or 410: the account is gone."""


def domain_of(iri: str) -> str:
    """The server part of an IRI, port included (two servers may share a host)."""
    return urlsplit(iri).netloc.lower()


def _is_http_iri(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def fetch_json(url: str) -> tuple[dict, str]:
    """GET ``url`` signed by the instance actor; (document, final URL)."""
    from vox_activity.net.signing import signer

    try:
        response = http.get(url, headers={"Accept": ACCEPT}, sign=signer(None))
    except http.HttpError as exc:
        raise RemoteActorError(f"Could not fetch {url}: {exc}") from exc
    if response.status_code in (404, 410):
        raise RemoteActorGone(f"{url} answered {response.status_code}: it is gone.")
    if not 200 <= response.status_code < 300:
        raise RemoteActorError(f"{url} answered HTTP {response.status_code}.")
    try:
        data = parse_json_object(response.content)
    except PayloadError as exc:
        raise RemoteActorError(f"{url} did not answer usable JSON: {exc}") from exc
    return data, response.url


def validate_actor(data: dict, fetched_from: str) -> dict[str, str]:
    """Check the fields we rely on; return them, or raise with the reason.

    The document's ``id`` must be the URL it was finally served from (after
    redirects): otherwise any server could publish a key and an inbox in
    someone else's name.
    """
    iri = data.get("id")
    if iri != fetched_from:
        raise RemoteActorError(
            f"The document fetched from {fetched_from} has the id {iri!r}; an "
            "actor must be served from its own id."
        )
    if data.get("type") not in ACTOR_TYPES:
        raise RemoteActorError(f"{iri} is a {data.get('type')!r}, not an actor.")
    inbox = data.get("inbox")
    if not _is_http_iri(inbox):
        raise RemoteActorError(f"{iri} has no usable inbox.")
    key = data.get("publicKey")
    if isinstance(key, list):
        key = next((k for k in key if isinstance(k, dict)), None)
    if not isinstance(key, dict) or not key.get("publicKeyPem") or not key.get("id"):
        raise RemoteActorError(f"{iri} has no publicKey with an id and a PEM.")
    if key.get("owner", iri) != iri:
        raise RemoteActorError(f"The key of {iri} says it belongs to someone else.")
    endpoints = data.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    return {
        "iri": iri,
        "inbox": inbox,
        "shared_inbox": shared if _is_http_iri(shared) else "",
        "key_id": key["id"],
        "public_key_pem": key["publicKeyPem"],
        "preferred_username": str(data.get("preferredUsername") or "")[:255],
    }


def fetch_actor(iri: str, *, refresh: bool = False) -> RemoteActor:
    """The remote actor ``iri``, from the cache if fresh, else fetched now."""
    cached = RemoteActor.objects.filter(iri=iri).first()
    if cached and not refresh and not cached.is_stale(get_setting("REMOTE_ACTOR_TTL")):
        if cached.gone_at:
            raise RemoteActorGone(f"{iri} is gone (since {cached.gone_at:%Y-%m-%d}).")
        return cached
    try:
        data, final_url = fetch_json(iri)
    except RemoteActorGone:
        if cached:
            RemoteActor.objects.filter(pk=cached.pk).update(gone_at=timezone.now())
        raise
    claimed = data.get("id")
    if (
        claimed != final_url
        and _is_http_iri(claimed)
        and origin_of(claimed) == origin_of(final_url)
    ):
        # A profile URL (/@alice) may answer with the canonical id
        # (/users/alice) on the same server: fetch that, which must match.
        data, final_url = fetch_json(claimed)
    fields = validate_actor(data, final_url)
    actor_iri = fields.pop("iri")
    actor, _ = RemoteActor.objects.update_or_create(
        iri=actor_iri,
        defaults={
            **fields,
            "domain": domain_of(actor_iri),
            "data": data,
            "fetched_at": timezone.now(),
            "gone_at": None,
        },
    )
    return actor


def ensure_actors(iris: Iterable[str]) -> dict[str, RemoteActor]:
    """``{address: actor}`` for every usable actor among ``iris``.

    One query for the cached ones, a fetch for each missing or stale one.  An
    address may differ from the actor's id (a redirect to the canonical id).
    A stale actor that cannot be refetched is used as cached; one never
    fetched is logged and left out: a bad address must not stop a
    notification from reaching everyone else.
    """
    wanted = [iri for iri in dict.fromkeys(iris) if _is_http_iri(iri)]
    ttl = get_setting("REMOTE_ACTOR_TTL")
    cached = {
        actor.iri: actor
        for actor in RemoteActor.objects.filter(iri__in=wanted, gone_at__isnull=True)
    }
    found = {iri: a for iri, a in cached.items() if not a.is_stale(ttl)}
    for iri in wanted:
        if iri in found:
            continue
        try:
            found[iri] = fetch_actor(iri)
        except RemoteActorGone as exc:
            logger.warning("Not delivering to %s: %s", iri, exc)
        except RemoteActorError as exc:
            if iri in cached:
                logger.warning(
                    "Could not refresh %s (%s); using the copy fetched %s.",
                    iri,
                    exc,
                    cached[iri].fetched_at.isoformat(),
                )
                found[iri] = cached[iri]
            else:
                logger.warning("Not delivering to %s: %s", iri, exc)
    return found


def webfinger_url(host: str, resource: str) -> str:
    # Plain http only for a site that itself runs without TLS (development).
    scheme = "https" if getattr(settings, "SITE_SSL", True) else "http"
    return (
        f"{scheme}://{host}/.well-known/webfinger?{urlencode({'resource': resource})}"
    )


def resolve_acct(address: str) -> RemoteActor:
    """``acct:alice@example.com`` (or ``@alice@example.com``) → its actor."""
    handle = address.removeprefix("acct:").lstrip("@")
    user, _, host = handle.rpartition("@")
    if not user or not host:
        raise RemoteActorError(f"{address!r} is not of the form acct:user@host.")
    from vox_activity.net.signing import signer

    url = webfinger_url(host, f"acct:{user}@{host}")
    try:
        response = http.get(
            url, headers={"Accept": "application/jrd+json"}, sign=signer(None)
        )
    except http.HttpError as exc:
        raise RemoteActorError(f"WebFinger lookup of {handle} failed: {exc}") from exc
    if response.status_code != 200:
        raise RemoteActorError(
            f"WebFinger lookup of {handle} answered HTTP {response.status_code}."
        )
    try:
        links = response.json().get("links") or []
    except (ValueError, AttributeError) as exc:
        raise RemoteActorError(f"WebFinger answer for {handle} is not JRD.") from exc
    for link in links:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and link.get("type") in (ACTIVITY_JSON, LD_JSON_AS)
            and _is_http_iri(link.get("href"))
        ):
            return fetch_actor(link["href"])
    raise RemoteActorError(f"WebFinger answer for {handle} has no ActivityPub link.")


#: A key is refetched (for rotated keys) at most this often.
KEY_REFETCH_INTERVAL = 60


def actor_for_key(key_id: str, *, refresh: bool = False) -> RemoteActor:
    """The remote actor owning ``key_id``, fetched (signed) if not cached.

    Mastodon's key ids are ``<actor IRI>#main-key``: the document without the
    fragment is the actor.  ``refresh`` refetches it (a key may have been
    rotated), but at most once per :data:`KEY_REFETCH_INTERVAL` seconds, so a
    flood of badly signed requests cannot make us hammer a server.
    """
    if not _is_http_iri(key_id):
        raise RemoteActorError(f"keyId {key_id!r} is not an http(s) IRI.")
    failed = cache.get(_failure_key(key_id))
    if failed:
        raise RemoteActorError(f"{failed} (not retried for a minute)")
    cached = RemoteActor.objects.filter(key_id=key_id, gone_at__isnull=True).first()
    if cached is not None:
        now = timezone.now()
        just_fetched = cached.fetched_at > now - timedelta(seconds=KEY_REFETCH_INTERVAL)
        if just_fetched or not (
            refresh or cached.is_stale(get_setting("REMOTE_ACTOR_TTL"))
        ):
            return cached
    try:
        actor = fetch_actor(key_id.split("#", 1)[0], refresh=True)
        if actor.key_id != key_id:
            raise RemoteActorError(
                f"{actor.iri} publishes the key {actor.key_id!r}, not {key_id!r}."
            )
    except RemoteActorError as exc:
        # Remember the failure briefly, so a flood of requests naming an
        # unknown or dead key cannot make us fetch it again and again.
        cache.set(_failure_key(key_id), str(exc), KEY_REFETCH_INTERVAL)
        raise
    return actor


def _failure_key(key_id: str) -> str:
    return "vox_activity:key-failure:" + hashlib.sha256(key_id.encode()).hexdigest()
