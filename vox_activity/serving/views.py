"""ActivityPub views: actor documents, inbox, outbox, collections, activities.

Actor views are reached through :class:`~vox_activity.middleware.ActivityPubMiddleware`
(actor paths belong to the site's own URLconf, which serves them as HTML);
activity documents and the shared inbox through ``vox_activity.urls``.
Every error is JSON with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from vox_activity.exceptions import Dropped, Refused
from vox_activity.incoming import pipeline
from vox_activity.models import Activity, Follow, InboxItem
from vox_activity.outgoing.documents import actor_document, instance_actor_document
from vox_activity.protocol.vocabulary import AS_CONTEXT, format_datetime, recipients_of
from vox_activity.registration import Actor, hook
from vox_activity.registry import (
    actor_iri,
    actor_iri_of,
    endpoint_iri,
    registration_for,
)
from vox_activity.serving import c2s_outbox
from vox_activity.serving.access import fetch_refusal, may_read
from vox_activity.serving.paging import collection, collection_page, is_page_request
from vox_activity.serving.responses import (
    activity_response,
    error_response,
    no_content,
)
from vox_activity.site import absolute_iri

__all__ = [
    "ACTOR_VIEWS",
    "activity_view",
    "actor_view",
    "followers_view",
    "following_view",
    "inbox_view",
    "instance_actor_view",
    "instance_outbox_view",
    "is_owner",
    "outbox_view",
    "receive",
    "shared_inbox_view",
]

READ_CONTEXT = [AS_CONTEXT, {"dateRead": "https://schema.org/dateRead"}]


def is_owner(request: HttpRequest, actor: Any) -> bool:
    return bool(hook(registration_for(actor), "is_activity_owner")(actor, request))


def _not_allowed(*methods: str) -> HttpResponse:
    return error_response(
        405, f"Use {' or '.join(methods)} here.", Allow=", ".join(methods)
    )


def _paged(
    request: HttpRequest,
    iri: str,
    queryset,
    render: Callable[[Any], Any],
    context: Any = AS_CONTEXT,
) -> HttpResponse:
    try:
        if is_page_request(request.GET):
            data = collection_page(iri, queryset, request.GET, render, context)
        else:
            data = collection(iri, queryset.count())
    except Refused as exc:
        return error_response(exc.status, exc.reason, **exc.headers)
    return activity_response(data, request)


def receive(request: HttpRequest) -> HttpResponse:
    """An inbox POST: 202 once accepted (or dropped), else the 4xx and reason."""
    try:
        pipeline.receive(request)
    except Dropped:
        pass
    except Refused as exc:
        return error_response(exc.status, exc.reason, **exc.headers)
    return no_content(202)


# --- actor endpoints (dispatched by the middleware) --------------------------


def actor_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET")
    return activity_response(actor_document(actor), request)


def inbox_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method == "POST":
        return receive(request)
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET", "POST")
    if not is_owner(request, actor):
        return error_response(403, "Only the owner of this inbox may read it.")

    def render(item: InboxItem) -> dict:
        data = item.activity.to_ap()
        data.pop("@context", None)
        data["dateRead"] = format_datetime(item.read_at) if item.read_at else None
        return data

    items = InboxItem.objects.for_owner(actor).select_related("activity")
    iri = endpoint_iri(actor_iri_of(actor), "inbox")
    return _paged(request, iri, items, render, READ_CONTEXT)


def outbox_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method == "POST":
        if not is_owner(request, actor):
            return error_response(403, "Only the owner of this outbox may post to it.")
        # Our middleware calls views directly, so Django's CsrfViewMiddleware
        # never sees them: enforce CSRF here for session-authenticated posts.
        return csrf_protect(c2s_outbox.handle_outbox_post)(request, actor)
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET", "POST")

    def render(activity: Activity) -> dict:
        data = activity.to_ap()
        data.pop("@context", None)
        return data

    activities = Activity.objects.public().by_actor(actor_iri_of(actor))
    iri = endpoint_iri(actor_iri_of(actor), "outbox")
    return _paged(request, iri, activities, render)


def followers_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Accepted followers (actor IRIs), newest first."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET")
    iri = actor_iri_of(actor)
    rows = Follow.objects.followers_of(iri)
    return _paged(request, endpoint_iri(iri, "followers"), rows, _follower)


def following_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Accepted follows of this actor (the followed IRIs), newest first."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET")
    iri = actor_iri_of(actor)
    rows = Follow.objects.following_of(iri)
    return _paged(request, endpoint_iri(iri, "following"), rows, _followed)


def _follower(row: Follow) -> str:
    return row.actor_iri


def _followed(row: Follow) -> str:
    return row.object_iri


ACTOR_VIEWS: dict[str | None, Callable[[HttpRequest, Any], HttpResponse]] = {
    None: actor_view,
    "inbox": inbox_view,
    "outbox": outbox_view,
    "followers": followers_view,
    "following": following_view,
}


# --- views of vox_activity.urls ----------------------------------------------


def activity_view(request: HttpRequest, activity_uuid) -> HttpResponse:
    """A stored local activity: public ones to anyone, others to those involved."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET")
    activity = Activity.objects.filter(uuid=activity_uuid, local=True).first()
    if activity is None:
        return error_response(404, "No such activity.")
    if not _is_local_reader(request, activity):
        refused = fetch_refusal(request)
        if refused is not None:
            return refused
        if not activity.public and not may_read(
            request, recipients_of(activity.to_ap()), activity.actor_iri
        ):
            return error_response(404, "No such activity.")
    return activity_response(activity.to_ap(), request)


def _is_local_reader(request: HttpRequest, activity: Activity) -> bool:
    """Is the logged-in user the activity's actor or one of its local recipients?"""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if activity.actor_iri and activity.actor_iri == actor_iri(user):
        return True
    return InboxItem.objects.for_owner(user).filter(activity=activity).exists()


def instance_actor_view(request: HttpRequest) -> HttpResponse:
    """The site's own actor (signs fetches); served whatever the Accept."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET")
    return activity_response(instance_actor_document(), request)


def instance_outbox_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET")
    refused = fetch_refusal(request)
    if refused is not None:
        return refused
    iri = absolute_iri(reverse("vox_activity:instance-outbox"))
    return _paged(request, iri, Activity.objects.none(), lambda row: row)


@csrf_exempt  # servers post here; they authenticate with HTTP Signatures
@transaction.non_atomic_requests  # fetches keys: never inside ATOMIC_REQUESTS
def shared_inbox_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _not_allowed("POST")
    return receive(request)
