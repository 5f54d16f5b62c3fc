"""Client-to-server posts to a local actor's outbox, one handler per type.

The owner (see ``is_activity_owner``) posts an activity as JSON with an
ActivityPub content type.  As for incoming activities
(:mod:`vox_activity.incoming.handlers`), each type has a handler class with
``validate`` (pure) and ``apply`` hooks:

* ``Read`` whose ``object`` is an activity in the owner's inbox marks it read.
* ``Follow`` of a remote actor (IRI or ``acct:``) follows it; ``Undo`` of
  such a Follow stops following.
* ``Like``, ``Dislike`` and ``Announce`` of a remote object we received are
  sent to its author (an Announce also to the owner's followers).
* Any other type is handed, as django-vox does, to an ``activity_<type>``
  method of the local object named by ``object`` (for ``Create``, a new
  unsaved instance built from the object IRI): ``method(activity, actor)``.
  A method may return an ``HttpResponse``; otherwise the answer is 200.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from vox_activity import follows
from vox_activity.conf import get_setting
from vox_activity.exceptions import FollowError, Refused
from vox_activity.models import Activity, Follow, InboxItem, StoredObject
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.payload import read_json_object
from vox_activity.protocol.vocabulary import PUBLIC, iri_of
from vox_activity.registry import actor_for_iri, actor_iri, followers_iri, local_object
from vox_activity.serving.responses import error_response, no_content
from vox_activity.site import local_path

__all__ = ["OutboxHandler", "handle_outbox_post"]

#: Activities a local actor may send about a remote object through its outbox.
REACTIONS = ("Like", "Announce", "Dislike")


def handle_outbox_post(request: HttpRequest, actor: Any) -> HttpResponse:
    """The owner's POST to its outbox: the handler's answer, or a 4xx."""
    try:
        data = read_json_object(request, get_setting("MAX_BODY_SIZE"))
        activity_type = data.get("type")
        if not isinstance(activity_type, str) or not activity_type.isalnum():
            raise Refused(400, 'The activity needs a "type", such as "Read".')
        handler = _handler_for(activity_type, data)
        handler.validate(actor, data)
        return handler.apply(actor, data)
    except Refused as exc:
        return error_response(exc.status, exc.reason, **exc.headers)


class OutboxHandler:
    """What an owner's activity of one type does (client to server)."""

    def validate(self, actor: Any, data: dict[str, Any]) -> None:
        """Refuse (4xx) what cannot be done; pure."""
        if not iri_of(data.get("object")):
            raise Refused(400, 'The activity needs an "object" (an IRI).')

    def apply(self, actor: Any, data: dict[str, Any]) -> HttpResponse:
        raise NotImplementedError(f"{type(self).__name__} must define apply()")


def _created(activity_iri: str) -> HttpResponse:
    response = no_content(201)
    response["Location"] = activity_iri
    return response


class ReadHandler(OutboxHandler):
    def apply(self, actor: Any, data: dict[str, Any]) -> HttpResponse:
        activity_iri = iri_of(data.get("object"))
        activity = Activity.objects.filter(iri=activity_iri).first()
        items = InboxItem.objects.for_owner(actor)
        if activity is None or not items.filter(activity=activity).exists():
            raise Refused(404, f"{activity_iri} is not in this inbox.")
        items.filter(activity=activity).mark_read()
        return no_content(204)


class FollowHandler(OutboxHandler):
    """Follow a remote actor (IRI or ``acct:``): 201 with the Follow's IRI."""

    def apply(self, actor: Any, data: dict[str, Any]) -> HttpResponse:
        try:
            row = follows.follow(actor, iri_of(data.get("object")))
        except FollowError as exc:
            raise Refused(400, str(exc)) from exc
        return _created(row.activity_iri)


class UndoFollowHandler(OutboxHandler):
    """Stop following: the object is the Follow (embedded, or its IRI)."""

    def validate(self, actor: Any, data: dict[str, Any]) -> None:
        pass

    def apply(self, actor: Any, data: dict[str, Any]) -> HttpResponse:
        obj = data.get("object")
        target = (
            iri_of(obj.get("object"))
            if isinstance(obj, dict)
            else Follow.objects.filter(activity_iri=iri_of(obj))
            .values_list("object_iri", flat=True)
            .first()
        )
        try:
            found = follows.unfollow(actor, target or "")
        except FollowError as exc:
            raise Refused(400, str(exc)) from exc
        if not found:
            raise Refused(404, "There is no such follow to undo.")
        return no_content(204)


class ReactionHandler(OutboxHandler):
    """Like/Dislike/Announce of a remote object we received: sent to its author.

    The author is the actor that created the object (from its stored copy);
    an Announce also goes to the local actor's followers, as Mastodon's boosts.
    """

    def apply(self, actor: Any, data: dict[str, Any]) -> HttpResponse:
        object_iri = iri_of(data.get("object"))
        stored = StoredObject.objects.alive().filter(iri=object_iri).first()
        if stored is None:
            raise Refused(
                404, f"{object_iri} is not an object this server has received."
            )
        activity_type = data["type"]
        addressing: dict[str, list[str]] = {"to": [stored.owner_iri]}
        if activity_type == "Announce":
            addressing = {
                "to": [PUBLIC],
                "cc": [stored.owner_iri, followers_iri(actor) or ""],
            }
        activity = publish(
            {
                "type": activity_type,
                "actor": actor_iri(actor),
                "object": object_iri,
                **addressing,
            }
        )
        return _created(activity.iri)


class UndoReactionHandler(OutboxHandler):
    """Take back one of the owner's Likes, Dislikes or Announces.

    The ``Undo`` goes to the same audience as what it undoes (Mastodon
    removes the like or the boost when its author's Undo arrives).
    """

    def apply(self, actor: Any, data: dict[str, Any]) -> HttpResponse:
        undone = _own_reaction(actor, data)
        if undone is None:
            raise Refused(404, "There is no such like or announce of yours to undo.")
        original = undone.data
        activity = publish(
            {
                "type": "Undo",
                "actor": undone.actor_iri,
                "object": {
                    "id": undone.iri,
                    "type": undone.type,
                    "actor": undone.actor_iri,
                    "object": undone.object_iri,
                },
                **{f: original[f] for f in ("to", "cc") if original.get(f)},
            }
        )
        undone.mark_undone()
        return _created(activity.iri)


def _own_reaction(actor: Any, data: dict[str, Any]) -> Activity | None:
    """The owner's standing Like/Dislike/Announce that ``data`` undoes."""
    obj = data.get("object")
    mine = Activity.objects.standing().filter(
        local=True, actor_iri=actor_iri(actor), type__in=REACTIONS
    )
    found = mine.filter(iri=iri_of(obj)).first()
    if found is None and isinstance(obj, dict):
        found = (
            mine.filter(type=obj.get("type"), object_iri=iri_of(obj.get("object")))
            .order_by("-id")
            .first()
        )
    return found


class ObjectMethodHandler(OutboxHandler):
    """The django-vox convention: ``activity_<type>(data, actor)`` on the object."""

    def apply(self, actor: Any, data: dict[str, Any]) -> HttpResponse:
        activity_type = data["type"]
        object_iri = iri_of(data.get("object"))
        target = local_object(object_iri, create=activity_type == "Create")
        if target is None:
            raise Refused(404, f"No object on this site has the IRI {object_iri}.")
        method = getattr(target, f"activity_{activity_type.lower()}", None)
        if not callable(method):
            raise Refused(
                400,
                f"{type(target).__name__} objects do not accept {activity_type} "
                f"activities (they have no activity_{activity_type.lower()} method).",
            )
        result = method(data, actor)
        if isinstance(result, HttpResponse):
            return result
        return HttpResponse(status=200)


def _undoes_reaction(data: dict[str, Any]) -> bool:
    obj = data.get("object")
    if isinstance(obj, dict):
        return obj.get("type") in REACTIONS
    iri = iri_of(obj)
    return bool(iri) and Activity.objects.filter(iri=iri, type__in=REACTIONS).exists()


def _undoes_follow(data: dict[str, Any]) -> bool:
    obj = data.get("object")
    if isinstance(obj, dict):
        return obj.get("type") == "Follow"
    iri = iri_of(obj)
    return bool(iri) and Follow.objects.filter(activity_iri=iri).exists()


def _handler_for(activity_type: str, data: dict[str, Any]) -> OutboxHandler:
    object_iri = iri_of(data.get("object"))
    remote = local_path(object_iri) is None
    if activity_type == "Undo" and _undoes_follow(data):
        return UndoFollowHandler()
    if activity_type == "Undo" and _undoes_reaction(data):
        return UndoReactionHandler()
    if activity_type == "Read":
        return ReadHandler()
    if activity_type == "Follow" and (remote or actor_for_iri(object_iri)):
        return FollowHandler()
    if activity_type in REACTIONS and remote:
        return ReactionHandler()
    return ObjectMethodHandler()
