"""Follow relationships between local and remote actors."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.models.activity import IRI_MAX_LENGTH
from vox_activity.models.remote import RemoteActor


class FollowQuerySet(models.QuerySet):
    def accepted(self) -> FollowQuerySet:
        return self.filter(state=Follow.State.ACCEPTED)

    def followers_of(self, actor_iri: str) -> FollowQuerySet:
        """Accepted remote followers of the local actor ``actor_iri``."""
        return self.accepted().filter(object_iri=actor_iri, remote_actor__isnull=False)


class Follow(models.Model):
    """``actor_iri`` follows ``object_iri``; one side is local, one remote.

    ``remote_actor`` is the remote side, so fan-out to followers is one join.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    actor_iri = models.CharField(_("follower"), max_length=IRI_MAX_LENGTH)
    object_iri = models.CharField(_("followed"), max_length=IRI_MAX_LENGTH)
    remote_actor = models.ForeignKey(
        RemoteActor,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
        verbose_name=_("remote side"),
    )
    activity_iri = models.CharField(
        _("Follow activity"), max_length=IRI_MAX_LENGTH, blank=True
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    created = models.DateTimeField(_("created"), default=timezone.now)
    responded_at = models.DateTimeField(_("accepted or rejected at"), null=True)

    objects = FollowQuerySet.as_manager()

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
