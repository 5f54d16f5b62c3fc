"""Follow, Accept, Reject and Undo: relationships between actors."""

from __future__ import annotations

from typing import ClassVar

from vox_activity import follows
from vox_activity.exceptions import Refused
from vox_activity.incoming.context import Incoming
from vox_activity.incoming.handlers.base import ActivityHandler
from vox_activity.models import Activity, Block, Follow
from vox_activity.protocol.vocabulary import iri_of

__all__ = ["AcceptHandler", "FollowHandler", "RejectHandler", "UndoHandler"]


class FollowHandler(ActivityHandler):
    """A remote actor asks to follow a local one (accepted unless manual)."""

    types = ("Follow",)
    requires_object = True

    def apply(self, incoming: Incoming) -> None:
        local = self.local_actor(incoming.object_iri, "The followed object")
        assert incoming.activity is not None
        follows.receive_follow(incoming.actor, local, incoming.activity.iri)


class AcceptHandler(ActivityHandler):
    """A remote actor accepts one of our follows (``object``: our Follow)."""

    types = ("Accept",)
    requires_object = True
    accepted: ClassVar[bool] = True

    def apply(self, incoming: Incoming) -> None:
        obj = incoming.data.get("object")
        if isinstance(obj, dict) and obj.get("type") not in (None, "Follow"):
            return  # an answer to something other than a follow: stored only
        follows.remote_responded(incoming.actor, obj, accepted=self.accepted)


class RejectHandler(AcceptHandler):
    """A remote actor rejects (or removes) one of our follows."""

    types = ("Reject",)
    accepted = False


class UndoHandler(ActivityHandler):
    """The actor takes back one of its own activities."""

    types = ("Undo",)
    requires_object = True

    def apply(self, incoming: Incoming) -> None:
        obj = incoming.data.get("object")
        undone_iri = iri_of(obj)
        undone = Activity.objects.filter(iri=undone_iri).first() if undone_iri else None
        if undone is not None and undone.actor_iri != incoming.actor_iri:
            raise Refused(403, "Only the actor of an activity may undo it.")
        # An embedded activity is the actor's own (provenance kept it only if
        # it is on the actor's server), so its type and object can be read.
        embedded = obj if isinstance(obj, dict) else {}
        undone_type = undone.type if undone else embedded.get("type")
        target = undone.object_iri if undone else iri_of(embedded.get("object"))
        if undone_type == "Follow":
            Follow.objects.filter(
                actor_iri=incoming.actor_iri, object_iri=target
            ).end_all()
        elif undone_type == "Block":
            Block.objects.lift(incoming.actor_iri, target)
        if undone is not None:
            undone.mark_undone()
