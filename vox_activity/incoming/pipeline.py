"""The incoming pipeline: what happens to a POST on an inbox.

In this order, each failure answered at once with a 4xx and a reason, and
nothing written (the storing steps run in one transaction):

1. content type (415), size (413), JSON object (400);
2. HTTP signature (401), counted against the sender's allowance first (429):
   the key is fetched by ``keyId`` under a short deadline, and must be
   proven to be its actor's (:mod:`vox_activity.incoming.authentication`).
   An account's Delete of itself, from an actor we have never seen, is
   acknowledged (202) and dropped without fetching anything: deleted
   accounts' keys are gone and such Deletes arrive in floods;
3. the signer must be the activity's actor (403);
4. validation: ``id`` and ``actor`` are IRIs on one server, the type is one
   word, then the rules of the type's handler (400, the field named);
   embedded objects are reduced to what their provenance allows
   (:mod:`vox_activity.incoming.provenance`);
5. idempotency: an activity id seen before is acknowledged (202), once;
6. the handler's ``prefetch`` (network, before any transaction);
7. in one transaction: store the activity, fill the inboxes of the local
   actors it is for, the handler's ``apply``, the local object's
   ``activity_<type>`` method, the ``activity_received`` signal; answer 202.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from vox_activity.conf import get_setting
from vox_activity.exceptions import Dropped, Refused
from vox_activity.incoming.authentication import authenticate
from vox_activity.incoming.context import Incoming
from vox_activity.incoming.handlers import handler_for
from vox_activity.incoming.processing import store_and_apply
from vox_activity.incoming.provenance import trusted_view
from vox_activity.incoming.tasks import enqueue_processing
from vox_activity.models import Activity, RemoteActor
from vox_activity.net.budget import request_budget
from vox_activity.protocol.iri import check_iri, same_origin
from vox_activity.protocol.payload import read_json_object
from vox_activity.protocol.vocabulary import format_datetime, iri_of

__all__ = ["ACCEPTED_CONTENT_TYPES", "process", "receive"]

logger = logging.getLogger(__name__)

#: Media types an inbox accepts (ActivityPub's two, and plain JSON as many do).
ACCEPTED_CONTENT_TYPES = ("application/activity+json", "application/ld+json",
                          "application/json")  # fmt: skip


def receive(request: HttpRequest) -> None:
    """Handle an inbox POST (an actor's inbox or the shared one).

    Returns when the activity is accepted (answer 202); raises
    :class:`~vox_activity.exceptions.Dropped` when it is acknowledged but
    ignored (also 202) and :class:`~vox_activity.exceptions.Refused` with the
    4xx to answer.  The inbox views turn these into responses.
    """
    data = read_activity(request)
    authenticated = authenticate(request, data)
    incoming = accept_claims(data, authenticated.actor)
    if get_setting("INBOX_PROCESSING") == "task":
        queue(incoming)
    else:
        process(incoming)


def queue(incoming: Incoming) -> Activity:
    """Store the checked activity (one INSERT) and leave the rest to a task.

    What can be answered with a precise 4xx was checked before this
    (signature, claims, the handler's ``validate``); the unique index on the
    activity's id skips a duplicate, so no read first.  The
    task (:mod:`vox_activity.incoming.tasks`) applies the actor's activities
    in the order they arrived.
    """
    activity = Activity.objects.store(
        incoming.data,
        local=False,
        actor_iri=incoming.actor_iri,
        processed=False,
        ignore_conflicts=True,  # a duplicate: skipped; its task finds nothing
    )
    enqueue_processing(incoming.actor_iri)
    return activity


# --- 1. body -----------------------------------------------------------------


def read_activity(request: HttpRequest) -> dict[str, Any]:
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type.lower() not in ACCEPTED_CONTENT_TYPES:
        raise Refused(
            415, "Send activities as application/activity+json or application/ld+json."
        )
    return read_json_object(request, get_setting("MAX_BODY_SIZE"))


# --- 3. and 4. claims and validation -------------------------------------------


def accept_claims(data: dict[str, Any], signer: RemoteActor) -> Incoming:
    """Check what the activity claims against its proven actor; the trusted view.

    ``signer`` is the actor proven to speak (by the HTTP signature, or the
    activity's integrity proof).  Raises :class:`Refused` (400 for
    malformed claims, 403 for an activity by someone else).
    """
    actor = check_iri(iri_of(data.get("actor")), "actor")
    if actor != signer.iri:
        raise Refused(
            403, f"The request is signed by {signer.iri}, not by the activity's actor."
        )
    activity_type = data.get("type")
    if not isinstance(activity_type, str) or not activity_type.isalnum():
        raise Refused(400, '"type" is missing or not a single type name.')
    activity_iri = check_iri(data.get("id"), "id")
    if not same_origin(activity_iri, actor):
        raise Refused(400, '"id" is not on the actor\'s server.')
    incoming = Incoming(data=trusted_view(data, actor), raw=data, actor=signer)
    handler_for(activity_type).validate(incoming)
    return incoming


# --- 5. to 7. --------------------------------------------------------------------


def process(incoming: Incoming) -> Activity:
    """Deduplicate, prefetch, then store and apply in one transaction."""
    if Activity.objects.filter(iri=incoming.id).exists():
        raise Dropped  # seen before: acknowledge, do nothing again
    handler = handler_for(incoming.type)
    with request_budget():
        handler.prefetch(incoming)
    try:
        with transaction.atomic():
            activity = store_and_apply(incoming, handler)
    except IntegrityError as exc:
        if Activity.objects.filter(iri=incoming.id).exists():
            raise Dropped from exc  # the same activity, arriving twice at once
        raise
    logger.info(
        "Received %s %s from %s at %s",
        activity.type,
        activity.iri,
        incoming.actor_iri,
        format_datetime(activity.published),
    )
    return activity
