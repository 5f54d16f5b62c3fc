"""Applying a received activity: inboxes, the handler's side effects, signals.

Runs inside a transaction: in the request when ``INBOX_PROCESSING`` is
``"sync"``, else in the inbox task (:mod:`vox_activity.incoming.tasks`),
which applies each actor's activities in the order they arrived.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from vox_activity.conf import get_setting
from vox_activity.exceptions import Refused
from vox_activity.incoming.context import Incoming
from vox_activity.incoming.handlers import ActivityHandler, handler_for
from vox_activity.incoming.recipients import resolve_owners
from vox_activity.models import Activity, Block, InboxItem, RemoteActor
from vox_activity.net.budget import request_budget
from vox_activity.registry import local_object
from vox_activity.signals import activity_received

__all__ = ["apply", "run_pending", "store_and_apply"]

logger = logging.getLogger(__name__)


def store_and_apply(incoming: Incoming, handler: ActivityHandler) -> Activity:
    """Inside the transaction: the row, the inboxes, the side effects, signals."""
    incoming.activity = Activity.objects.store(
        incoming.data, local=False, actor_iri=incoming.actor_iri
    )
    return apply(incoming, handler)


def apply(incoming: Incoming, handler: ActivityHandler) -> Activity:
    """Inside the transaction, for a stored activity: inboxes, effects, signals."""
    activity = incoming.activity
    assert activity is not None
    hidden = list(incoming.object_iris) if handler.private_to_object else []
    # Nothing of a blocked actor reaches the local actors who block it.
    hidden += Block.objects.filter(object_iri=incoming.actor_iri).values_list(
        "actor_iri", flat=True
    )
    owners = resolve_owners(handler.recipients(incoming), hidden)
    InboxItem.objects.fill_by_model(activity, owners)
    handler.apply(incoming)
    if handler.calls_object_method:
        call_object_method(incoming)
    activity_received.send(
        Activity, activity=activity, actor=incoming.actor, data=incoming.data
    )
    return activity


def call_object_method(incoming: Incoming) -> None:
    """The django-vox convention: ``activity_<type>(data, actor)`` on the target."""
    target = local_object(incoming.object_iri) if incoming.object_iri else None
    if target is None:
        return
    method = getattr(target, f"activity_{incoming.type.lower()}", None)
    if callable(method):
        method(incoming.data, incoming.actor)


def run_pending(actor_iri: str) -> int:
    """Apply the actor's received activities, oldest first; how many were applied.

    For each: the handler's ``prefetch`` (network, outside any transaction),
    then in one transaction, holding the actor's row (so two workers never
    apply one actor's activities out of order or twice): the side effects and
    ``processed_at``.  An activity a handler refuses is logged and removed
    (its sender was already answered 202), so nothing of it stays.  A task
    that dies midway leaves the activity unprocessed, to be applied by the
    next task (the sweep enqueues one for actors whose activities wait).

    An activity whose handler or signal receivers raise is rolled back and
    counted; the error is raised again (the task fails, and is logged) and
    the actor's later activities wait, to keep their order, until a later
    task tries again.  After ``INBOX_MAX_ATTEMPTS`` failures it is given up
    (kept, with its error, for the admin) and the later ones go ahead.
    """
    applied = 0
    while True:
        row = (
            Activity.objects.unprocessed()
            .filter(actor_iri=actor_iri, local=False)
            .order_by("id")
            .first()
        )
        if row is None:
            return applied
        actor = RemoteActor.objects.filter(iri=actor_iri).first()
        if actor is None:  # the account was deleted meanwhile
            row.delete()
            continue
        applied += _apply_one(row, actor)


def _apply_one(row: Activity, actor: RemoteActor) -> int:
    handler = handler_for(row.type)
    incoming = Incoming(data=row.data, raw=row.data, actor=actor)
    try:
        with request_budget():
            handler.prefetch(incoming)
        with transaction.atomic():
            RemoteActor.objects.select_for_update().filter(pk=actor.pk).first()
            fresh = Activity.objects.unprocessed().filter(pk=row.pk).first()
            if fresh is None:
                return 0  # another worker applied it meanwhile
            incoming.activity = fresh
            apply(incoming, handler)
            Activity.objects.filter(pk=row.pk).update(processed_at=timezone.now())
    except Refused as exc:
        logger.info("Refused %s %s from %s: %s", row.type, row.iri, actor.iri, exc)
        Activity.objects.filter(pk=row.pk, processed_at__isnull=True).delete()
        return 0
    except Exception as exc:
        if not row.record_failure(exc, get_setting("INBOX_MAX_ATTEMPTS")):
            raise
        logger.exception(
            "Gave up applying %s %s from %s after %d attempts",
            row.type,
            row.iri,
            actor.iri,
            row.processing_attempts,
        )
        return 0
    return 1
