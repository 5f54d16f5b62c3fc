"""Deliveries: one row per (activity, remote inbox), the source of truth.

A row is written in the same transaction as its activity, before any attempt,
and every attempt's outcome is recorded on it.  A worker that dies mid-attempt
leaves the row ``pending`` with a due ``next_attempt_at``, so the retry sweep
(``manage.py vox_activity_deliver``) picks it up again: nothing is lost.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.models.activity import Activity
from vox_activity.models.fields import IriField

__all__ = ["Delivery", "DeliveryQuerySet", "DomainHealth"]


class DeliveryQuerySet(models.QuerySet):
    def pending(self) -> DeliveryQuerySet:
        return self.filter(state=Delivery.State.PENDING)

    def due(self, now=None) -> DeliveryQuerySet:
        """Pending deliveries whose next attempt time has come."""
        return self.pending().filter(next_attempt_at__lte=now or timezone.now())


class Delivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        GIVEN_UP = "given_up", _("given up")

    activity = models.ForeignKey(
        Activity,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("activity"),
    )
    inbox = IriField(_("inbox"))
    domain = models.CharField(_("domain"), max_length=255, db_index=True)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=State.choices,
        default=State.PENDING,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True)
    last_error = models.TextField(_("last error"), blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "inbox"], name="vox_delivery_unique_inbox"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="vox_delivery_due")
        ]

    def __str__(self) -> str:
        return f"{self.activity.type} → {self.inbox} ({self.state})"


class DomainHealth(models.Model):
    """Failure record of a remote server, for the circuit breaker.

    Mastodon's rule: a server that has failed on
    ``DOMAIN_FAILURE_DAYS`` (7) different days without a success in between is
    unavailable; deliveries to it are skipped until it answers again (a
    successful delivery) or an admin resets it.
    """

    domain = models.CharField(_("domain"), max_length=255, unique=True)
    failure_days = models.PositiveIntegerField(_("days with failures"), default=0)
    last_failure_date = models.DateField(_("last failure"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    unavailable_since = models.DateTimeField(
        _("unavailable since"), null=True, blank=True
    )
    signature_scheme = models.CharField(
        _("HTTP signatures it accepts"),
        max_length=16,
        blank=True,
        choices=[("rfc9421", "RFC 9421"), ("cavage", "draft-cavage")],
        help_text=_("Learnt by the double knock; empty until a request tells."),
    )

    class Meta:
        verbose_name = _("remote server")
        verbose_name_plural = _("remote servers")

    def __str__(self) -> str:
        return self.domain

    @property
    def available(self) -> bool:
        return self.unavailable_since is None
