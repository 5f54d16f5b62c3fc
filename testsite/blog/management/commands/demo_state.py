"""``manage.py demo_state``: this instance's federation state, as one JSON line.

What the demo narrates and the end-to-end tests assert, read from the
database with the ORM (so it works the same on SQLite and PostgreSQL):
follows, activities (with the ``keyId`` that signed the incoming ones),
deliveries, stored objects, and every local user's inbox.
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from vox_activity.models import (
    Activity,
    Delivery,
    DomainHealth,
    Follow,
    InboxItem,
    RemoteActor,
    RemoteKey,
    StoredObject,
)
from vox_activity.site import site_origin


def state() -> dict:
    now = timezone.now()
    key_ids = dict(
        RemoteKey.objects.filter(purpose="publicKey").values_list(
            "actor__iri", "key_id"
        )
    )
    activities = [
        {
            "pk": row.pk,
            "iri": row.iri,
            "type": row.type,
            "actor": row.actor_iri,
            "object": row.object_iri,
            "local": row.local,
            # An incoming activity was accepted only if signed by its actor's
            # key: the key id of that actor, as this server knows it.
            "key_id": None if row.local else key_ids.get(row.actor_iri),
            "data": row.data,
        }
        for row in Activity.objects.order_by("pk")
    ]
    deliveries = [
        {
            "pk": row.pk,
            "activity": row.activity.iri,
            "type": row.activity.type,
            "actor": row.activity.actor_iri,
            "inbox": row.inbox,
            "state": row.state,
            "attempts": row.attempts,
            "last_status": row.last_status,
            "last_error": row.last_error,
            "due_in": round((row.next_attempt_at - now).total_seconds(), 1),
        }
        for row in Delivery.objects.select_related("activity").order_by("pk")
    ]
    follows = [
        {
            "actor": row.actor_iri,
            "object": row.object_iri,
            "state": row.state,
            "activity": row.activity_iri,
        }
        for row in Follow.objects.order_by("pk")
    ]
    objects = [
        {
            "iri": row.iri,
            "type": row.type,
            "owner": row.owner_iri,
            "local": row.local,
            "deleted": row.deleted_at is not None,
            "data": row.data,
        }
        for row in StoredObject.objects.order_by("pk")
    ]
    inboxes = {}
    for user in get_user_model().objects.order_by("username"):
        items = InboxItem.objects.for_owner(user).select_related("activity")
        inboxes[user.get_username()] = [
            {
                "activity": item.activity.iri,
                "type": item.activity.type,
                "read": item.read_at is not None,
            }
            for item in items.order_by("pk")
        ]
    servers = {
        row.domain: row.signature_scheme
        for row in DomainHealth.objects.order_by("domain")
    }
    names = {
        row.iri: (row.data or {}).get("name")
        for row in RemoteActor.objects.order_by("iri")
    }
    return {
        "origin": site_origin(),
        # The HTTP signature scheme each server accepted (the double knock).
        "servers": servers,
        "remote_names": names,
        "follows": follows,
        "activities": activities,
        "deliveries": deliveries,
        "objects": objects,
        "inboxes": inboxes,
        "remote_actors": sorted(key_ids),
    }


class Command(BaseCommand):
    help = "Print this instance's follows, activities, deliveries... as JSON."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(state(), default=str))
