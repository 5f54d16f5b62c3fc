"""Read-only admin for stored activities and inbox items."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Activity, InboxItem


class ReadOnlyAdmin(admin.ModelAdmin):
    """Activities are records of what was said: nothing to add or edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
