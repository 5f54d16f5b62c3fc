"""A local actor's lifecycle, as other servers see it: profile updates and deletion.

Other servers keep a copy of each actor they know (Mastodon refetches one
only every day or so).  So:

* When a local actor's profile changes (name, bio, avatar, or its key),
  call :func:`profile_changed` (or send the :data:`actor_updated` signal):
  an ``Update`` of the actor document goes to its followers' servers, as
  Mastodon sends one when a profile is saved.  ``manage.py
  vox_activity_rotate_key`` does it after a rotation.
* When a local actor's row is deleted, a ``Delete`` of the actor goes to
  every server that knows it (its remote followers, the remote actors it
  follows, and the inboxes it ever delivered to), signed with its key, and
  its IRI answers ``410 Gone`` with a ``Tombstone`` from then on.  This is
  automatic (a ``pre_delete`` receiver for each actor model, connected by
  :func:`connect_actor_deletions`); :func:`actor_deleted` does it by hand.
  The deleted row's inbox items are removed with it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Model, Q
from django.db.models.signals import pre_delete
from django.dispatch import Signal, receiver

from vox_activity.compat import on_django_vox_registration
from vox_activity.models import (
    ActorKey,
    Delivery,
    Follow,
    InboxItem,
    RemoteActor,
    StoredObject,
)
from vox_activity.outgoing.documents import actor_document
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.vocabulary import PUBLIC
from vox_activity.registration import hook
from vox_activity.registry import (
    actor_iri,
    declares_actors,
    followers_iri,
    is_actor,
    registered_models,
    registration_for,
)

__all__ = ["actor_deleted", "actor_updated", "profile_changed"]

logger = logging.getLogger(__name__)

#: Send it (``sender``: the model, ``instance``: the actor) when a local
#: actor's profile changed; vox_activity sends the Update.
actor_updated = Signal()


def profile_changed(instance: Any) -> None:
    """Tell the actor's followers' servers its new profile (``Update``)."""
    iri = actor_iri(instance)
    if iri is None or not is_actor(instance):
        return
    publish(
        {
            "type": "Update",
            "actor": iri,
            "object": actor_document(instance),
            "to": [PUBLIC],
            "cc": [followers_iri(instance)],
        }
    )


@receiver(actor_updated)
def _on_actor_updated(sender: Any, instance: Any, **kwargs: Any) -> None:
    profile_changed(instance)


def actor_deleted(instance: Any) -> None:
    """Send ``Delete`` of the actor to everyone who knows it; serve a Tombstone.

    Call it before the row is deleted (the automatic receiver does): the
    actor's IRI, followers and key are read from it.  No network is used, so
    it may run inside the deleting transaction: only cached remote actors and
    known inboxes are written as deliveries.
    """
    iri = actor_iri(instance)
    if iri is None or not is_actor(instance):
        return
    # The key must outlive the row: the Delete is signed with it.
    ActorKey.objects.for_owner(instance).update(actor_iri=iri)
    remote = RemoteActor.objects.filter(
        Q(follows__object_iri=iri) | Q(follows__actor_iri=iri)
    ).distinct()
    inboxes = {actor.delivery_inbox for actor in remote} | set(
        Delivery.objects.filter(activity__actor_iri=iri).values_list("inbox", flat=True)
    )
    # The Tombstone first: publishing the Delete would record a plain Object.
    actor_type = hook(registration_for(instance), "get_activity_actor_type")(instance)
    StoredObject.objects.mark_deleted(iri, iri, former={"type": actor_type}, local=True)
    publish(
        {"type": "Delete", "actor": iri, "object": iri, "to": [PUBLIC]},
        fetch=False,
        inboxes=sorted(inboxes),
    )
    Follow.objects.filter(object_iri=iri).end_all()
    Follow.objects.filter(actor_iri=iri).end_all()
    logger.info("Deleted actor %s: Delete sent to %d server(s).", iri, len(inboxes))


def connect_actor_deletions() -> None:
    """Connect :func:`on_pre_delete` to each model registered as actors.

    Called from :mod:`vox_activity.apps`, for the models registered by then
    and, through :func:`~vox_activity.compat.on_django_vox_registration`,
    for those registered after.  Per model, not for every model: a
    ``pre_delete`` receiver for a model makes Django load each row it
    deletes (and each row a delete cascades to) to send it the signal,
    where it would otherwise delete in one statement.  A receiver for every
    model would do that to all of a site's models, and to the 100,000
    inbox items of a fanned-out activity.
    """
    for model, registration in registered_models():
        _connect_if_actors(model, registration)
    on_django_vox_registration(_connect_if_actors)


def _connect_if_actors(model: type[Model], registration: Any) -> None:
    if declares_actors(registration):
        pre_delete.connect(on_pre_delete, sender=model, dispatch_uid=__name__)


def on_pre_delete(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """Connected to ``pre_delete`` of actor models: actors say goodbye.

    The inbox of a deleted row of an actor model goes with it (also a row
    that ``is_actor`` no longer counts, which may have items from before):
    nothing could show it again, and a new row given the same primary key
    would inherit it.  In the deleting transaction, so a rolled back delete
    keeps it.
    """
    registration = registration_for(instance)
    if registration is None or not declares_actors(registration):
        return
    if is_actor(instance):
        actor_deleted(instance)
    InboxItem.objects.all_of(instance).delete()
