"""Follows and blocks between actors, and the signals they send.

The rows own their writes: a follow is requested, accepted, rejected or
ended only through the methods below, so the ``follow_*`` signals are sent
in exactly one place each.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.models.fields import IriField
from vox_activity.models.remote import RemoteActor
from vox_activity.signals import (
    follow_accepted,
    follow_rejected,
    follow_removed,
    follow_requested,
)

__all__ = [
    "Block",
    "BlockManager",
    "Follow",
    "FollowManager",
    "FollowQuerySet",
]


class FollowQuerySet(models.QuerySet["Follow"]):
    def accepted(self) -> FollowQuerySet:
        return self.filter(state=Follow.State.ACCEPTED)

    def followers_of(self, actor_iri: str) -> FollowQuerySet:
        """Accepted followers of ``actor_iri`` (local or remote)."""
        return self.accepted().filter(object_iri=actor_iri)

    def remote_followers_of(self, actor_iri: str) -> FollowQuerySet:
        """Accepted remote followers of the local actor ``actor_iri``."""
        return self.followers_of(actor_iri).filter(remote_actor__isnull=False)

    def following_of(self, actor_iri: str) -> FollowQuerySet:
        """Accepted follows made by ``actor_iri``."""
        return self.accepted().filter(actor_iri=actor_iri)

    def between(self, first: str, second: str) -> FollowQuerySet:
        """Follows either way between two actors."""
        return self.filter(
            Q(actor_iri=first, object_iri=second)
            | Q(actor_iri=second, object_iri=first)
        )

    def end_all(self) -> int:
        """End every follow here (each sends ``follow_removed``); how many."""
        rows = list(self)
        for row in rows:
            row.end()
        return len(rows)


class FollowManager(models.Manager.from_queryset(FollowQuerySet)):  # type: ignore[misc]
    """The queryset's methods, and the one way a follow request is recorded.

    (The ``ignore``: mypy cannot type a base class made by a call;
    django-stubs' plugin still gives ``Follow.objects`` the queryset's
    methods.)
    """

    def request(
        self,
        actor_iri: str,
        object_iri: str,
        *,
        activity_iri: str,
        remote_actor: RemoteActor | None = None,
    ) -> Follow:
        """Record a follow request (again); a rejected one becomes pending.

        Sends ``follow_requested``.  An accepted follow stays accepted (a
        repeated Follow is answered again by the caller).
        """
        row, created = self.get_or_create(
            actor_iri=actor_iri,
            object_iri=object_iri,
            defaults={"remote_actor": remote_actor, "activity_iri": activity_iri},
        )
        if not created:
            row.activity_iri = activity_iri
            row.remote_actor = remote_actor
            if row.state == Follow.State.REJECTED:
                row.state = Follow.State.PENDING
            row.save(update_fields=["activity_iri", "remote_actor", "state"])
        follow_requested.send(Follow, follow=row)
        return row


class Follow(models.Model):
    """``actor_iri`` follows ``object_iri``.

    ``remote_actor`` is the remote side when there is one, so fan-out to
    remote followers is one join; a follow between two local actors has none.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    actor_iri = IriField(_("follower"))
    object_iri = IriField(_("followed"))
    remote_actor = models.ForeignKey(
        RemoteActor,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
        verbose_name=_("remote side"),
    )
    activity_iri = IriField(_("Follow activity"), blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    created = models.DateTimeField(_("created"), default=timezone.now)
    responded_at = models.DateTimeField(_("accepted or rejected at"), null=True)

    objects = FollowManager()

    class Meta:
        verbose_name = _("follow")
        verbose_name_plural = _("follows")
        constraints = [
            models.UniqueConstraint(
                fields=["actor_iri", "object_iri"], name="vox_follow_unique_pair"
            )
        ]
        indexes = [
            models.Index(fields=["object_iri", "state"], name="vox_follow_followers"),
            models.Index(fields=["actor_iri", "state"], name="vox_follow_following"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_iri} → {self.object_iri} ({self.state})"

    def accept(self) -> None:
        """Mark accepted and send ``follow_accepted``."""
        self._respond(Follow.State.ACCEPTED)
        follow_accepted.send(Follow, follow=self)

    def reject(self) -> None:
        """Mark rejected and send ``follow_rejected``."""
        self._respond(Follow.State.REJECTED)
        follow_rejected.send(Follow, follow=self)

    def _respond(self, state: str) -> None:
        self.state = state
        self.responded_at = timezone.now()
        self.save(update_fields=["state", "responded_at"])

    def end(self) -> None:
        """Delete the follow (unfollow, Undo, block, move...), ``follow_removed``."""
        self.delete()
        follow_removed.send(Follow, follow=self)


class BlockManager(models.Manager["Block"]):
    def record(self, actor_iri: str, object_iri: str, activity_iri: str) -> Block:
        """``actor_iri`` blocks ``object_iri``; like Mastodon, follows both ways end."""
        block, _ = self.get_or_create(
            actor_iri=actor_iri,
            object_iri=object_iri,
            defaults={"activity_iri": activity_iri},
        )
        Follow.objects.between(actor_iri, object_iri).end_all()
        return block

    def lift(self, actor_iri: str, object_iri: str) -> int:
        """The block was undone."""
        deleted, _ = self.filter(actor_iri=actor_iri, object_iri=object_iri).delete()
        return deleted

    def blockers_of(self, object_iri: str) -> models.QuerySet[Block]:
        return self.filter(object_iri=object_iri)


class Block(models.Model):
    """``actor_iri`` blocks ``object_iri``; nothing of the blocked reaches them."""

    actor_iri = IriField(_("blocker"))
    object_iri = IriField(_("blocked"))
    activity_iri = IriField(_("Block activity"))
    created = models.DateTimeField(_("created"), default=timezone.now)

    objects = BlockManager()

    class Meta:
        verbose_name = _("block")
        verbose_name_plural = _("blocks")
        constraints = [
            models.UniqueConstraint(
                fields=["actor_iri", "object_iri"], name="vox_block_unique_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor_iri} blocks {self.object_iri}"
