"""Client-to-server posts to a local actor's outbox.

The owner (see ``is_activity_owner``) posts an activity as JSON with an
ActivityPub content type:

* ``Read`` whose ``object`` is an activity in the owner's inbox marks it read.
* Any other type is handed, as django-vox does, to an ``activity_<type>``
  method of the local object named by ``object`` (for ``Create``, a new
  unsaved instance built from the object IRI): ``method(activity, actor)``.
  A method may return an ``HttpResponse``; otherwise the answer is 200.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from vox_activity.conf import get_setting
from vox_activity.models import Activity, Follow, InboxItem, StoredObject
from vox_activity.protocol.payload import PayloadError, read_json_object
from vox_activity.protocol.vocabulary import iri_of
from vox_activity.registry import first_row, match_path
from vox_activity.serving.responses import error_response
from vox_activity.site import local_path


def handle_outbox_post(request: HttpRequest, actor: Any) -> HttpResponse:
    try:
        data = read_json_object(request, get_setting("MAX_BODY_SIZE"))
    except PayloadError as exc:
        return error_response(exc.status, exc.reason)
    activity_type = data.get("type")
    if not isinstance(activity_type, str) or not activity_type.isalnum():
        return error_response(400, 'The activity needs a "type", such as "Read".')
    if activity_type == "Undo" and _undoes_follow(data):
        return unfollow_remote(actor, data)
    object_iri = iri_of(data.get("object"))
    if not object_iri:
        return error_response(400, 'The activity needs an "object" (an IRI).')
    if activity_type == "Read":
        return mark_read(actor, object_iri)
    if activity_type == "Follow" and local_path(object_iri) is None:
        return follow_remote(actor, object_iri)
    if activity_type in REACTIONS and local_path(object_iri) is None:
        return react_to_remote(actor, activity_type, object_iri)
    return hand_to_object(actor, activity_type, object_iri, data)


#: Activities a local actor may send about a remote object through its outbox.
REACTIONS = ("Like", "Announce", "Dislike")


def react_to_remote(actor: Any, activity_type: str, object_iri: str) -> HttpResponse:
    """C2S Like/Announce of a remote object we know: sent to its owner.

    The owner is the actor that created the object (from its stored copy);
    an Announce also goes to the local actor's followers, as Mastodon's boosts.
    """
    from vox_activity.outgoing.publish import publish
    from vox_activity.protocol.vocabulary import PUBLIC
    from vox_activity.registry import actor_iri, followers_iri

    stored = StoredObject.objects.filter(
        iri=object_iri, deleted_at__isnull=True
    ).first()
    if stored is None:
        return error_response(
            404, f"{object_iri} is not an object this server has received."
        )
    addressing: dict[str, list[str]] = {"to": [stored.owner_iri]}
    if activity_type == "Announce":
        addressing = {"to": [PUBLIC], "cc": [stored.owner_iri, followers_iri(actor)]}
    activity = publish(
        {
            "type": activity_type,
            "actor": actor_iri(actor),
            "object": object_iri,
            **addressing,
        }
    )
    response = HttpResponse(status=201)
    response["Location"] = activity.iri
    return response


def _undoes_follow(data: dict) -> bool:
    obj = data.get("object")
    if isinstance(obj, dict):
        return obj.get("type") == "Follow"
    iri = iri_of(obj)
    return bool(iri) and Follow.objects.filter(activity_iri=iri).exists()


def follow_remote(actor: Any, target: str) -> HttpResponse:
    """C2S Follow of a remote actor (IRI or acct:): 201 with the Follow's IRI."""
    from vox_activity.follows import FollowError, follow

    try:
        row = follow(actor, target)
    except FollowError as exc:
        return error_response(400, str(exc))
    response = HttpResponse(status=201)
    response["Location"] = row.activity_iri
    return response


def unfollow_remote(actor: Any, data: dict) -> HttpResponse:
    from vox_activity.follows import FollowError, unfollow

    obj = data.get("object")
    target = (
        iri_of(obj.get("object"))
        if isinstance(obj, dict)
        else Follow.objects.filter(activity_iri=iri_of(obj))
        .values_list("object_iri", flat=True)
        .first()
    )
    try:
        found = unfollow(actor, target or "")
    except FollowError as exc:
        return error_response(400, str(exc))
    if not found:
        return error_response(404, "There is no such follow to undo.")
    return HttpResponse(status=204)


def mark_read(actor: Any, activity_iri: str) -> HttpResponse:
    activity = Activity.objects.filter(iri=activity_iri).first()
    items = InboxItem.objects.for_owner(actor)
    if activity is None or not items.filter(activity=activity).exists():
        return error_response(404, f"{activity_iri} is not in this inbox.")
    items.filter(activity=activity).mark_read()
    return HttpResponse(status=204)


def hand_to_object(
    actor: Any, activity_type: str, object_iri: str, data: dict
) -> HttpResponse:
    target = local_object(object_iri, create=activity_type == "Create")
    if target is None:
        return error_response(404, f"No object on this site has the IRI {object_iri}.")
    method = getattr(target, f"activity_{activity_type.lower()}", None)
    if not callable(method):
        return error_response(
            400,
            f"{type(target).__name__} objects do not accept {activity_type} "
            f"activities (they have no activity_{activity_type.lower()} method).",
        )
    result = method(data, actor)
    if isinstance(result, HttpResponse):
        return result
    return HttpResponse(status=200)


def local_object(iri: str, *, create: bool = False) -> Any | None:
    """The registered local object with this IRI (a new unsaved one if ``create``)."""
    path = local_path(iri)
    if path is None:
        return None
    for route in match_path(path):
        if create:
            return route.model(**route.kwargs)
        found = first_row(route)
        if found is not None:
            return found
    return None
