"""Stored activities and the local inboxes they land in.

An :class:`Activity` is one ActivityStreams activity, stored as the JSON that
is served and sent, plus the few columns we query by.  An :class:`InboxItem`
puts an activity in a local actor's inbox; the owner is any registered model
instance (a user, a group, a project...), referenced generically.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, cast

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import connections, models
from django.db.models import Q
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.models.fields import IRI_MAX_LENGTH, IriField, clip
from vox_activity.models.remote import DomainBlock
from vox_activity.models.text import ReceivedText
from vox_activity.protocol import html
from vox_activity.protocol.vocabulary import PUBLIC, iri_of, is_public, public_view

__all__ = [
    "TYPE_MAX_LENGTH",
    "Activity",
    "ActivityManager",
    "ActivityQuerySet",
    "InboxItem",
    "InboxItemManager",
    "InboxItemQuerySet",
    "Report",
    "ReportManager",
]

#: Longest ``type`` stored (longer names are cut; they are unknown types).
TYPE_MAX_LENGTH = 64


class ActivityQuerySet(models.QuerySet["Activity"]):
    def public(self) -> ActivityQuerySet:
        return self.filter(public=True)

    def by_actor(self, actor_iri: str) -> ActivityQuerySet:
        return self.filter(actor_iri=actor_iri)

    def standing(self) -> ActivityQuerySet:
        """Activities in effect: processed, and not taken back with an Undo."""
        return self.filter(undone_at__isnull=True, processed_at__isnull=False)

    def unprocessed(self) -> ActivityQuerySet:
        """Received activities whose side effects are still to be applied
        (not those the inbox task gave up: :meth:`Activity.give_up`)."""
        return self.filter(processed_at__isnull=True, given_up_at__isnull=True)

    def given_up(self) -> ActivityQuerySet:
        """Received activities the inbox task could not apply."""
        return self.filter(given_up_at__isnull=False)

    def reactions_to(self, object_iri: str, activity_type: str) -> ActivityQuerySet:
        """Standing Likes, Announces... of ``object_iri``, local or remote."""
        return self.standing().filter(type=activity_type, object_iri=object_iri)


class ActivityManager(models.Manager.from_queryset(ActivityQuerySet)):  # type: ignore[misc]
    """The queryset's methods (a base class made by a call: the ``ignore``)."""

    def store(
        self,
        document: dict[str, Any],
        *,
        local: bool,
        actor_iri: str | None = None,
        published: datetime.datetime | None = None,
        activity_uuid: uuid.UUID | None = None,
        processed: bool = True,
        ignore_conflicts: bool = False,
    ) -> Activity:
        """Store an activity document: the one place its columns are derived.

        ``actor_iri`` is the authenticated actor of an incoming activity (the
        document's own ``actor`` is used otherwise); ``processed=False``
        stores a received activity whose side effects a task will apply.
        With ``ignore_conflicts``, an activity whose id is already stored is
        skipped (one ``INSERT … ON CONFLICT DO NOTHING``, no error, no read).
        """
        now = timezone.now()
        extra: dict[str, Any] = {}
        if activity_uuid is not None:
            extra["uuid"] = activity_uuid
        activity = self.model(
            iri=document["id"],
            type=clip(document.get("type") or "Create", TYPE_MAX_LENGTH),
            actor_iri=clip(actor_iri or iri_of(document.get("actor")), IRI_MAX_LENGTH),
            object_iri=clip(iri_of(_first(document.get("object"))), IRI_MAX_LENGTH),
            data=document,
            public=is_public(document),
            local=local,
            published=published or now,
            processed_at=now if processed else None,
            **extra,
        )
        if ignore_conflicts:
            # One INSERT … ON CONFLICT DO NOTHING, atomic by itself: what
            # bulk_create() runs, without the transaction it opens around
            # it (a BEGIN and a COMMIT more on the inbox's request path).
            fields = [f for f in self.model._meta.concrete_fields if not f.primary_key]
            self._insert(
                [activity], fields, on_conflict=OnConflict.IGNORE, using=self.db
            )
            activity._state.adding, activity._state.db = False, self.db
        else:
            activity.save(force_insert=True)
        return activity


def _first(value: Any) -> Any:
    """The first of a list of objects (a Flag names several), or the value."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


class Activity(ReceivedText, models.Model):
    """One activity: created here by a notification, or (later) received."""

    uuid = models.UUIDField(_("UUID"), default=uuid.uuid4, unique=True, editable=False)
    iri = IriField(
        _("IRI"),
        unique=True,
        help_text=_("The activity's id: where it can be fetched."),
    )
    type = models.CharField(_("type"), max_length=TYPE_MAX_LENGTH, db_index=True)
    actor_iri = IriField(_("actor IRI"), blank=True, db_index=True)
    object_iri = IriField(_("object IRI"), blank=True, db_index=True)
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
    processed_at = models.DateTimeField(
        _("processed at"),
        null=True,
        blank=True,
        help_text=_(
            "When its side effects were applied; empty while a received "
            "activity waits for the inbox task."
        ),
    )
    undone_at = models.DateTimeField(
        _("undone at"),
        null=True,
        blank=True,
        help_text=_("When its actor took it back with an Undo."),
    )
    processing_attempts = models.PositiveSmallIntegerField(
        _("failed attempts"),
        default=0,
        help_text=_("Times applying it raised an error (INBOX_MAX_ATTEMPTS)."),
    )
    processing_error = models.TextField(
        _("last error"),
        blank=True,
        help_text=_("The error of its last failed attempt, for the operator."),
    )
    given_up_at = models.DateTimeField(
        _("given up at"),
        null=True,
        blank=True,
        help_text=_(
            "When the inbox task stopped trying to apply it, so that its "
            "sender's later activities are not held behind it."
        ),
    )

    objects = ActivityManager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            # The outbox: an actor's public activities, newest first.
            models.Index(fields=["actor_iri", "public", "-id"], name="vox_act_outbox"),
            # The inbox task's queue: an actor's received activities, in order.
            models.Index(
                fields=["actor_iri", "id"],
                condition=Q(processed_at__isnull=True),
                name="vox_act_unprocessed",
            ),
        ]

    def __str__(self) -> str:
        name = self.data.get("name") if isinstance(self.data, dict) else None
        return f"{self.type}: {name}" if name else f"{self.type} {self.iri}"

    def to_ap(self) -> dict:
        """The JSON served to others: blind recipients (bto/bcc) removed."""
        return public_view(self.data)

    def text_field(self, field: str) -> str | None:
        """The embedded object's ``field`` first, then the activity's own."""
        return html.activity_field(self.data, field)

    def record_failure(self, error: BaseException, max_attempts: int) -> bool:
        """A failed attempt to apply it: count it, keep the error, and give
        it up at ``max_attempts``.  True if it was given up."""
        attempts = self.processing_attempts + 1
        self.processing_attempts = attempts
        self.processing_error = f"{type(error).__name__}: {error}"[:2000]
        if attempts >= max_attempts:
            self.given_up_at = timezone.now()
        type(self).objects.filter(pk=self.pk, processed_at__isnull=True).update(
            processing_attempts=attempts,
            processing_error=self.processing_error,
            given_up_at=self.given_up_at,
        )
        return self.given_up_at is not None

    def retry_processing(self) -> None:
        """Put a given-up activity back in its sender's queue (the admin)."""
        self.processing_attempts, self.given_up_at = 0, None
        type(self).objects.filter(pk=self.pk, processed_at__isnull=True).update(
            processing_attempts=0, given_up_at=None
        )

    def mark_undone(self) -> None:
        """Its actor took it back (Undo): keep the row, note when."""
        if self.undone_at is None:
            self.undone_at = timezone.now()
            type(self).objects.filter(pk=self.pk).update(undone_at=self.undone_at)


class InboxItemQuerySet(models.QuerySet["InboxItem"]):
    def for_owner(self, owner: models.Model) -> InboxItemQuerySet:
        """Items in the inbox of ``owner`` (any model instance) to show.

        What actors of blocked servers sent is left out; :meth:`all_of`
        has it too.
        """
        return self.all_of(owner).without_blocked_servers()

    def all_of(self, owner: models.Model) -> InboxItemQuerySet:
        """Every item in the inbox of ``owner``, hidden ones included.

        For removing an inbox (a deleted owner's goes with it): items from
        a blocked server are only hidden, and come back if it is unblocked.
        """
        if owner is None or owner.pk is None:
            return self.none()
        return self.filter(
            owner_type=ContentType.objects.get_for_model(owner),
            owner_id=str(owner.pk),
        )

    def without_blocked_servers(self) -> InboxItemQuerySet:
        """Hide what actors of servers the admin blocked sent (DomainBlock)."""
        hidden = Q()
        for origin in DomainBlock.objects.origins():
            hidden |= Q(activity__actor_iri__startswith=origin)
        return self.exclude(hidden) if hidden else self

    def unread(self) -> InboxItemQuerySet:
        return self.filter(read_at__isnull=True)

    def read(self) -> InboxItemQuerySet:
        return self.filter(read_at__isnull=False)

    def mark_read(self) -> int:
        """Mark every unread item in this queryset read now; returns the count."""
        return self.filter(read_at__isnull=True).update(read_at=timezone.now())

    def newest_first(self) -> InboxItemQuerySet:
        return self.order_by("-id")


#: Inbox items written per statement by :meth:`InboxItemManager.fill_keys`.
FILL_CHUNK = 20_000


def _key_chunks(keys: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of at most ``size`` keys: integers as they are, anything else as text.

    An integer's JSON text is its ``str()``, which is how ``owner_id`` (a
    text column) holds it.
    """
    chunk: list[Any] = []
    for key in keys:
        chunk.append(key if type(key) is int else str(key))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class InboxItemManager(models.Manager.from_queryset(InboxItemQuerySet)):  # type: ignore[misc]
    """The queryset's methods (a base class made by a call: the ``ignore``)."""

    def fill(self, activity: Activity, owners: Iterable[Any]) -> int:
        """Put ``activity`` in the inbox of each distinct owner; how many.

        ``owners`` are model instances, or stand-ins with ``model`` and
        ``pk`` (:class:`~vox_activity.registry.ActorRef`, so a fan-out to
        10,000 users need not load them).  See :meth:`fill_by_model`.
        """
        by_model: dict[type[models.Model], list[Any]] = {}
        for owner in owners:
            model = owner.__class__ if isinstance(owner, models.Model) else owner.model
            by_model.setdefault(model, []).append(owner.pk)
        return self.fill_by_model(activity, by_model)

    def fill_by_model(
        self, activity: Activity, keys: Mapping[type[models.Model], Iterable[Any]]
    ) -> int:
        """Put ``activity`` in the inboxes of ``{model: [primary key, ...]}``.

        For an activity that has no inbox item yet (stored in this
        transaction).  The keys are made distinct here, per owner type (two
        proxies of one model are one type), and written by :meth:`fill_keys`,
        one statement per owner type and chunk: no model instance per row
        (building 10,000 of them for ``bulk_create`` cost more than the
        insert itself, about 0.8 s against 0.1 s).  Returns the rows written.
        """
        by_type: dict[int, dict[str, None]] = {}
        for model, pks in keys.items():
            owner_type = ContentType.objects.get_for_model(model)  # cached per model
            by_type.setdefault(owner_type.pk, {}).update(dict.fromkeys(map(str, pks)))
        return sum(
            self.fill_keys(activity, owner_type_id, owner_ids, distinct=True)
            for owner_type_id, owner_ids in by_type.items()
        )

    def fill_keys(
        self,
        activity: Activity,
        owner_type_id: int,
        owner_ids: Iterable[Any],
        *,
        distinct: bool = False,
    ) -> int:
        """Put ``activity`` in the inboxes of ``owner_ids`` of one model; how many.

        For fan-outs of any size: the ids are streamed to the database in
        chunks of :data:`FILL_CHUNK`, one statement each.  On SQLite and
        PostgreSQL a chunk is one JSON array that the database splits
        (``INSERT … SELECT`` from ``json_each`` / ``json_array_elements_text``):
        no Python tuple or array literal per row, and JSON is made by the C
        encoder.  Other databases get an ``executemany``.

        An owner who already has the item (a duplicate id, in this chunk or
        an earlier one) is skipped by the database (``INSERT OR IGNORE`` /
        ``ON CONFLICT DO NOTHING``) rather than remembered here, so memory
        stays flat however many owners there are.  With ``distinct`` the
        caller promises that the ids are distinct and that ``activity`` has
        no inbox item yet (it was stored in this transaction, as
        :func:`~vox_activity.outgoing.publish.commit_publication` does): the
        rows are then written with a plain ``INSERT``, which on PostgreSQL
        spares the speculative insertion ``ON CONFLICT`` needs per row
        (100,000 rows: 0.72-0.78 s against 1.0-1.26 s, measured).  A broken
        promise raises ``IntegrityError`` from the unique constraint: nothing
        is ever doubled.  Returns the rows written.
        """
        connection = connections[self.db]
        meta = self.model._meta
        names = ("owner_type", "owner_id", "activity", "created")
        fields = [
            cast("models.Field[Any, Any]", meta.get_field(name)) for name in names
        ]
        quote = connection.ops.quote_name
        conflict = None if distinct else OnConflict.IGNORE
        head = connection.ops.insert_statement(on_conflict=conflict)
        tail = connection.ops.on_conflict_suffix_sql(fields, conflict, None, None)
        columns = ", ".join(quote(field.column) for field in fields)
        table = quote(meta.db_table)
        created = fields[-1].get_db_prep_save(timezone.now(), connection)
        source = {
            "postgresql": "json_array_elements_text(%s::json) AS owner(value)",
            "sqlite": "json_each(%s)",
        }.get(connection.vendor)
        if source is not None:
            sql = (
                f"{head} {table} ({columns}) "  # noqa: S608 - names from the model
                f"SELECT %s, value, %s, %s FROM {source} {tail}"
            )

            def write(cursor: Any, keys: list[Any]) -> int:
                cursor.execute(
                    sql, [owner_type_id, activity.pk, created, json.dumps(keys)]
                )
                return max(cursor.rowcount, 0)

        else:
            sql = f"{head} {table} ({columns}) VALUES (%s, %s, %s, %s) {tail}"

            def write(cursor: Any, keys: list[Any]) -> int:
                cursor.executemany(
                    sql,
                    [(owner_type_id, str(key), activity.pk, created) for key in keys],
                )
                return max(cursor.rowcount, 0)

        written = 0
        with connection.cursor() as cursor:
            for chunk in _key_chunks(owner_ids, FILL_CHUNK):
                written += write(cursor, chunk)
        return written


class InboxItem(ReceivedText, models.Model):
    """An activity in a local actor's inbox, with its read state.

    This is the fan-out table: one notification to 100,000 users writes
    100,000 rows in one transaction, so every index and check per row
    counts.  Its two foreign keys are therefore kept by Django, not by a
    database constraint (``db_constraint=False``): on PostgreSQL each
    constrained row queues a referential check that runs at COMMIT, and the
    two checks cost more than the insert itself (measured: 100,000 rows,
    1.4-1.5 s with the activity's constraint, 0.8 s without; 0.8 s more at
    COMMIT with both).  Integrity does not depend on them: every row is
    written by :meth:`InboxItemManager.fill_keys` (which
    :meth:`~InboxItemManager.fill` and :meth:`~InboxItemManager.fill_by_model`
    go through) in the transaction that stores its activity, and rows go
    with their activity or content type through Django's
    ``on_delete=CASCADE`` (the owner itself, a generic relation, never had a
    constraint).  Neither key has an index of its own: the unique constraint
    starts with the activity (a fan-out appends to its right edge), and the
    owner's index starts with the owner type.
    """

    owner_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        verbose_name=_("owner type"),
        db_constraint=False,
        db_index=False,
    )
    owner_id = models.CharField(_("owner id"), max_length=255)
    owner = GenericForeignKey("owner_type", "owner_id")
    activity = models.ForeignKey(
        Activity,
        on_delete=models.CASCADE,
        related_name="inbox_items",
        verbose_name=_("activity"),
        db_constraint=False,
        db_index=False,
    )
    created = models.DateTimeField(_("received"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = InboxItemManager()

    class Meta:
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "owner_type", "owner_id"],
                name="vox_inbox_unique_activity_owner",
            )
        ]
        indexes = [
            # One index per inbox serves its pages and its unread count: keyset
            # paging reads (owner, id) newest first, and read_at, last in the
            # key, lets an unread count read the index alone (an index-only
            # scan; SQLite's covering index) and "mark all read" find its
            # rows in it, without a second B-tree on every row a fan-out
            # writes.  A trailing key column rather than PostgreSQL's
            # INCLUDE: the same on every database, and no models.W040
            # warning on the others.
            models.Index(
                fields=["owner_type", "owner_id", "-id", "read_at"],
                name="vox_inbox_owner",
            ),
        ]

    def __str__(self) -> str:
        state = "read" if self.read_at else "unread"
        return f"{self.activity} → {self.owner_type.model} {self.owner_id} ({state})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def text_field(self, field: str) -> str | None:
        return self.activity.text_field(field)


class ReportManager(ActivityManager):
    """Only the reports: Flags received from other servers."""

    def get_queryset(self) -> ActivityQuerySet:
        return super().get_queryset().filter(type="Flag", local=False)


class Report(Activity):
    """A ``Flag`` received from another server: a moderation report."""

    objects: ClassVar[ReportManager] = ReportManager()

    class Meta:
        proxy = True
        verbose_name = _("report")
        verbose_name_plural = _("reports")
