"""Admin: activities, inboxes, deliveries and remote servers, all read-only.

Rows are records of what was said and done; the only actions are retrying
deliveries and resetting a server marked unavailable.  Private keys are
never rendered.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from vox_activity import follows, moderation
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
from vox_activity.outgoing.delivery import enqueue_many
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


def pretty_json(data) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap">{}</pre>',
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False),
    )


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("type", "name", "actor_iri", "public", "local", "published")
    list_filter = ("type", "public", "local")
    search_fields = ("iri", "actor_iri", "object_iri")
    date_hierarchy = "published"
    fields = ("iri", "type", "actor_iri", "object_iri", "public", "local",
              "published", "json")  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("name"))
    def name(self, obj: Activity) -> str:
        return (obj.data or {}).get("name", "") if isinstance(obj.data, dict) else ""

    @admin.display(description=_("JSON"))
    def json(self, obj: Activity) -> str:
        return pretty_json(obj.data)


@admin.register(InboxItem)
class InboxItemAdmin(ReadOnlyAdmin):
    list_display = ("activity", "owner_type", "owner_id", "created", "read_at")
    list_filter = ("owner_type", ("read_at", admin.EmptyFieldListFilter))
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
    list_display = ("activity", "inbox", "state", "attempts", "last_status",
                    "next_attempt_at", "delivered_at")  # fmt: skip
    list_filter = ("state", "domain")
    search_fields = ("inbox", "domain", "activity__iri")
    list_select_related = ("activity",)
    readonly_fields = ("activity", "inbox", "domain", "state", "attempts",
                       "next_attempt_at", "last_attempt_at", "last_status",
                       "last_error", "created", "delivered_at")  # fmt: skip
    actions = ("retry_now",)

    @admin.action(description=_("Retry now"), permissions=["act"])
    def retry_now(self, request, queryset):
        """Make the selected undelivered rows due now and enqueue them."""
        retry = queryset.exclude(state=Delivery.State.DELIVERED)
        ids = list(retry.values_list("pk", flat=True))
        # One more attempt each; ``attempts`` keeps counting (a given-up row
        # that fails again is given up again, with the new error recorded).
        retry.update(state=Delivery.State.PENDING, next_attempt_at=timezone.now())
        enqueue_many(ids)
        self.message_user(
            request, _("%(n)d deliveries queued again.") % {"n": len(ids)}
        )


@admin.register(DomainHealth)
class DomainHealthAdmin(ReadOnlyAdmin):
    list_display = ("domain", "available", "failure_days", "last_failure_date",
                    "last_success_at", "unavailable_since")  # fmt: skip
    list_filter = (("unavailable_since", admin.EmptyFieldListFilter),)
    search_fields = ("domain",)
    readonly_fields = list_display
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
    list_display = ("__str__", "iri", "domain", "fetched_at", "gone_at")
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

    list_display = ("actor_iri", "reported", "comment", "published")
    search_fields = ("actor_iri", "object_iri")
    fields = ("iri", "actor_iri", "published", "json")
    readonly_fields = fields

    @admin.display(description=_("reported"))
    def reported(self, obj: Report) -> str:
        return ", ".join(iri_of(item) for item in as_list(obj.data.get("object")))

    @admin.display(description=_("comment"))
    def comment(self, obj: Report) -> str:
        return str(obj.data.get("content") or "")[:200]

    @admin.display(description=_("JSON"))
    def json(self, obj: Report) -> str:
        return pretty_json(obj.data)


@admin.register(Follow)
class FollowAdmin(ReadOnlyAdmin):
    list_display = ("actor_iri", "object_iri", "state", "created", "responded_at")
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

    list_display = ("type", "short_iri", "owner_iri", "local", "public", "updated",
                    "deleted_at")  # fmt: skip
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

    @admin.display(description=_("IRI"), ordering="iri")
    def short_iri(self, obj: StoredObject) -> str:
        return obj.iri if len(obj.iri) <= 60 else obj.iri[:57] + "…"

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

    list_display = ("actor_iri", "object_iri", "created")
    search_fields = ("actor_iri", "object_iri")
    readonly_fields = ("actor_iri", "object_iri", "activity_iri", "created")
