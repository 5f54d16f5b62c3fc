"""Remote actors we have fetched: where to deliver, which key verifies them."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.models.activity import IRI_MAX_LENGTH


class RemoteActor(models.Model):
    """A cached copy of a remote actor document (refetched after a TTL)."""

    iri = models.CharField(_("IRI"), max_length=IRI_MAX_LENGTH, unique=True)
    domain = models.CharField(_("domain"), max_length=255, db_index=True)
    inbox = models.CharField(_("inbox"), max_length=IRI_MAX_LENGTH)
    shared_inbox = models.CharField(
        _("shared inbox"), max_length=IRI_MAX_LENGTH, blank=True
    )
    key_id = models.CharField(
        _("key id"), max_length=IRI_MAX_LENGTH, blank=True, db_index=True
    )
    public_key_pem = models.TextField(_("public key (PEM)"), blank=True)
    preferred_username = models.CharField(
        _("preferred username"), max_length=255, blank=True
    )
    data = models.JSONField(_("actor document"), default=dict)
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now)
    gone_at = models.DateTimeField(
        _("gone at"),
        null=True,
        blank=True,
        help_text=_("Set when the actor's server answered 404 or 410 Gone."),
    )

    class Meta:
        verbose_name = _("remote actor")
        verbose_name_plural = _("remote actors")

    def __str__(self) -> str:
        if self.preferred_username:
            return f"@{self.preferred_username}@{self.domain}"
        return self.iri

    @property
    def delivery_inbox(self) -> str:
        """The shared inbox when the server offers one: one POST per server."""
        return self.shared_inbox or self.inbox

    def is_stale(self, ttl_seconds: int) -> bool:
        return self.fetched_at < timezone.now() - timedelta(seconds=ttl_seconds)
