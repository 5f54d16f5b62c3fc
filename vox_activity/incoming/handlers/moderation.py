"""Block, Flag and Move: moderation and accounts that move."""

from __future__ import annotations

from vox_activity import follows
from vox_activity.exceptions import Refused, RemoteActorError
from vox_activity.incoming.context import Incoming
from vox_activity.incoming.handlers.base import ActivityHandler
from vox_activity.models import Block, Follow, RemoteActor
from vox_activity.net.remote_actors import fetch_actor
from vox_activity.protocol.iri import check_iri
from vox_activity.protocol.vocabulary import as_list, iri_of
from vox_activity.registry import actor_for_iri, actor_iri

__all__ = ["BlockHandler", "FlagHandler", "MoveHandler"]


class BlockHandler(ActivityHandler):
    """A remote actor blocks a local one: follows both ways end (as Mastodon).

    Never shown to the blocked actor.
    """

    types = ("Block",)
    requires_object = True
    private_to_object = True

    def apply(self, incoming: Incoming) -> None:
        blocked = self.local_actor(incoming.object_iri, "The blocked object")
        blocked_iri = actor_iri(blocked)
        assert blocked_iri is not None and incoming.activity is not None
        Block.objects.record(incoming.actor_iri, blocked_iri, incoming.activity.iri)


class FlagHandler(ActivityHandler):
    """A report from another server (listed in the admin as a Report).

    Never shown to the reported actors, even when they are addressed.
    """

    types = ("Flag",)
    requires_object = True
    private_to_object = True
    calls_object_method = False


class MoveHandler(ActivityHandler):
    """Local followers of the old account follow the new one (FEP-7628).

    Only when the new actor (fetched before the transaction) lists the old one
    in ``alsoKnownAs``; each local follower sends a Follow to the new account
    and stops following the old one.
    """

    types = ("Move",)
    requires_object = True
    calls_object_method = False

    def validate(self, incoming: Incoming) -> None:
        super().validate(incoming)
        check_iri(iri_of(incoming.raw.get("target")), "target")
        if incoming.object_iri != incoming.actor_iri:
            raise Refused(403, "An actor can only move itself.")

    def prefetch(self, incoming: Incoming) -> None:
        target = iri_of(incoming.data.get("target"))
        try:
            new = fetch_actor(target)
            if incoming.actor_iri not in as_list(new.data.get("alsoKnownAs")):
                fetch_actor(new.iri, refresh=True)  # the alias may be new
        except RemoteActorError as exc:
            raise Refused(
                400, f"The Move target {target} could not be fetched: {exc}"
            ) from exc

    def apply(self, incoming: Incoming) -> None:
        target = iri_of(incoming.data.get("target"))
        new = RemoteActor.objects.filter(iri=target, gone_at__isnull=True).first()
        if new is None:
            raise Refused(400, f"The Move target {target} could not be fetched.")
        old = incoming.actor_iri
        if old not in as_list(new.data.get("alsoKnownAs")):
            raise Refused(
                400, f"{new.iri} does not list {old} in alsoKnownAs; not moving."
            )
        for row in Follow.objects.filter(object_iri=old).exclude(
            state=Follow.State.REJECTED
        ):
            local = actor_for_iri(row.actor_iri)
            row.end()
            if local is not None:
                follows.follow_known(local, new)
