"""Like, Dislike and Announce: reactions to an object, local or remote."""

from __future__ import annotations

import logging
from typing import ClassVar

from vox_activity.exceptions import Refused, RemoteActorError
from vox_activity.incoming.context import Incoming
from vox_activity.incoming.handlers.base import ActivityHandler
from vox_activity.incoming.provenance import check_fetched_object
from vox_activity.models import StoredObject
from vox_activity.net.remote_actors import fetch_document
from vox_activity.protocol.vocabulary import as_list, iri_of
from vox_activity.site import local_path

__all__ = ["AnnounceHandler", "LikeHandler"]

logger = logging.getLogger(__name__)


class LikeHandler(ActivityHandler):
    """A Like (or Dislike): recorded; the liked local object's author is told."""

    types: ClassVar[tuple[str, ...]] = ("Like", "Dislike")
    requires_object = True


class AnnounceHandler(LikeHandler):
    """A boost.  The announced post is shown, so its content must be genuine.

    An Announce embedding a post from another server than the announcer's is
    not trusted as content (provenance keeps only its IRI): the post is
    fetched from its own server before the transaction, and the Announce is
    refused if that fails.  A post embedded by its own server, or one of ours,
    needs no fetch.
    """

    types = ("Announce",)

    def prefetch(self, incoming: Incoming) -> None:
        iri = incoming.object_iri
        if incoming.embedded_object is not None or local_path(iri) is not None:
            return
        try:
            fetched = fetch_document(iri)
        except RemoteActorError as exc:
            raise Refused(
                400, f"The announced object could not be fetched from its server: {exc}"
            ) from exc
        check_fetched_object(fetched.data, iri, fetched.url)
        incoming.fetched[iri] = fetched.data

    def apply(self, incoming: Incoming) -> None:
        document = incoming.object_document()
        if document is None or local_path(incoming.object_iri) is not None:
            return
        owner = iri_of(next(iter(as_list(document.get("attributedTo"))), None))
        if not owner:
            return
        try:
            StoredObject.objects.store_remote(document, owner)
        except Refused as exc:  # known under another owner, or deleted
            logger.info("Not storing announced %s: %s", incoming.object_iri, exc)
