"""Local objects served as ActivityPub documents: content negotiation, access, replies.

Models registered with django-vox with a URL regex (``objects.add(Article,
ArticleVox, regex=...)``) are served, like actors, from their own URLs: a
GET whose ``Accept`` asks for ActivityPub gets the object's document (its
``__activity__()`` or the registration's ``get_activity_object()``, with
``@context``), while the site's own view keeps answering browsers.

Who may fetch it follows its addressing, as published: the ``to``/``cc`` of
its last Create or Update (remembered as a local
:class:`~vox_activity.models.StoredObject`), else the registration's
``get_activity_addressing()``.  Public objects are served to anyone; others
only to a signed fetch by an actor they are addressed to (directly or as a
follower of the author), and are 404 for everyone else, so that their
existence does not leak.  A deleted object answers 410 with a ``Tombstone``.

Every object has a ``replies`` collection, ``<object IRI>/replies``: the
public replies that reached us (remote ones, by ``inReplyTo``) and local ones.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse

from vox_activity.exceptions import Refused
from vox_activity.models import StoredObject
from vox_activity.protocol.vocabulary import (
    AS_CONTEXT,
    PUBLIC,
    as_list,
    build_context,
    iri_of,
    recipients_of,
    to_json,
)
from vox_activity.registry import local_object, registration_for
from vox_activity.serving.access import may_read
from vox_activity.serving.paging import collection, collection_page, is_page_request
from vox_activity.serving.responses import activity_response, error_response
from vox_activity.site import absolute_iri, url_path

__all__ = ["object_document", "object_response", "replies_iri", "replies_response"]

logger = logging.getLogger(__name__)

REPLIES = "replies"
#: Apps whose registered models are not ours to serve: django-vox's own
#: (its old built-in backend's activities have views of their own).
NOT_SERVED = frozenset({"django_vox"})


#: What a served object takes from the copy we published when the site's
#: document leaves it out: its audience, dates, tags, author and ``url``, so a
#: fetched copy matches the delivered one.
STORED_FIELDS = ("to", "cc", "published", "updated", "tag", "attributedTo", "url")


def replies_iri(object_iri: str) -> str:
    return object_iri.rstrip("/") + "/" + REPLIES


def object_document(instance: Any) -> dict[str, Any] | None:
    """The ActivityPub document of a local object, addressed as published."""
    registration = registration_for(instance)
    if registration is None or instance._meta.app_label in NOT_SERVED:
        return None
    contexts: list[dict[str, Any]] = []
    data = to_json(registration.get_activity_object(instance), contexts)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    document = {k: v for k, v in data.items() if k != "@context"}
    published = StoredObject.objects.filter(iri=document["id"], local=True).first()
    if published is not None:
        for field in STORED_FIELDS:
            if field in published.data and field not in document:
                document[field] = published.data[field]
    if "to" not in document and "cc" not in document:
        addressing = _addressing_without_notification(registration, instance)
        for field in ("to", "cc"):
            if addressing and addressing.get(field):
                document[field] = [a for a in addressing[field] if a]
    document["replies"] = replies_iri(document["id"])
    return {"@context": build_context(contexts), **document}


def _addressing_without_notification(registration: Any, instance: Any) -> Any:
    """The addressing hook for an object never published: no notification.

    A hook written for publishing may read the notification and fail without
    one; the object is then served as addressed to no one (404 to every
    fetch), never as public, and the error is logged for the site.
    """
    hook = getattr(registration, "get_activity_addressing", None)
    if not callable(hook):
        return None
    try:
        return hook(instance, None)
    except Exception:
        logger.exception(
            "get_activity_addressing(%r, None) failed; the object is served to "
            "no one until it is published.",
            instance,
        )
        return {"to": [], "cc": []}


def object_response(request: HttpRequest, path: str) -> HttpResponse | None:
    """The answer for an ActivityPub GET of ``path`` if it is a local object."""
    iri = absolute_iri(url_path(path))
    deleted = StoredObject.objects.filter(
        iri=iri, local=True, deleted_at__isnull=False
    ).first()
    if deleted is not None:
        return activity_response(deleted.tombstone(), request, status=410)
    instance = local_object(iri)
    document = object_document(instance) if instance is not None else None
    if document is None:
        return None
    author = next(iter(map(iri_of, as_list(document.get("attributedTo")))), "")
    if not may_read(request, recipients_of(document), author):
        return error_response(404, "No such object, or not for you.")
    return activity_response(document, request)


def replies_response(request: HttpRequest, object_path: str) -> HttpResponse | None:
    """``<object>/replies``: the public replies we know of, newest first."""
    iri = absolute_iri(url_path(object_path))
    instance = local_object(iri)
    document = object_document(instance) if instance is not None else None
    if document is None or PUBLIC not in recipients_of(document):
        return None
    rows = StoredObject.objects.replies_to(document["id"])
    collection_iri = replies_iri(document["id"])
    try:
        if is_page_request(request.GET):
            data = collection_page(
                collection_iri, rows, request.GET, _reply, AS_CONTEXT
            )
        else:
            data = collection(collection_iri, rows.count())
    except Refused as exc:
        return error_response(exc.status, exc.reason, **exc.headers)
    return activity_response(data, request)


def _reply(row: StoredObject) -> str:
    return row.iri
