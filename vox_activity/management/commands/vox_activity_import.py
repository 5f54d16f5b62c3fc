"""Copy what django-vox's built-in activity backend stored into vox_activity.

::

    manage.py vox_activity_import --dry-run
    manage.py vox_activity_import [--batch-size 500]

django-vox's ``activity`` backend kept each activity as a
``django_vox.models.Activity`` row (UUID primary key, ``type``, ``name``,
``summary``, the actor, object and target as an id plus optional JSON, and a
``timestamp``) and each recipient's copy as a ``django_vox.models.InboxItem``
(a user, the activity, ``read_at``).  This command rebuilds each activity's
JSON from those columns and stores it as a vox_activity
:class:`~vox_activity.models.Activity`:

* its IRI is the one the old backend gave it (``Activity.get_full_url()``:
  django-vox's ``ACTIVITY_REGEX``, by default ``activity/<uuid>/``, on the
  site's origin), and its ``uuid`` is the old primary key, so it is also
  served at ``/activitypub/activities/<uuid>`` to those who may see it;
* ``local`` is true and ``public`` false: the old backend had no addressing;
* ``published`` is the old ``timestamp``.

Each old inbox item becomes an :class:`~vox_activity.models.InboxItem` of the
same user (a generic owner), created at the activity's timestamp, with
``read_at`` kept.

Running it again copies nothing twice: an activity whose IRI or uuid is
already stored is skipped, and so is an inbox item that already exists, so
an interrupted import can simply be run again.  Work is done in batches (a
handful of queries per batch, whatever its size), each batch in its own
transaction; ``--dry-run`` does everything in one transaction and rolls it
back.
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Model, Q

from vox_activity.models import IRI_MAX_LENGTH, Activity, InboxItem
from vox_activity.protocol.vocabulary import AS_CONTEXT, format_datetime, iri_of

__all__ = ["Command"]

DEFAULT_BATCH_SIZE = 500


def old_models() -> tuple[type[Model], type[Model]]:
    """django-vox's Activity and InboxItem, or a clear error without it."""
    if not apps.is_installed("django_vox"):
        raise CommandError(
            "django_vox is not in INSTALLED_APPS: there is nothing to import."
        )
    return (
        apps.get_model("django_vox", "Activity"),
        apps.get_model("django_vox", "InboxItem"),
    )


def _field_value(old: Any, field: str, problems: list[str]) -> Any:
    """The actor, object or target of an old activity: its JSON, else its id."""
    text = getattr(old, f"{field}_json") or ""
    identifier = getattr(old, f"{field}_id") or ""
    if text:
        try:
            value = json.loads(text)
        except ValueError:
            problems.append(f"{old.pk}: {field}_json is not JSON; kept its id only")
        else:
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "@context"}
                if identifier and "id" not in value:
                    value["id"] = identifier
                return value
            if isinstance(value, str):
                return value
            problems.append(f"{old.pk}: {field}_json is not an object; kept its id")
    return identifier or None


def activity_json(old: Any, iri: str, problems: list[str]) -> dict[str, Any]:
    """The ActivityStreams document of an old activity, rebuilt from its columns."""
    data: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": iri,
        "type": old.type or "Create",
    }
    for field in ("actor", "object", "target"):
        value = _field_value(old, field, problems)
        if value:
            data[field] = value
    for field in ("name", "summary"):
        value = getattr(old, field)
        if value:
            data[field] = value
    if old.timestamp is not None:
        data["published"] = format_datetime(old.timestamp)
    return data


class Command(BaseCommand):
    help = (
        "Copy the activities and inbox items stored by django-vox's built-in "
        "activity backend into vox_activity.  Safe to run again: nothing is "
        "copied twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="count what would be copied; write nothing",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            metavar="N",
            help=f"old activities per batch (default {DEFAULT_BATCH_SIZE})",
        )

    def handle(self, *args, dry_run=False, batch_size=DEFAULT_BATCH_SIZE, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        self.verbosity = options.get("verbosity", 1)
        old_activity, old_inbox_item = old_models()
        user_model = old_inbox_item._meta.get_field("owner").related_model
        assert isinstance(user_model, type)  # a ForeignKey's model
        self.owner_type = ContentType.objects.get_for_model(user_model)
        self.old_activity, self.old_inbox_item = old_activity, old_inbox_item
        self.counts = dict.fromkeys(
            ("activities", "activities_skipped", "items", "items_skipped"), 0
        )
        self.problems: list[str] = []

        if dry_run:
            with transaction.atomic():
                self._run(batch_size)
                transaction.set_rollback(True)
        else:
            self._run(batch_size)
        self._summary(dry_run)

    def _run(self, batch_size: int) -> None:
        last = None
        while True:
            rows = self.old_activity._default_manager.order_by("pk")
            if last is not None:
                rows = rows.filter(pk__gt=last)
            batch = list(rows[:batch_size])
            if not batch:
                return
            with transaction.atomic():
                self._copy_batch(batch)
            last = batch[-1].pk
            if self.verbosity >= 2:
                self.stdout.write(f"... up to activity {last}")

    def _copy_batch(self, batch: list[Any]) -> None:
        iris = {old.pk: old.get_full_url()[:IRI_MAX_LENGTH] for old in batch}
        existing = Activity.objects.filter(
            Q(iri__in=list(iris.values())) | Q(uuid__in=list(iris))
        ).values_list("iri", "uuid")
        seen_iris = {iri for iri, _ in existing}
        seen_uuids = {value for _, value in existing}

        new_rows = []
        for old in batch:
            if old.pk in seen_uuids or iris[old.pk] in seen_iris:
                self.counts["activities_skipped"] += 1
                continue
            data = activity_json(old, iris[old.pk], self.problems)
            new_rows.append(
                Activity(
                    uuid=old.pk,
                    iri=iris[old.pk],
                    type=str(data["type"])[:64],
                    actor_iri=iri_of(data.get("actor"))[:IRI_MAX_LENGTH],
                    object_iri=iri_of(data.get("object"))[:IRI_MAX_LENGTH],
                    data=data,
                    public=False,
                    local=True,
                    published=old.timestamp,
                )
            )
        Activity.objects.bulk_create(new_rows)
        self.counts["activities"] += len(new_rows)

        # The copies of this batch's activities, new and earlier ones: by
        # uuid (what this command writes), else by IRI.
        by_uuid, by_iri = {}, {}
        for value, iri, pk in Activity.objects.filter(
            Q(uuid__in=list(iris)) | Q(iri__in=list(iris.values()))
        ).values_list("uuid", "iri", "pk"):
            by_uuid[value], by_iri[iri] = pk, pk
        copy_of = {
            old_pk: by_uuid.get(old_pk) or by_iri[iri]
            for old_pk, iri in iris.items()
            if old_pk in by_uuid or iri in by_iri
        }
        self._copy_inbox_items(batch, copy_of)

    def _copy_inbox_items(self, batch: list[Any], copy_of: dict[Any, int]) -> None:
        timestamps = {old.pk: old.timestamp for old in batch}
        old_items = self.old_inbox_item._default_manager.filter(
            activity_id__in=list(copy_of)
        ).values_list("owner_id", "activity_id", "read_at")
        present = set(
            InboxItem.objects.filter(
                owner_type=self.owner_type, activity_id__in=list(copy_of.values())
            ).values_list("owner_id", "activity_id")
        )
        new_items = []
        for owner_id, old_pk, read_at in old_items:
            key = (str(owner_id), copy_of[old_pk])
            if key in present:
                self.counts["items_skipped"] += 1
                continue
            present.add(key)
            new_items.append(
                InboxItem(
                    owner_type=self.owner_type,
                    owner_id=key[0],
                    activity_id=key[1],
                    created=timestamps[old_pk],
                    read_at=read_at,
                )
            )
        InboxItem.objects.bulk_create(new_items)
        self.counts["items"] += len(new_items)

    def _summary(self, dry_run: bool) -> None:
        verb = "would copy" if dry_run else "copied"
        counts = self.counts
        self.stdout.write(
            f"Activities: {verb} {counts['activities']}, skipped "
            f"{counts['activities_skipped']} (already imported)."
        )
        self.stdout.write(
            f"Inbox items: {verb} {counts['items']}, skipped "
            f"{counts['items_skipped']} (already imported)."
        )
        for problem in self.problems:
            self.stderr.write(f"Warning: activity {problem}.")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
