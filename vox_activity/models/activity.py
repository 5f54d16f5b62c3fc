"""Stored activities and the local inboxes they land in.

An :class:`Activity` is one ActivityStreams activity, stored as the JSON that
is served and sent, plus the few columns we query by.  An :class:`InboxItem`
puts an activity in a local actor's inbox; the owner is any registered model
instance (a user, a group, a project...), referenced generically.
"""

from __future__ import annotations

import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from ..activities import PUBLIC, public_view
from ..protocol import html

IRI_MAX_LENGTH = 2048


class ActivityQuerySet(models.QuerySet):
    def public(self) -> ActivityQuerySet:
        return self.filter(public=True)

    def by_actor(self, actor_iri: str) -> ActivityQuerySet:
        return self.filter(actor_iri=actor_iri)


class Activity(models.Model):
    """One activity: created here by a notification, or (later) received."""

    uuid = models.UUIDField(_("UUID"), default=uuid.uuid4, unique=True, editable=False)
    iri = models.CharField(
        _("IRI"),
        max_length=IRI_MAX_LENGTH,
        unique=True,
        help_text=_("The activity's id: where it can be fetched."),
    )
    type = models.CharField(_("type"), max_length=64, db_index=True)
    actor_iri = models.CharField(
        _("actor IRI"), max_length=IRI_MAX_LENGTH, blank=True, db_index=True
    )
    object_iri = models.CharField(
        _("object IRI"), max_length=IRI_MAX_LENGTH, blank=True, db_index=True
    )
    data = models.JSONField(_("JSON"), help_text=_("The activity as stored."))
    public = models.BooleanField(
        _("public"),
        default=False,
        help_text=_("Addressed to %(public)s, so listed in the outbox.")
        % {"public": PUBLIC},
    )
    local = models.BooleanField(
        _("local"), default=True, help_text=_("Created on this site.")
    )
    published = models.DateTimeField(_("published"), default=timezone.now)
    undone_at = models.DateTimeField(
        _("undone at"),
        null=True,
        blank=True,
        help_text=_("When its actor took it back with an Undo."),
    )

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            # The outbox: an actor's public activities, newest first.
            models.Index(fields=["actor_iri", "public", "-id"], name="vox_act_outbox"),
        ]

    def __str__(self) -> str:
        name = self.data.get("name") if isinstance(self.data, dict) else None
        return f"{self.type}: {name}" if name else f"{self.type} {self.iri}"

    def to_ap(self) -> dict:
        """The JSON served to others: blind recipients (bto/bcc) removed."""
        return public_view(self.data)

    # --- Received text, safe to show (vox_activity.protocol.html) ----------
    # Each reads the embedded object's field first, then the activity's own;
    # ``data`` keeps the JSON as received.

    @property
    def safe_content(self) -> SafeString:
        """``content`` (or ``contentMap``) sanitised, marked safe for templates."""
        return mark_safe(html.sanitize_html(html.activity_field(self.data, "content")))  # noqa: S308

    @property
    def safe_summary(self) -> SafeString:
        """``summary`` (or ``summaryMap``) sanitised, marked safe for templates."""
        return mark_safe(html.sanitize_html(html.activity_field(self.data, "summary")))  # noqa: S308

    @property
    def plain_name(self) -> str:
        """``name`` (or ``nameMap``) as plain text, for templates to escape."""
        return html.plain_text(html.activity_field(self.data, "name"))

    # --- end of received text ----------------------------------------------


class InboxItemQuerySet(models.QuerySet):
    def for_owner(self, owner: models.Model) -> InboxItemQuerySet:
        """Items in the inbox of ``owner`` (any model instance)."""
        if owner is None or owner.pk is None:
            return self.none()
        return self.filter(
            owner_type=ContentType.objects.get_for_model(owner),
            owner_id=str(owner.pk),
        )

    def unread(self) -> InboxItemQuerySet:
        return self.filter(read_at__isnull=True)

    def read(self) -> InboxItemQuerySet:
        return self.filter(read_at__isnull=False)

    def mark_read(self) -> int:
        """Mark every unread item in this queryset read now; returns the count."""
        return self.filter(read_at__isnull=True).update(read_at=timezone.now())

    def newest_first(self) -> InboxItemQuerySet:
        return self.order_by("-id")


class InboxItem(models.Model):
    """An activity in a local actor's inbox, with its read state."""

    owner_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, verbose_name=_("owner type")
    )
    owner_id = models.CharField(_("owner id"), max_length=255)
    owner = GenericForeignKey("owner_type", "owner_id")
    activity = models.ForeignKey(
        Activity,
        on_delete=models.CASCADE,
        related_name="inbox_items",
        verbose_name=_("activity"),
    )
    created = models.DateTimeField(_("received"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = InboxItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_type", "owner_id", "activity"],
                name="vox_inbox_unique_owner_activity",
            )
        ]
        indexes = [
            # Keyset paging of one inbox, newest first; and the unread filter.
            models.Index(
                fields=["owner_type", "owner_id", "-id"], name="vox_inbox_page"
            ),
            models.Index(
                fields=["owner_type", "owner_id", "read_at"], name="vox_inbox_unread"
            ),
        ]

    def __str__(self) -> str:
        state = "read" if self.read_at else "unread"
        return f"{self.activity} → {self.owner_type.model} {self.owner_id} ({state})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    # --- Received text, safe to show: the activity's (see Activity) --------

    @property
    def safe_content(self) -> SafeString:
        return self.activity.safe_content

    @property
    def safe_summary(self) -> SafeString:
        return self.activity.safe_summary

    @property
    def plain_name(self) -> str:
        return self.activity.plain_name

    # --- end of received text ----------------------------------------------


class ReportManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(type="Flag", local=False)


class Report(Activity):
    """A ``Flag`` received from another server: a moderation report."""

    objects = ReportManager()

    class Meta:
        proxy = True
        verbose_name = _("report")
        verbose_name_plural = _("reports")
