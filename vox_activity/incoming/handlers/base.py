"""The base class of activity handlers: one class per activity type, with hooks.

The inbox pipeline (:mod:`vox_activity.incoming.pipeline`) runs, for each
accepted activity, the hooks of the handler registered for its type:

1. :meth:`ActivityHandler.validate` — pure checks of what was sent: no
   network, no database writes.  Raise
   :class:`~vox_activity.exceptions.Refused` to answer the sender with a 4xx.
   The activity's ``id``, ``actor`` and provenance were already checked.
2. :meth:`ActivityHandler.prefetch` — network, before any transaction:
   fetch what :meth:`apply` will need (an announced post from its own
   server, the target of a Move).  Put documents in ``incoming.fetched``.
3. :meth:`ActivityHandler.recipients` — which local actors get the activity
   in their inbox (IRIs; the pipeline resolves them in bulk).
4. :meth:`ActivityHandler.apply` — the side effects, inside the transaction
   that stores the activity.  Raising ``Refused`` rolls everything back.

After ``apply``, the django-vox convention runs (the local object named by
``object`` gets ``activity_<type>(data, actor)`` if it has that method and
:attr:`ActivityHandler.calls_object_method`), then the
``activity_received`` signal.

Handlers are looked up by type in :mod:`vox_activity.incoming.handlers`;
sites add or replace them with the ``INBOX_HANDLERS`` setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from vox_activity.exceptions import Refused
from vox_activity.incoming.recipients import local_owner_of
from vox_activity.models import Follow
from vox_activity.protocol.iri import check_iri, is_iri
from vox_activity.protocol.vocabulary import (
    PUBLIC,
    as_list,
    iri_of,
    recipients_of,
)
from vox_activity.registry import actor_for_iri

if TYPE_CHECKING:
    from vox_activity.incoming.context import Incoming

__all__ = ["ActivityHandler"]


class ActivityHandler:
    """The rules for one activity type.  Subclass it; override the hooks you need.

    The defaults store the activity, put it in the inbox of the local actors
    it is addressed to (and of local followers of its actor when it is
    public or addressed to their followers), and do nothing else: that is
    how unknown types are treated.
    """

    #: The activity type(s) this handler is registered for by default.
    types: ClassVar[tuple[str, ...]] = ()
    #: ``object`` must be present (an IRI, an object, or a list of them).
    requires_object: ClassVar[bool] = False
    #: Never put the activity in the inbox of the actors it is about (a
    #: report must not reach the reported, nor a block the blocked).
    private_to_object: ClassVar[bool] = False
    #: Hand the activity to the local object's ``activity_<type>`` method.
    calls_object_method: ClassVar[bool] = True

    # --- hooks ---------------------------------------------------------------

    def validate(self, incoming: Incoming) -> None:
        """Refuse (400) what this type cannot be; pure, no I/O."""
        if self.requires_object:
            obj = incoming.raw.get("object")
            if obj in (None, "", [], {}):
                raise Refused(400, f'"object" is required for {incoming.type}.')
            for index, item in enumerate(as_list(obj)):
                field = "object" if not isinstance(obj, list) else f"object[{index}]"
                self.check_reference(item, field)

    def prefetch(self, incoming: Incoming) -> None:
        """Fetch what :meth:`apply` needs; runs outside any transaction."""

    def recipients(self, incoming: Incoming) -> list[str]:
        """IRIs that may name local actors who should get this activity.

        By default: everyone addressed; the actor's local followers when the
        activity is public or addressed to the actor's followers; and the
        activity's object when it is a local actor (a Follow) or the local
        actor who published it (a Like of her article, an Accept of her
        Follow).  :attr:`private_to_object` types leave the object out.
        """
        addressed = [iri for iri in recipients_of(incoming.data) if is_iri(iri)]
        candidates = list(addressed)
        followers = incoming.actor.followers_iri
        if PUBLIC in addressed or (followers and followers in addressed):
            candidates += Follow.objects.followers_of(incoming.actor_iri).values_list(
                "actor_iri", flat=True
            )
        if incoming.object_iri and not self.private_to_object:
            owner = self.object_owner(incoming)
            candidates += [incoming.object_iri, *([owner] if owner else [])]
        return candidates

    def apply(self, incoming: Incoming) -> None:
        """The side effects, inside the storing transaction."""

    # --- helpers for subclasses ------------------------------------------------

    @staticmethod
    def check_reference(value: Any, field: str) -> str:
        """An IRI, or an embedded object (its ``id`` an IRI if it has one).

        Returns the IRI, ``""`` for an embedded object without an id (a
        Follow embedded in an Undo, say); raises 400 otherwise.
        """
        if isinstance(value, dict):
            if "id" not in value:
                return ""
            return check_iri(value.get("id"), f"{field}.id")
        if isinstance(value, str):
            return check_iri(value, field)
        raise Refused(400, f'"{field}" must be an IRI or an object.')

    @staticmethod
    def local_actor(iri: str, what: str) -> Any:
        """The local actor ``iri`` names, or 400."""
        actor = actor_for_iri(iri)
        if actor is None:
            raise Refused(400, f"{what} {iri!r} is not an actor on this site.")
        return actor

    def object_owner(self, incoming: Incoming) -> str | None:
        """The local actor who published the object (for reactions to it)."""
        return local_owner_of(incoming.object_iri) if incoming.object_iri else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} for {', '.join(self.types) or 'any type'}>"


def first_iri(value: Any) -> str:
    """The IRI of a value that may be a list of references."""
    return iri_of(next(iter(as_list(value)), None))
