"""Side effects of incoming activities, one handler per type.

Each handler gets the stored :class:`~vox_activity.models.Activity`, its JSON
and the authenticated :class:`~vox_activity.models.RemoteActor`, and runs in
the inbox's transaction: raising :class:`Refused` answers the sender with a
4xx and keeps nothing.  Types without a handler (Add, Remove, unknown ones)
are stored and signalled only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from vox_activity import follows
from vox_activity.models import Activity, Block, Follow, RemoteActor, StoredObject
from vox_activity.net.remote_actors import RemoteActorError, fetch_actor
from vox_activity.protocol.vocabulary import as_list, iri_of
from vox_activity.registry import actor_for_iri
from vox_activity.signals import follow_removed

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The activity is well formed but not allowed; ``status`` and reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


Handler = Callable[[Activity, dict, RemoteActor], None]
HANDLERS: dict[str, Handler] = {}


def handles(*types: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for name in types:
            HANDLERS[name] = func
        return func

    return register


def prepare(data: dict, remote: RemoteActor) -> None:
    """Fetch what the side effects will need, before the storing transaction.

    Network I/O must not hold a transaction open, so a Move's target and a
    profile Update's new actor document are fetched here; the handlers then
    read them from the cache.  Failures are left for the handler to judge.
    """
    try:
        moves_itself = iri_of(data.get("object")) == remote.iri
        if data.get("type") == "Move" and moves_itself:
            new = fetch_actor(iri_of(data.get("target")))
            if remote.iri not in as_list(new.data.get("alsoKnownAs")):
                fetch_actor(new.iri, refresh=True)  # the alias may be new
        elif (
            data.get("type") == "Update"
            and moves_itself  # i.e. updates itself
            and not isinstance(data.get("object"), dict)
            and remote.fetched_at < timezone.now() - timedelta(seconds=60)
        ):
            fetch_actor(remote.iri, refresh=True)  # by reference; once a minute
    except RemoteActorError as exc:
        logger.info(
            "Could not fetch for %s %s: %s", data.get("type"), data.get("id"), exc
        )


def handle(activity: Activity, data: dict, remote: RemoteActor) -> None:
    """Run the side effects of ``data``'s type, then the site's own hook."""
    handler = HANDLERS.get(str(data.get("type")))
    if handler is not None:
        handler(activity, data, remote)
    call_object_method(data, remote)


#: Types a remote actor can never be entitled to apply to a local object (it
#: cannot own one), so they are not handed to its ``activity_<type>`` method.
OWNER_ONLY = frozenset({"Update", "Delete"})


def call_object_method(data: dict, remote: RemoteActor) -> None:
    """The django-vox convention: ``activity_<type>(data, actor)`` on the target."""
    from vox_activity.serving.c2s_outbox import local_object

    if data.get("type") in OWNER_ONLY:
        return
    target = local_object(iri_of(data.get("object")))
    if target is None:
        return
    method = getattr(target, f"activity_{str(data.get('type')).lower()}", None)
    if callable(method):
        method(data, remote)


def _local_actor(iri: str, what: str) -> Any:
    actor = actor_for_iri(iri)
    if actor is None:
        raise Refused(400, f"{what} {iri!r} is not an actor on this site.")
    return actor


# --- follows -----------------------------------------------------------------


@handles("Follow")
def on_follow(activity: Activity, data: dict, remote: RemoteActor) -> None:
    local = _local_actor(iri_of(data.get("object")), "The followed object")
    follows.receive_follow(remote, local, activity.iri)


@handles("Accept", "Reject")
def on_response(activity: Activity, data: dict, remote: RemoteActor) -> None:
    obj = data.get("object")
    if isinstance(obj, dict) and obj.get("type") not in (None, "Follow"):
        return  # an answer to something other than a follow: stored only
    follows.remote_responded(remote, obj, accepted=data["type"] == "Accept")


@handles("Undo")
def on_undo(activity: Activity, data: dict, remote: RemoteActor) -> None:
    obj = data.get("object")
    undone_iri = iri_of(obj)
    undone = Activity.objects.filter(iri=undone_iri).first() if undone_iri else None
    if undone is not None and undone.actor_iri != remote.iri:
        raise Refused(403, "Only the actor of an activity may undo it.")
    embedded = obj if isinstance(obj, dict) else {}
    undone_type = undone.type if undone else embedded.get("type")
    if undone_type == "Follow":
        followed = undone.object_iri if undone else iri_of(embedded.get("object"))
        for row in Follow.objects.filter(actor_iri=remote.iri, object_iri=followed):
            row.delete()
            follow_removed.send(Follow, follow=row)
    elif undone_type == "Block" and undone is not None:
        Block.objects.filter(
            actor_iri=remote.iri, object_iri=undone.object_iri
        ).delete()
    if undone is not None and undone.undone_at is None:
        undone.undone_at = timezone.now()
        undone.save(update_fields=["undone_at"])


# --- objects -----------------------------------------------------------------


@handles("Create")
def on_create(activity: Activity, data: dict, remote: RemoteActor) -> None:
    obj = data.get("object")
    if not isinstance(obj, dict) or not obj.get("id"):
        return  # by reference: nothing to store
    existing = StoredObject.objects.filter(iri=obj["id"]).first()
    if existing is not None and existing.owner_iri != remote.iri:
        raise Refused(403, f"{obj['id']} belongs to another actor.")
    if existing is not None and existing.deleted_at is not None:
        raise Refused(410, f"{obj['id']} was deleted; ids are not reused.")
    StoredObject.objects.update_or_create(
        iri=obj["id"],
        defaults={
            "owner_iri": remote.iri,
            "type": str(obj.get("type", "Object"))[:64],
            "data": obj,
            "updated": timezone.now(),
        },
    )


@handles("Update")
def on_update(activity: Activity, data: dict, remote: RemoteActor) -> None:
    obj = data.get("object")
    object_iri = iri_of(obj)
    if object_iri == remote.iri:  # a profile update
        if isinstance(obj, dict):
            update_profile(remote, obj)
        return  # by reference: prepare() refetched it
    existing = StoredObject.objects.filter(iri=object_iri).first()
    if existing is None:
        if isinstance(obj, dict):
            on_create(activity, data, remote)
        return
    if existing.owner_iri != remote.iri:
        raise Refused(403, f"Only the owner of {object_iri} may update it.")
    if existing.deleted_at is not None:
        raise Refused(410, f"{object_iri} was deleted.")
    if isinstance(obj, dict):
        existing.data = obj
        existing.updated = timezone.now()
        existing.save(update_fields=["data", "updated"])


def update_profile(remote: RemoteActor, document: dict) -> None:
    """Apply an actor's own signed Update of its profile, without a fetch.

    The request was signed by this actor, and the document must pass the same
    checks as a fetched one (its id is the actor's), so it is as good as a
    fetch and costs no network round trip.
    """
    from vox_activity.net.remote_actors import validate_actor

    try:
        fields = validate_actor(document, remote.iri)
    except RemoteActorError as exc:
        raise Refused(400, f"The updated actor is not usable: {exc}") from exc
    fields.pop("iri")
    for name, value in fields.items():
        setattr(remote, name, value)
    remote.data = document
    remote.fetched_at = timezone.now()
    remote.save()


@handles("Delete")
def on_delete(activity: Activity, data: dict, remote: RemoteActor) -> None:
    object_iri = iri_of(data.get("object"))
    if object_iri == remote.iri:  # the account itself was deleted
        RemoteActor.objects.filter(pk=remote.pk).update(gone_at=timezone.now())
        for row in Follow.objects.filter(remote_actor=remote):
            row.delete()
            follow_removed.send(Follow, follow=row)
        return
    existing = StoredObject.objects.filter(iri=object_iri).first()
    if existing is None:
        return
    if existing.owner_iri != remote.iri:
        raise Refused(403, f"Only the owner of {object_iri} may delete it.")
    existing.deleted_at = existing.deleted_at or timezone.now()
    existing.data = existing.tombstone()
    existing.save(update_fields=["deleted_at", "data"])


# --- moderation and moves ----------------------------------------------------


@handles("Block")
def on_block(activity: Activity, data: dict, remote: RemoteActor) -> None:
    blocked = _local_actor(iri_of(data.get("object")), "The blocked object")
    from vox_activity.registry import actor_iri

    blocked_iri = actor_iri(blocked)
    Block.objects.get_or_create(
        actor_iri=remote.iri,
        object_iri=blocked_iri,
        defaults={"activity_iri": activity.iri},
    )
    # Like Mastodon, a block ends follows both ways.
    pairs = Q(actor_iri=remote.iri, object_iri=blocked_iri) | Q(
        actor_iri=blocked_iri, object_iri=remote.iri
    )
    for row in Follow.objects.filter(pairs):
        row.delete()
        follow_removed.send(Follow, follow=row)


@handles("Move")
def on_move(activity: Activity, data: dict, remote: RemoteActor) -> None:
    """Local followers of the old account follow the new one (FEP-7628).

    Only when the new actor (fetched by :func:`prepare`) lists the old one
    in ``alsoKnownAs``; each local follower sends a Follow to the new account
    and stops following the old one.
    """
    if iri_of(data.get("object")) != remote.iri:
        raise Refused(403, "An actor can only move itself.")
    target_iri = iri_of(data.get("target"))
    new = RemoteActor.objects.filter(iri=target_iri, gone_at__isnull=True).first()
    if new is None:
        raise Refused(400, f"The Move target {target_iri} could not be fetched.")
    if remote.iri not in as_list(new.data.get("alsoKnownAs")):
        raise Refused(
            400, f"{new.iri} does not list {remote.iri} in alsoKnownAs; not moving."
        )
    for row in Follow.objects.filter(object_iri=remote.iri).exclude(
        state=Follow.State.REJECTED
    ):
        local = actor_for_iri(row.actor_iri)
        row.delete()
        follow_removed.send(Follow, follow=row)
        if local is not None:
            follows.follow_known(local, new)
