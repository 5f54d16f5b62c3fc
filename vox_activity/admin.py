"""Admin: activities, inboxes, deliveries and remote servers, all read-only.

Rows are records of what was said and done; the only actions are retrying
deliveries and resetting a server marked unavailable.  Private keys are
never rendered.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

__all__ = [
    "ActivityAdmin",
    "ActorKeyAdmin",
    "BlockAdmin",
    "DeliveryAdmin",
    "DomainBlockAdmin",
    "DomainHealthAdmin",
    "FollowAdmin",
    "InboxItemAdmin",
    "ProcessingFilter",
    "ReadOnlyAdmin",
    "RemoteActorAdmin",
    "RemoteKeyInline",
    "ReportAdmin",
    "StoredObjectAdmin",
]

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

from vox_activity import follows, moderation
from vox_activity.incoming.tasks import enqueue_processing
from vox_activity.models import (
    Activity,
    ActorKey,
    Block,
    Delivery,
    DomainBlock,
    DomainHealth,
    Follow,
    InboxItem,
    RemoteActor,
    RemoteKey,
    Report,
    StoredObject,
)
from vox_activity.outgoing.delivery import retry_now
from vox_activity.protocol.vocabulary import as_list, iri_of


class ReadOnlyAdmin(admin.ModelAdmin):
    """Activities are records of what was said: nothing to add or edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_act_permission(self, request) -> bool:
        """May run this admin's actions (they send activities or retry
        deliveries): needs the model's *change* permission, not just view."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


#: Characters of an IRI or a text shown in a list column; the whole value is
#: in the cell's tooltip.  Chosen so that every list fits a 1280-px window
#: (tests/test_browser.py measures it).
COLUMN_CHARACTERS = 30


def clipped(value: object, limit: int = COLUMN_CHARACTERS) -> str:
    """A value shown in at most ``limit`` characters, whole in its tooltip.

    IRIs lose their scheme first (``https://`` says nothing in a list).
    """
    text = "" if value is None else str(value)
    shown = text.removeprefix("https://").removeprefix("http://")
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    if shown == text:
        return text
    return format_html('<span title="{}">{}</span>', text, shown)


def column(field: str, description: StrOrPromise, limit: int = COLUMN_CHARACTERS):
    """A list column showing ``field`` clipped (:func:`clipped`)."""

    @admin.display(description=description, ordering=field)
    def show(self, obj) -> str:
        return clipped(getattr(obj, field), limit)

    return show


def column_date(field: str, description: StrOrPromise):
    """A list column showing a date and time compactly (``2026-11-30 16:52``)."""

    @admin.display(description=description, ordering=field)
    def show(self, obj) -> str:
        value = getattr(obj, field)
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"

    return show


def pretty_json(data) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap">{}</pre>',
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False),
    )


class ProcessingFilter(admin.SimpleListFilter):
    """Received activities by where the inbox task is with them."""

    title = _("processing")
    parameter_name = "processing"

    def lookups(self, request, model_admin):
        return (("waiting", _("waiting")), ("given_up", _("given up")))

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.unprocessed()
        if self.value() == "given_up":
            return queryset.given_up()
        return queryset


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("type", "name", "actor", "public", "when")
    when = column_date("published", _("published"))
    list_filter = ("type", "public", "local", ProcessingFilter)
    actor = column("actor_iri", _("actor"))
    search_fields = ("iri", "actor_iri", "object_iri")
    date_hierarchy = "published"
    fields = ("iri", "type", "actor_iri", "object_iri", "public", "local",
              "published", "processed_at", "processing_attempts",
              "processing_error", "given_up_at", "json")  # fmt: skip
    readonly_fields = fields
    actions = ("try_again",)

    @admin.action(description=_("Apply again (given-up activities)"),
                  permissions=["act"])  # fmt: skip
    def try_again(self, request, queryset):
        """Put given-up received activities back in their senders' queues."""
        rows = list(queryset.given_up())
        for activity in rows:
            activity.retry_processing()
        for actor_iri in {activity.actor_iri for activity in rows}:
            enqueue_processing(actor_iri)
        self.message_user(
            request, _("%(n)d activities queued again.") % {"n": len(rows)}
        )

    @admin.display(description=_("name"))
    def name(self, obj: Activity) -> str:
        data = obj.data if isinstance(obj.data, dict) else {}
        return clipped(data.get("name", ""), 24)

    @admin.display(description=_("JSON"))
    def json(self, obj: Activity) -> str:
        return pretty_json(obj.data)


@admin.register(InboxItem)
class InboxItemAdmin(ReadOnlyAdmin):
    list_display = ("item", "owner", "received", "read")
    item = column("activity", _("activity"))
    received = column_date("created", _("received"))
    read = column_date("read_at", _("read at"))

    @admin.display(description=_("owner"))
    def owner(self, obj: InboxItem) -> str:
        return clipped(obj.owner or f"{obj.owner_type.model} {obj.owner_id}", 24)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("owner")

    list_filter = (
        ("owner_type", admin.RelatedOnlyFieldListFilter),
        ("read_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("owner_id", "activity__iri")
    list_select_related = ("activity", "owner_type")
    fields = ("owner_type", "owner_id", "activity", "created", "read_at",
              "activity_json")  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("activity JSON"))
    def activity_json(self, obj: InboxItem) -> str:
        return pretty_json(obj.activity.data)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("activity_shown", "domain", "state", "tries", "http", "when")
    activity_shown = column("activity", _("activity"), 24)

    @admin.display(description=_("tries"), ordering="attempts")
    def tries(self, obj: Delivery) -> int:
        return obj.attempts

    @admin.display(description=_("HTTP"), ordering="last_status")
    def http(self, obj: Delivery) -> str:
        return str(obj.last_status or "-")

    @admin.display(description=_("when"), ordering="next_attempt_at")
    def when(self, obj: Delivery) -> str:
        """Delivered at, or (still pending) the next attempt."""
        moment = obj.delivered_at or (
            obj.next_attempt_at if obj.state == Delivery.State.PENDING else None
        )
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"

    list_filter = ("state", "domain")
    search_fields = ("inbox", "domain", "activity__iri")
    list_select_related = ("activity",)
    readonly_fields = ("activity", "inbox", "domain", "state", "attempts",
                       "next_attempt_at", "last_attempt_at", "last_status",
                       "last_error", "created", "delivered_at")  # fmt: skip
    actions = ("retry_now",)

    @admin.action(description=_("Retry now"), permissions=["act"])
    def retry_now(self, request, queryset):
        """Queue the selected undelivered rows for an attempt now.

        Rows a queued task or an attempt in progress holds are left alone: a
        second attempt beside one in flight would send the activity twice.
        """
        done = retry_now(queryset)
        self.message_user(
            request, _("%(n)d deliveries queued again.") % {"n": len(done.queued)}
        )
        if done.held:
            self.message_user(
                request,
                _(
                    "%(n)d deliveries left alone: already queued or being "
                    "attempted (they are retried when that attempt fails)."
                )
                % {"n": done.held},
                level=messages.WARNING,
            )


@admin.register(DomainHealth)
class DomainHealthAdmin(ReadOnlyAdmin):
    list_display = ("domain", "available", "failures", "last_success", "signatures")
    list_filter = (("unavailable_since", admin.EmptyFieldListFilter),)
    search_fields = ("domain",)
    readonly_fields = ("domain", "failure_days", "last_failure_date",
                       "last_success_at", "unavailable_since",
                       "signature_scheme")  # fmt: skip
    last_success = column_date("last_success_at", _("last success"))

    @admin.display(description=_("failed on"), ordering="failure_days")
    def failures(self, obj: DomainHealth) -> str:
        if not obj.failure_days:
            return "-"
        return f"{obj.failure_days} d, last {obj.last_failure_date:%Y-%m-%d}"

    @admin.display(description=_("signs with"), ordering="signature_scheme")
    def signatures(self, obj: DomainHealth) -> str:
        return obj.get_signature_scheme_display() or "-"

    actions = ("reset", "block")

    @admin.display(boolean=True, description=_("available"))
    def available(self, obj: DomainHealth) -> bool:
        return obj.available

    @admin.action(description=_("Block the selected servers"), permissions=["act"])
    def block(self, request, queryset):
        for health in queryset:
            moderation.block_server(health.domain)
        self.message_user(
            request, _("%(n)d servers blocked.") % {"n": queryset.count()}
        )

    @admin.action(description=_("Reset: mark available again"), permissions=["act"])
    def reset(self, request, queryset):
        count = queryset.update(
            failure_days=0, last_failure_date=None, unavailable_since=None
        )
        self.message_user(request, _("%(n)d servers reset.") % {"n": count})


class RemoteKeyInline(admin.TabularInline):
    """The keys proven to be the actor's (each key id has one owner)."""

    model = RemoteKey
    fields = ("key_id", "kind", "purpose", "public_key_pem", "fetched_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RemoteActor)
class RemoteActorAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "iri_shown", "fetched", "gone")
    iri_shown = column("iri", _("IRI"))
    fetched = column_date("fetched_at", _("fetched at"))
    gone = column_date("gone_at", _("gone at"))
    list_filter = (("gone_at", admin.EmptyFieldListFilter),)
    search_fields = ("iri", "preferred_username", "domain")
    fields = ("iri", "domain", "preferred_username", "inbox", "shared_inbox",
              "fetched_at", "gone_at", "document")  # fmt: skip
    readonly_fields = fields
    inlines = (RemoteKeyInline,)

    @admin.display(description=_("actor document"))
    def document(self, obj: RemoteActor) -> str:
        return pretty_json(obj.data)


@admin.register(ActorKey)
class ActorKeyAdmin(ReadOnlyAdmin):
    """Public halves only: the private key is never rendered."""

    list_display = ("__str__", "owner_type", "owner_id", "created")
    fields = ("owner_type", "owner_id", "public_key_pem", "created")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("private_key_pem")

    def has_delete_permission(self, request, obj=None):
        return False  # rotate with manage.py vox_activity_rotate_key instead


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    """Flags from other servers: who reported what, and their comment."""

    list_display = ("actor", "reported", "comment", "when")
    actor = column("actor_iri", _("reporter"))
    when = column_date("published", _("published"))
    search_fields = ("actor_iri", "object_iri")
    fields = ("iri", "actor_iri", "published", "json")
    readonly_fields = fields

    @admin.display(description=_("reported"))
    def reported(self, obj: Report) -> str:
        return clipped(", ".join(iri_of(o) for o in as_list(obj.data.get("object"))))

    @admin.display(description=_("comment"))
    def comment(self, obj: Report) -> str:
        return clipped(obj.data.get("content") or "", 60)

    @admin.display(description=_("JSON"))
    def json(self, obj: Report) -> str:
        return pretty_json(obj.data)


@admin.register(Follow)
class FollowAdmin(ReadOnlyAdmin):
    list_display = ("follower", "followed", "state", "since")
    since = column_date("created", _("created"))
    follower = column("actor_iri", _("follower"))
    followed = column("object_iri", _("followed"))
    list_filter = ("state",)
    actions = ("accept", "reject")

    @admin.action(description=_("Accept the selected follow requests"),
                  permissions=["act"])  # fmt: skip
    def accept(self, request, queryset):
        """Accept pending requests from remote actors (sends Accept)."""
        rows = list(
            queryset.filter(state=Follow.State.PENDING, remote_actor__isnull=False)
        )
        incoming = [row for row in rows if row.remote_actor.iri == row.actor_iri]
        for row in incoming:
            follows.accept(row)
        self.message_user(request, _("%(n)d follows accepted.") % {"n": len(incoming)})

    @admin.action(description=_("Reject (remove) the selected followers"),
                  permissions=["act"])  # fmt: skip
    def reject(self, request, queryset):
        """Reject incoming follows, pending or accepted (sends Reject)."""
        rows = queryset.filter(remote_actor__isnull=False).select_related(
            "remote_actor"
        )
        incoming = [row for row in rows if row.remote_actor.iri == row.actor_iri]
        for row in incoming:
            follows.reject(row)
        self.message_user(request, _("%(n)d follows rejected.") % {"n": len(incoming)})

    search_fields = ("actor_iri", "object_iri")
    readonly_fields = ("actor_iri", "object_iri", "remote_actor", "activity_iri",
                       "state", "created", "responded_at")  # fmt: skip


@admin.register(StoredObject)
class StoredObjectAdmin(ReadOnlyAdmin):
    """Objects we know by IRI: ours as published, others' as received."""

    list_display = ("kind", "iri_shown", "owner", "public", "changed")
    list_filter = (
        "local",
        "public",
        "type",
        ("deleted_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("iri", "owner_iri", "in_reply_to")
    date_hierarchy = "updated"
    fields = ("iri", "type", "owner_iri", "in_reply_to", "local", "public",
              "updated", "deleted_at", "content", "json")  # fmt: skip
    readonly_fields = fields

    iri_shown = column("iri", _("IRI"), 24)
    owner = column("owner_iri", _("owner"), 20)
    changed = column_date("updated", _("updated"))

    @admin.display(description=_("type"), ordering="type")
    def kind(self, obj: StoredObject) -> str:
        return f"{obj.type} (deleted)" if obj.deleted_at else obj.type

    @admin.display(description=_("content (sanitised)"))
    def content(self, obj: StoredObject) -> str:
        return obj.safe_content

    @admin.display(description=_("JSON"))
    def json(self, obj: StoredObject) -> str:
        return pretty_json(obj.data)


@admin.register(DomainBlock)
class DomainBlockAdmin(admin.ModelAdmin):
    """Whole servers blocked by the admin (see vox_activity.moderation)."""

    list_display = ("domain", "reason", "created")
    search_fields = ("domain", "reason")
    fields = ("domain", "reason")

    def save_model(self, request, obj, form, change):
        """Blocking ends follows and pending deliveries (block_server)."""
        if change:
            super().save_model(request, obj, form, change)
            return
        blocked = moderation.block_server(obj.domain, obj.reason)
        obj.pk = blocked.pk


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    """Blocks between actors, either way (a remote actor's, or a local one's)."""

    list_display = ("blocker", "blocked", "since")
    since = column_date("created", _("created"))
    search_fields = ("actor_iri", "object_iri")
    readonly_fields = ("actor_iri", "object_iri", "activity_iri", "created")
    blocker = column("actor_iri", _("blocker"))
    blocked = column("object_iri", _("blocked"))
