"""Objects we keep track of: tombstones of deleted objects, blocks."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from ..protocol import html
from .activity import IRI_MAX_LENGTH


class StoredObject(models.Model):
    """The latest known state of an object by IRI, local or remote.

    Kept so that ``Update`` and ``Delete`` can be checked against the owner,
    and so a deleted object answers 410 Gone with a ``Tombstone``.
    """

    iri = models.CharField(_("IRI"), max_length=IRI_MAX_LENGTH, unique=True)
    owner_iri = models.CharField(_("owner (actor IRI)"), max_length=IRI_MAX_LENGTH)
    type = models.CharField(_("type"), max_length=64)
    data = models.JSONField(_("JSON"), default=dict)
    local = models.BooleanField(_("local"), default=False)
    updated = models.DateTimeField(_("updated"), default=timezone.now)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("object")
        verbose_name_plural = _("objects")

    def __str__(self) -> str:
        state = " (deleted)" if self.deleted_at else ""
        return f"{self.type} {self.iri}{state}"

    def tombstone(self) -> dict:
        from ..activities import AS_CONTEXT, format_datetime

        return {
            "@context": AS_CONTEXT,
            "id": self.iri,
            "type": "Tombstone",
            "formerType": self.type,
            "deleted": format_datetime(self.deleted_at or timezone.now()),
        }

    # --- Received text, safe to show (vox_activity.protocol.html) ----------
    # ``data`` keeps the JSON as received.

    @property
    def safe_content(self) -> SafeString:
        """``content`` (or ``contentMap``) sanitised, marked safe for templates."""
        return mark_safe(html.sanitize_html(html.localized_value(self.data, "content")))  # noqa: S308

    @property
    def safe_summary(self) -> SafeString:
        """``summary`` (or ``summaryMap``) sanitised, marked safe for templates."""
        return mark_safe(html.sanitize_html(html.localized_value(self.data, "summary")))  # noqa: S308

    @property
    def plain_name(self) -> str:
        """``name`` (or ``nameMap``) as plain text, for templates to escape."""
        return html.plain_text(html.localized_value(self.data, "name"))

    # --- end of received text ----------------------------------------------


class Block(models.Model):
    """``actor_iri`` blocks ``object_iri``; nothing of the blocked reaches them."""

    actor_iri = models.CharField(_("blocker"), max_length=IRI_MAX_LENGTH)
    object_iri = models.CharField(_("blocked"), max_length=IRI_MAX_LENGTH)
    activity_iri = models.CharField(_("Block activity"), max_length=IRI_MAX_LENGTH)
    created = models.DateTimeField(_("created"), default=timezone.now)

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
