"""Publishing: give an activity its id, store it, and fan it out.

Two steps, so that the network is never used inside a transaction:

1. :func:`plan_publication` resolves the recipients.  Remote actors that are
   not cached (or are stale) are fetched here, *before* any transaction —
   or, with ``fetch=False`` (used by code already inside a transaction),
   only the cache is read and unknown actors are left out with a warning.
2. :func:`commit_publication`, in one transaction: stores the activity, puts
   it in the inbox of every local recipient, remembers the local object it
   created, updated or deleted, and writes one Delivery row per remote inbox
   (tasks are enqueued after commit).

:func:`publish` does both and is what the backend calls for every
notification.  The cost in queries does not depend on the number of
recipients, and memory stays flat: recipients are streamed in chunks of
:data:`RECIPIENT_CHUNK` (one query per registered model and chunk), kept as
bare primary keys, and their inbox items are inserted in chunks, duplicates
skipped by the database; remote followers are selected, de-duplicated by
inbox and written in SQL (:mod:`vox_activity.outgoing.inboxes`).
"""

from __future__ import annotations

import logging
import uuid
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from vox_activity.models import Activity, Follow, InboxItem, RemoteActor, StoredObject
from vox_activity.outgoing.delivery import (
    prepare_remote_delivery,
    schedule_remote_delivery,
)
from vox_activity.outgoing.objects import complete_object
from vox_activity.outgoing.proofs import attach_proof
from vox_activity.protocol.vocabulary import (
    PUBLIC,
    address_iri,
    as_list,
    build_context,
    format_datetime,
    iri_of,
    normalise_public,
    recipients_of,
)
from vox_activity.registry import (
    actor_for_iri,
    federated_username,
    local_actor_keys,
)
from vox_activity.site import absolute_iri, local_path, site_domain

__all__ = [
    "LocalRecipients",
    "Publication",
    "activity_iri",
    "commit_publication",
    "plan_publication",
    "publish",
]


logger = logging.getLogger(__name__)

#: Addresses resolved per round of queries while planning a publication.
RECIPIENT_CHUNK = 20_000


def activity_iri(activity_uuid: uuid.UUID) -> str:
    return absolute_iri(reverse("vox_activity:activity", args=[activity_uuid]))


#: Integer keys below this are kept once each with a bitmap of ``2**26 / 8``
#: bytes (8 MB) at most; a model with larger or negative keys keeps its
#: duplicates and lets the database skip them.
BITMAP_KEYS = 2**26


class _OwnerKeys:
    """One owner type's keys: packed integers, each kept once while it can be.

    A bitmap indexed by the key says which integers are kept already: its
    size follows the largest key (12.5 KB for keys below 100,000), not the
    number of recipients, so memory stays flat.  Keys that are not small
    non-negative integers (text, UUIDs, huge ids) are kept as they come,
    and the bitmap is dropped: ``seen`` is None from then on.
    """

    __slots__ = ("keys", "seen")

    def __init__(self) -> None:
        self.keys: array[int] | list[str] = array("q")
        self.seen: bytearray | None = bytearray()

    @property
    def distinct(self) -> bool:
        """Is each key kept once (is the bitmap still there)?"""
        return self.seen is not None

    def extend(self, pks: list[Any]) -> None:
        keys = self.keys
        if isinstance(keys, array) and not all(type(pk) is int for pk in pks):
            keys = self.keys = [str(key) for key in keys]
        if isinstance(keys, list):
            self.seen = None
            keys.extend(str(pk) for pk in pks)
            return
        seen = self.seen
        if seen is not None and (min(pks) < 0 or max(pks) >= BITMAP_KEYS):
            seen = self.seen = None
        if seen is None:
            keys.extend(pks)
            return
        needed = (max(pks) >> 3) + 1
        if len(seen) < needed:
            seen.extend(bytes(needed - len(seen)))
        append = keys.append
        for pk in pks:
            byte, bit = pk >> 3, 1 << (pk & 7)
            if not seen[byte] & bit:
                seen[byte] |= bit
                append(pk)


class LocalRecipients:
    """Local actors to give an inbox item, as bare keys: flat in memory.

    A fan-out to a million users must not hold a million model instances
    (nor a million :class:`~vox_activity.registry.ActorRef`): the keys are
    kept per owner type, integers packed 8 bytes each and kept once
    (:class:`_OwnerKeys`), so that the inbox insert needs no conflict
    handling.  Other keys may repeat; the inbox insert skips repeats.
    """

    def __init__(self) -> None:
        self._keys: dict[int, _OwnerKeys] = {}

    def add(self, keys: dict[type[Model], list[Any]]) -> None:
        """Remember actors by primary key: ``{model: [key, ...]}``.

        (What :func:`~vox_activity.registry.local_actor_keys` gives.)
        """
        for model, pks in keys.items():
            if pks:
                type_id = ContentType.objects.get_for_model(model).pk  # cached
                self._keys.setdefault(type_id, _OwnerKeys()).extend(pks)

    def by_type(self) -> Iterator[tuple[int, Iterable[Any], bool]]:
        """``(content type id, keys, whether each key is there once)`` triples."""
        for type_id, owner_keys in self._keys.items():
            yield type_id, owner_keys.keys, owner_keys.distinct

    def __len__(self) -> int:
        return sum(len(owner.keys) for owner in self._keys.values())

    def __bool__(self) -> bool:
        return any(owner.keys for owner in self._keys.values())


@dataclass
class Publication:
    """An activity ready to be stored: its document, local and remote recipients."""

    document: dict[str, Any]
    activity_uuid: uuid.UUID
    published: Any
    local_recipients: LocalRecipients = field(default_factory=LocalRecipients)
    remote_addresses: list[str] = field(default_factory=list)
    remote_actors: dict[str, RemoteActor] = field(default_factory=dict)
    #: Inboxes to deliver to besides the addressees' (a deleted actor's).
    inboxes: list[str] = field(default_factory=list)


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def plan_publication(
    data: dict[str, Any],
    addresses: Iterable[str] = (),
    *,
    fetch: bool = True,
    inboxes: Iterable[str] = (),
) -> Publication:
    """Give ``data`` its id and resolve who gets it (network only if ``fetch``).

    ``addresses`` (the notification's recipients) and the addresses already
    in ``data`` (``to``, ``cc``, ``bto``, ``bcc``, ``audience``) are all
    delivered: local actors get an inbox item; remote actors, ``followers``
    collections and Public are passed on for federation, and recipients not
    yet in the addressing are added to ``to``.  Local recipients are recorded
    as inbox items only, not in the served JSON, so long recipient lists stay
    private and the stored row stays small.
    """
    data = with_object_audience(data)
    addressed = recipients_of(data)  # the activity's own to/cc/bto/bcc/audience
    wanted = filter(None, map(address_iri, chain(addresses, addressed)))
    local = LocalRecipients()
    not_local: dict[str, None] = {}  # remote, Public, collections, unknown
    for chunk in _chunks(wanted, RECIPIENT_CHUNK):
        keys, others = local_actor_keys(chunk)
        local.add(keys)
        not_local.update(dict.fromkeys(others))
    for chunk in _chunks(local_followers(not_local), RECIPIENT_CHUNK):
        local.add(local_actor_keys(chunk)[0])
    others = list(not_local)
    if others and not _federates(iri_of(data.get("actor"))):
        logger.warning(
            "Not delivering a %s by %s to other servers: its username cannot federate.",
            data.get("type"),
            iri_of(data.get("actor")),
        )
        others = [iri for iri in others if iri == PUBLIC]
    remote_actors = prepare_remote_delivery(others, fetch=fetch)

    activity_uuid = uuid.uuid4()
    published = timezone.now()
    body = {k: v for k, v in data.items() if k not in ("@context", "id")}
    already = set(addressed)
    to = [*as_list(body.pop("to", None)), *(a for a in others if a not in already)]
    if to:
        body["to"] = list(dict.fromkeys(to))
    body.setdefault("published", format_datetime(published))
    document = normalise_public(
        {
            "@context": data.get("@context") or build_context(),
            "id": activity_iri(activity_uuid),
            **body,
        }
    )
    mentions = mention_names(document, remote_actors)
    document = attach_proof(
        complete_object(document, published=published, mentions=mentions)
    )
    return Publication(
        document=document,
        activity_uuid=activity_uuid,
        published=published,
        local_recipients=local,
        remote_addresses=others,
        remote_actors=remote_actors,
        inboxes=list(inboxes),
    )


#: Activities that carry their actor's own object: an object addressed while
#: its activity is not is addressed as its activity (ActivityPub 6.2 asks
#: servers to copy recipients between a Create and its object; Mastodon
#: delivers by the activity's addressing and shows by the object's).
WRAPS_OWN_OBJECT = frozenset({"Create", "Update"})
ADDRESSING = ("to", "cc", "audience")


def with_object_audience(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its object's ``to``/``cc``/``audience`` if it has none."""
    obj = data.get("object")
    if data.get("type") not in WRAPS_OWN_OBJECT or not isinstance(obj, dict):
        return data
    if any(data.get(field) for field in ADDRESSING):
        return data
    copied = {field: obj[field] for field in ADDRESSING if obj.get(field)}
    return {**data, **copied} if copied else data


def local_followers(addresses: Iterable[str]) -> Iterator[str]:
    """Local actors following a local actor whose followers are addressed.

    (Remote followers get deliveries; local ones an inbox item, like any
    local recipient.)  Streamed, :data:`RECIPIENT_CHUNK` rows per query
    (keyset paging), so that a million followers are never all in memory.
    """
    owners = []
    for address in addresses:
        base, _, last = address.rstrip("/").rpartition("/")
        if last == "followers" and local_path(address) is not None:
            owners += [base, base + "/"]
    if not owners:
        return
    follows = Follow.objects.accepted().filter(
        object_iri__in=owners, remote_actor__isnull=True
    )
    after = 0
    while True:
        page = list(
            follows.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "actor_iri")[:RECIPIENT_CHUNK]
        )
        for _, actor in page:
            yield actor
        if len(page) < RECIPIENT_CHUNK:
            return
        after = page[-1][0]


def mention_names(
    document: dict[str, Any], remote_actors: dict[str, RemoteActor]
) -> dict[str, str]:
    """``{actor IRI: "@user@host"}`` for the actors ``to``/``cc`` name.

    Only the few actors written in the addressing: a fan-out to thousands of
    local inboxes is not in the JSON, and is not read here.
    """
    names = {}
    domain = site_domain()
    for iri in recipients_of(document, ("to", "cc")):
        remote = remote_actors.get(iri)
        if remote is not None and remote.preferred_username:
            names[iri] = f"@{remote.preferred_username}@{remote.domain}"
            continue
        local = actor_for_iri(iri) if local_path(iri) is not None else None
        username = federated_username(local) if local is not None else None
        if username:
            names[iri] = f"@{username}@{domain}"
    return names


def _federates(actor_iri: str) -> bool:
    """Can other servers know this actor?  (Remote or unknown IRIs: yes.)"""
    local = actor_for_iri(actor_iri) if actor_iri else None
    return local is None or federated_username(local) is not None


def commit_publication(plan: Publication) -> Activity:
    """Store a planned activity, fill the local inboxes, write its deliveries."""
    with transaction.atomic():
        activity = Activity.objects.store(
            plan.document,
            local=True,
            published=plan.published,
            activity_uuid=plan.activity_uuid,
        )
        # The activity is new in this transaction: no inbox item has it yet.
        for owner_type_id, keys, distinct in plan.local_recipients.by_type():
            InboxItem.objects.fill_keys(
                activity, owner_type_id, keys, distinct=distinct
            )
        track_local_object(activity)
        schedule_remote_delivery(
            activity, plan.remote_addresses, plan.remote_actors, plan.inboxes
        )
    return activity


def publish(
    data: dict[str, Any],
    addresses: Iterable[str] = (),
    *,
    fetch: bool = True,
    inboxes: Iterable[str] = (),
) -> Activity:
    """Store ``data`` as a new local activity and deliver it to ``addresses``.

    See :func:`plan_publication` (``fetch=False`` inside a transaction;
    ``inboxes``: inbox URLs to deliver to as well) and
    :func:`commit_publication`.
    """
    plan = plan_publication(data, addresses, fetch=fetch, inboxes=inboxes)
    return commit_publication(plan)


def track_local_object(activity: Activity) -> None:
    """Remember local objects created, updated or deleted by ``activity``.

    This is what lets a deleted object answer 410 Gone with a Tombstone, and
    incoming Likes or replies find the local actor who owns the object.
    """
    obj = activity.data.get("object")
    object_iri = iri_of(obj)
    if not object_iri or local_path(object_iri) is None:
        return
    if activity.type != "Delete" and actor_for_iri(object_iri) is not None:
        return  # a profile Update: actors are served from their rows
    if activity.type in ("Create", "Update") and isinstance(obj, dict):
        StoredObject.objects.track_local(obj, activity.actor_iri, activity.published)
    elif activity.type == "Delete":
        StoredObject.objects.mark_deleted(
            object_iri,
            activity.actor_iri,
            former=obj,
            local=True,
            when=activity.published,
        )
