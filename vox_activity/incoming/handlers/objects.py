"""Create, Update, Delete, Add and Remove: objects and their lifecycle."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from vox_activity.exceptions import Refused, RemoteActorError
from vox_activity.incoming.context import Incoming
from vox_activity.incoming.handlers.base import ActivityHandler
from vox_activity.incoming.provenance import check_fetched_object
from vox_activity.incoming.recipients import local_owner_of
from vox_activity.models import Follow, RemoteActor, StoredObject
from vox_activity.net.remote_actors import fetch_actor, fetch_document
from vox_activity.protocol.actor_documents import validate_actor
from vox_activity.protocol.iri import check_iri, same_origin
from vox_activity.protocol.vocabulary import as_list, iri_of
from vox_activity.site import local_path

logger = logging.getLogger(__name__)

__all__ = [
    "AddRemoveHandler",
    "CreateHandler",
    "DeleteHandler",
    "UpdateHandler",
]


def _check_own_object(incoming: Incoming, obj: dict[str, Any]) -> str:
    """An embedded object must be the actor's: on its server, attributed to it."""
    object_iri = check_iri(obj.get("id"), "object.id")
    if object_iri != incoming.actor_iri and not same_origin(
        object_iri, incoming.actor_iri
    ):
        raise Refused(400, '"object.id" is not on the actor\'s server.')
    return object_iri


class CreateHandler(ActivityHandler):
    """A new object by the actor: stored, so later Updates/Deletes can be checked."""

    types = ("Create",)
    requires_object = True
    #: The type whose object must be attributed to the actor.
    checks_attribution = True

    def validate(self, incoming: Incoming) -> None:
        super().validate(incoming)
        obj = incoming.raw.get("object")
        if isinstance(obj, list):
            raise Refused(
                400, f"A {incoming.type} carries one object, not a list of them."
            )
        if not isinstance(obj, dict):
            return  # by reference
        _check_own_object(incoming, obj)
        authors = {iri_of(a) for a in as_list(obj.get("attributedTo"))} - {""}
        if self.checks_attribution and authors - {incoming.actor_iri}:
            raise Refused(400, '"object.attributedTo" is not the actor.')

    def prefetch(self, incoming: Incoming) -> None:
        """A Create of a bare IRI: fetch the object from its own server.

        It is stored as content only once fetched, signed, from its id, and
        only if it is the actor's (on the actor's server, attributed to the
        actor); otherwise the Create is refused before anything is stored.
        """
        if incoming.embedded_object is not None or incoming.type != "Create":
            return
        iri = incoming.object_iri
        if not iri or local_path(iri) is not None:
            return
        if not same_origin(iri, incoming.actor_iri):
            raise Refused(400, '"object" is not on the actor\'s server.')
        try:
            fetched = fetch_document(iri)
        except RemoteActorError as exc:
            raise Refused(
                400, f"The created object could not be fetched from its server: {exc}"
            ) from exc
        check_fetched_object(fetched.data, iri, fetched.url)
        authors = {iri_of(a) for a in as_list(fetched.data.get("attributedTo"))}
        if authors - {"", incoming.actor_iri}:
            raise Refused(400, "The created object is not attributed to the actor.")
        incoming.fetched[iri] = fetched.data

    def recipients(self, incoming: Incoming) -> list[str]:
        owner = self.reply_target_owner(incoming)
        return [*super().recipients(incoming), *([owner] if owner else [])]

    def reply_target_owner(self, incoming: Incoming) -> str | None:
        """The local author of the object this one replies to, if any.

        A reply reaches her even when she was not addressed (as Mastodon
        notifies the author of the post replied to).
        """
        obj = incoming.object_document()
        if obj is None:
            return None
        parent = iri_of(obj.get("inReplyTo"))
        return local_owner_of(parent) if parent else None

    def apply(self, incoming: Incoming) -> None:
        obj = incoming.object_document()
        if obj is None or not obj.get("id"):
            return
        StoredObject.objects.store_remote(obj, incoming.actor_iri)


class UpdateHandler(CreateHandler):
    """A changed object, or the actor's changed profile."""

    types = ("Update",)
    checks_attribution = False
    calls_object_method = False  # only the owner may change it; never a local one

    def validate(self, incoming: Incoming) -> None:
        super().validate(incoming)
        obj = incoming.raw.get("object")
        if isinstance(obj, dict) and obj.get("id") == incoming.actor_iri:
            try:
                validate_actor(obj, incoming.actor_iri)
            except RemoteActorError as exc:
                raise Refused(400, f"The updated actor is not usable: {exc}") from exc

    def prefetch(self, incoming: Incoming) -> None:
        """A profile updated by reference is refetched, at most once a minute."""
        updates_itself = incoming.object_iri == incoming.actor_iri
        if (
            updates_itself
            and incoming.embedded_object is None
            and incoming.actor.fetched_at < timezone.now() - timedelta(seconds=60)
        ):
            try:
                fetch_actor(incoming.actor_iri, refresh=True)
            except RemoteActorError as exc:  # stored anyway; refetched later
                logger.info("Could not refetch %s: %s", incoming.actor_iri, exc)

    def apply(self, incoming: Incoming) -> None:
        obj = incoming.embedded_object
        if incoming.object_iri == incoming.actor_iri:
            if obj is not None:
                update_profile(incoming.actor, obj)
            return  # by reference: prefetch refetched it
        existing = StoredObject.objects.filter(iri=incoming.object_iri).first()
        if existing is None:
            if obj is not None:
                StoredObject.objects.store_remote(obj, incoming.actor_iri)
            return
        existing.check_owner(incoming.actor_iri)
        if obj is not None:
            existing.update_from(obj)


def update_profile(remote: RemoteActor, document: dict[str, Any]) -> None:
    """Apply an actor's own signed Update of its profile, without a fetch.

    The request was signed by this actor, and the document passes the same
    checks as a fetched one (its id is the actor's; it may only prove keys
    whose id's document is the actor itself), so it is as good as a fetch.
    A document claiming a key another actor holds is refused (400).
    """
    try:
        RemoteActor.objects.store(validate_actor(document, remote.iri), document)
    except RemoteActorError as exc:
        raise Refused(400, f"The updated actor is not usable: {exc}") from exc


class DeleteHandler(ActivityHandler):
    """An object is gone, or the account itself is."""

    types = ("Delete",)
    requires_object = True
    calls_object_method = False  # only the owner may delete; never a local object

    def apply(self, incoming: Incoming) -> None:
        object_iri = incoming.object_iri
        if object_iri == incoming.actor_iri:  # the account itself was deleted
            RemoteActor.objects.mark_gone([incoming.actor_iri])
            Follow.objects.filter(remote_actor=incoming.actor).end_all()
            return
        existing = StoredObject.objects.filter(iri=object_iri).first()
        if existing is None:
            return
        if existing.owner_iri != incoming.actor_iri:
            raise Refused(403, f"Only the owner of {object_iri} may delete it.")
        StoredObject.objects.mark_deleted(object_iri, incoming.actor_iri)


class AddRemoveHandler(ActivityHandler):
    """Add/Remove (Mastodon: pinned posts in ``featured``): stored and signalled."""

    types = ("Add", "Remove")
    requires_object = True

    def validate(self, incoming: Incoming) -> None:
        super().validate(incoming)
        target = incoming.raw.get("target")
        if target is not None:
            self.check_reference(target, "target")
