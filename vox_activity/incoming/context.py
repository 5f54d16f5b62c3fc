"""One incoming activity on its way through the pipeline, as handlers see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vox_activity.protocol.vocabulary import as_list, iri_of

if TYPE_CHECKING:
    from vox_activity.models import Activity, RemoteActor

__all__ = ["Incoming"]


@dataclass
class Incoming:
    """An authenticated activity: what it says, who said it, what was fetched.

    ``data`` is the *trusted view* of the activity
    (:func:`vox_activity.incoming.provenance.trusted_view`): content embedded
    from another origin than the actor's is reduced to its IRI, so a handler
    can read ``data`` without re-checking provenance.  ``raw`` is the
    activity exactly as received (for the validation rules that look at what
    was sent, e.g. refusing a Create of someone else's object).
    """

    data: dict[str, Any]
    raw: dict[str, Any]
    #: The actor of the activity, authenticated (its signature, or a proof).
    actor: RemoteActor
    #: Documents fetched for this activity from their own origin, by IRI.
    fetched: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The stored row, once the activity is stored (inside the transaction).
    activity: Activity | None = None

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def actor_iri(self) -> str:
        return self.actor.iri

    @property
    def object_iri(self) -> str:
        """The IRI of ``object`` (the first one if it is a list), or ``""``."""
        first = next(iter(as_list(self.data.get("object"))), None)
        return iri_of(first)

    @property
    def object_iris(self) -> list[str]:
        """The IRI of every ``object`` (activities such as Flag name several)."""
        return [iri for iri in map(iri_of, as_list(self.data.get("object"))) if iri]

    @property
    def embedded_object(self) -> dict[str, Any] | None:
        """``object`` as a trusted embedded document (the actor's own), or None."""
        value = self.data.get("object")
        return value if isinstance(value, dict) else None

    def object_document(self) -> dict[str, Any] | None:
        """The object's content: embedded by its own server, or fetched from it."""
        return self.embedded_object or self.fetched.get(self.object_iri)
