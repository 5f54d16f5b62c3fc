"""Remote documents and actors: fetch (signed), validate, cache.

Every fetch is a GET signed by the instance actor, so servers that answer
only signed requests (Mastodon's "authorized fetch") answer us too.  A
fetched actor is validated by the one rule set
(:func:`vox_activity.protocol.actor_documents.validate_actor`) and cached as a
:class:`~vox_activity.models.RemoteActor` row, with the keys it proves, for
``REMOTE_ACTOR_TTL`` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vox_activity.conf import get_setting
from vox_activity.exceptions import (
    HttpError,
    Refused,
    RemoteActorError,
    RemoteActorGone,
)
from vox_activity.models import DomainBlock, RemoteActor
from vox_activity.net.signing import signed_request
from vox_activity.protocol.actor_documents import validate_actor
from vox_activity.protocol.iri import is_iri, same_origin
from vox_activity.protocol.payload import parse_json_object
from vox_activity.protocol.vocabulary import ACTIVITY_JSON, LD_JSON_AS

__all__ = [
    "ACCEPT",
    "Fetched",
    "ensure_actors",
    "fetch_actor",
    "fetch_document",
]

logger = logging.getLogger(__name__)

ACCEPT = f"{ACTIVITY_JSON}, {LD_JSON_AS}"


@dataclass(frozen=True)
class Fetched:
    """A JSON document and the URL that finally served it (after redirects)."""

    data: dict[str, Any]
    url: str


def fetch_document(url: str) -> Fetched:
    """GET ``url`` signed by the instance actor; the JSON object it answers.

    Raises :class:`~vox_activity.exceptions.RemoteActorGone` for 404/410 and
    :class:`~vox_activity.exceptions.RemoteActorError` (with ``url`` and
    ``status``) for anything else unusable.
    """
    if DomainBlock.objects.blocks(url):
        raise RemoteActorError(f"Not fetching {url}: its server is blocked.", url=url)
    try:
        response = signed_request(
            "GET", url, actor_iri=None, headers={"Accept": ACCEPT}
        )
    except HttpError as exc:
        raise RemoteActorError(f"Could not fetch {url}: {exc}", url=url) from exc
    status = response.status_code
    if status in (404, 410):
        raise RemoteActorGone(
            f"{url} answered {status}: it is gone.", url=url, status=status
        )
    if not 200 <= status < 300:
        raise RemoteActorError(f"{url} answered HTTP {status}.", url=url, status=status)
    try:
        data = parse_json_object(response.content)
    except Refused as exc:
        raise RemoteActorError(
            f"{url} did not answer usable JSON: {exc.reason}", url=url, status=status
        ) from exc
    return Fetched(data, response.url)


def fetch_actor(iri: str, *, refresh: bool = False) -> RemoteActor:
    """The remote actor ``iri``, from the cache if fresh, else fetched now."""
    cached = RemoteActor.objects.filter(iri=iri).first()
    if cached and not refresh and not cached.is_stale(get_setting("REMOTE_ACTOR_TTL")):
        if cached.gone_at:
            raise RemoteActorGone(
                f"{iri} is gone (since {cached.gone_at:%Y-%m-%d}).", url=iri
            )
        return cached
    if not is_iri(iri):
        raise RemoteActorError(f"{iri!r} is not an http(s) IRI.", url=str(iri))
    try:
        fetched = fetch_document(iri)
    except RemoteActorGone:
        if cached:
            RemoteActor.objects.mark_gone([cached.iri])
        raise
    claimed = fetched.data.get("id")
    if claimed != fetched.url and is_iri(claimed) and same_origin(claimed, fetched.url):
        # A profile URL (/@alice) may answer with the canonical id
        # (/users/alice) on the same server: fetch that, which must match.
        fetched = fetch_document(claimed)
    fields = validate_actor(fetched.data, fetched.url)
    return RemoteActor.objects.store(fields, fetched.data)


def ensure_actors(iris: Iterable[str]) -> dict[str, RemoteActor]:
    """``{address: actor}`` for every usable actor among ``iris``.

    One query for the cached ones, a fetch for each missing or stale one.  An
    address may differ from the actor's id (a redirect to the canonical id).
    A stale actor that cannot be refetched is used as cached; one never
    fetched is logged and left out: a bad address must not stop a
    notification from reaching everyone else.
    """
    wanted = [iri for iri in dict.fromkeys(iris) if is_iri(iri)]
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
