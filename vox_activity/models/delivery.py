"""Deliveries: one row per (activity, remote inbox), the source of truth.

A row is written in the same transaction as its activity, before any attempt,
and every attempt's outcome is recorded on it.  The rows are the queue; tasks
only say "work on these now".

Claims.  A pending row is *held* while its ``claim_token`` is set and its
``next_attempt_at`` (the lease) lies ahead: by a task waiting in the queue
(rows written by a publication, or taken by the sweep), or by a worker
attempting it.  Whoever holds a row writes its outcome, and only while it
still holds it: every outcome write is conditional on the token.  A lease
that runs out (a worker killed mid-attempt, a task a queue lost) makes the
row due again, and the next batch claim or the sweep takes it over with a
new token, so nothing waits for an operator and no outcome overwrites a
newer one.

Claims are single statements: ``UPDATE … RETURNING`` where the database has
it (PostgreSQL, SQLite >= 3.35), with ``FOR UPDATE SKIP LOCKED`` where it has
that too (PostgreSQL), so that concurrent workers take disjoint rows without
waiting for each other; elsewhere an ``UPDATE`` followed by a ``SELECT`` of
the new token, which is just as safe.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connections, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.models.activity import Activity
from vox_activity.models.fields import IriField

__all__ = [
    "ATTEMPT_PREFIX",
    "QUEUED_END",
    "QUEUED_PREFIX",
    "Claimed",
    "Delivery",
    "DeliveryManager",
    "DeliveryQuerySet",
    "DeliverySweep",
    "DeliverySweepManager",
    "DomainHealth",
    "new_token",
]


#: Tokens of rows held for a task in the queue start with "q" (hex digits
#: never do); tokens of attempts in progress with "a".
QUEUED_PREFIX, QUEUED_END = "q", "r"
ATTEMPT_PREFIX = "a"


def new_token(prefix: str = "") -> str:
    """A fresh claim token: ``prefix`` and hex digits, 32 characters."""
    return prefix + uuid.uuid4().hex[len(prefix) :]


@dataclass(frozen=True)
class Claimed:
    """A row taken for one attempt: what the attempt needs, no model instance."""

    pk: int
    activity_id: int
    inbox: str
    domain: str
    attempts: int


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def pending(self) -> DeliveryQuerySet:
        return self.filter(state=Delivery.State.PENDING)

    def due(self, now: datetime | None = None) -> DeliveryQuerySet:
        """Pending rows whose next attempt (or whose lease's end) has come."""
        return self.pending().filter(next_attempt_at__lte=now or timezone.now())

    def queued(self) -> DeliveryQuerySet:
        """Pending rows held for a task in the queue (``q…`` tokens)."""
        return self.pending().filter(
            claim_token__gte=QUEUED_PREFIX, claim_token__lt=QUEUED_END
        )

    def claimable(self, now: datetime | None = None) -> DeliveryQuerySet:
        """Rows an attempt may take: due, or waiting in the queue."""
        now = now or timezone.now()
        return self.pending().filter(
            Q(next_attempt_at__lte=now)
            | Q(claim_token__gte=QUEUED_PREFIX, claim_token__lt=QUEUED_END)
        )

    def held(self, now: datetime | None = None) -> DeliveryQuerySet:
        """Pending rows a task or a worker holds: a token and a running lease."""
        return (
            self.pending()
            .exclude(claim_token="")
            .filter(next_attempt_at__gt=now or timezone.now())
        )

    def not_held(self, now: datetime | None = None) -> DeliveryQuerySet:
        """Everything :meth:`held` is not."""
        now = now or timezone.now()
        return self.exclude(
            Q(state=Delivery.State.PENDING)
            & ~Q(claim_token="")
            & Q(next_attempt_at__gt=now)
        )


class DeliveryManager(models.Manager.from_queryset(DeliveryQuerySet)):  # type: ignore[misc]
    def claim(
        self,
        candidates: DeliveryQuerySet,
        *,
        token: str,
        lease_until: datetime,
        limit: int,
        attempt: bool,
        now: datetime | None = None,
    ) -> list[Claimed]:
        """Take up to ``limit`` of ``candidates`` under ``token`` until ``lease_until``.

        One statement (two without ``RETURNING``).  ``candidates`` says which
        rows may be taken and in which order; only pending rows ever are.
        With ``attempt``, the claim counts an attempt (``attempts + 1``,
        ``last_attempt_at = now``).  Returns the rows taken.
        """
        if limit <= 0:
            return []
        now = now or timezone.now()
        connection = connections[self.db]
        quote = connection.ops.quote_name
        meta = self.model._meta
        table = quote(meta.db_table)

        def column(name: str) -> str:
            return quote(_field(meta, name).column)

        def prep(name: str, value: Any) -> Any:
            return _field(meta, name).get_db_prep_value(value, connection)

        assignments = [
            f"{column('claim_token')} = %s",
            f"{column('next_attempt_at')} = %s",
        ]
        params: list[Any] = [token, prep("next_attempt_at", lease_until)]
        if attempt:
            attempts = column("attempts")
            assignments += [
                f"{attempts} = {attempts} + 1",
                f"{column('last_attempt_at')} = %s",
            ]
            params.append(prep("last_attempt_at", now))
        returned = ", ".join(
            column(name) for name in ("id", "activity", "inbox", "domain", "attempts")
        )
        returning = _supports_update_returning(connection)
        skip_locked = connection.features.has_select_for_update_skip_locked
        # One statement is atomic by itself; FOR UPDATE needs a transaction.
        atomic = (
            transaction.atomic(using=self.db)
            if skip_locked or not returning
            else contextlib.nullcontext()
        )
        with atomic:
            subquery = candidates.pending().order_by("next_attempt_at", "pk")
            if skip_locked:
                subquery = subquery.select_for_update(skip_locked=True)
            ids = subquery.values("pk")[:limit]
            sub_sql, sub_params = ids.query.get_compiler(self.db).as_sql()
            state = column("state")
            if connection.vendor == "postgresql":
                # A materialised CTE: in "id IN (SELECT … LIMIT n FOR UPDATE
                # SKIP LOCKED)" PostgreSQL may run the subquery more than once
                # and update more than n rows.
                sql = (
                    f"WITH vox_claimable AS MATERIALIZED ({sub_sql}) "  # noqa: S608
                    f"UPDATE {table} SET {', '.join(assignments)} "
                    f"FROM vox_claimable WHERE {table}.{column('id')} = "
                    f"vox_claimable.{quote('pk')} AND {table}.{state} = %s"
                )
                params = [*sub_params, *params, Delivery.State.PENDING]
                returned = ", ".join(f"{table}.{name}" for name in returned.split(", "))
            else:
                if not returning:  # MySQL and friends: a derived table
                    sub_sql = f"SELECT * FROM ({sub_sql}) AS vox_claimable"  # noqa: S608
                sql = (
                    f"UPDATE {table} SET {', '.join(assignments)} "  # noqa: S608
                    f"WHERE {column('id')} IN ({sub_sql}) AND {state} = %s"
                )
                params += [*sub_params, Delivery.State.PENDING]
            with connection.cursor() as cursor:
                if returning:
                    cursor.execute(f"{sql} RETURNING {returned}", params)
                    rows = cursor.fetchall()
                else:
                    cursor.execute(sql, params)
                    cursor.execute(
                        f"SELECT {returned} FROM {table} "  # noqa: S608
                        f"WHERE {column('claim_token')} = %s",
                        [token],
                    )
                    rows = cursor.fetchall()
        return [Claimed(*row) for row in rows]

    def renew(self, token: str, lease_until: datetime) -> set[int]:
        """Extend the lease of the pending rows still held under ``token``.

        Returns their ids: a row missing from the answer was taken over by
        someone else (its lease had run out) and must not be attempted.
        """
        rows = self.filter(claim_token=token, state=Delivery.State.PENDING)
        ids = set(rows.values_list("pk", flat=True))
        if ids:
            self.filter(pk__in=ids, claim_token=token).update(
                next_attempt_at=lease_until
            )
        return ids


def _field(meta: Any, name: str) -> models.Field[Any, Any]:
    """A concrete field of a model (for raw SQL: its column, its adaptation)."""
    found = meta.get_field(name)
    assert isinstance(found, models.Field), name
    return found


def _supports_update_returning(connection: Any) -> bool:
    """``UPDATE … RETURNING``: PostgreSQL, SQLite >= 3.35 (not MySQL/MariaDB)."""
    if connection.vendor == "postgresql":
        return True
    if connection.vendor == "sqlite":
        return sqlite3.sqlite_version_info >= (3, 35)
    return False


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
    next_attempt_at = models.DateTimeField(
        _("next attempt"),
        default=timezone.now,
        help_text=_(
            "When the row is due; while it is held (queued or being attempted), "
            "the end of the hold."
        ),
    )
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True)
    last_error = models.TextField(_("last error"), blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    claim_token = models.CharField(
        _("claim"),
        max_length=32,
        blank=True,
        default="",
        help_text=_("Who holds the row (a queued task or a worker); empty if free."),
    )

    objects = DeliveryManager()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "inbox"], name="vox_delivery_unique_inbox"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="vox_delivery_due"),
            # Only held rows have a token: the index stays small.
            models.Index(
                fields=["claim_token"],
                condition=~Q(claim_token=""),
                name="vox_delivery_claimed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity.type} → {self.inbox} ({self.state})"


class DeliverySweepManager(models.Manager["DeliverySweep"]):
    #: The row of the sweep chain, and the row of the pending wake-up task.
    NAME = "deliveries"
    WAKEUP = "wakeup"

    def take_over(
        self,
        token: str,
        due_at: datetime,
        stale_before: datetime,
        name: str = NAME,
    ) -> bool:
        """Give row ``name`` to ``token`` unless a live holder has it.

        A holder is live while the row has a token and its ``due_at`` is not
        older than ``stale_before``.  One statement: an upsert where the
        database has one (SQLite >= 3.24, PostgreSQL), else UPDATE, INSERT.
        """
        connection = connections[self.db]
        meta = self.model._meta
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        column, tok, due = (
            quote(_field(meta, f).column) for f in ("name", "token", "due_at")
        )
        prep_due = _field(meta, "due_at").get_db_prep_value
        if connection.vendor in ("sqlite", "postgresql"):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} ({column}, {tok}, {due}) "  # noqa: S608
                    f"VALUES (%s, %s, %s) "
                    f"ON CONFLICT ({column}) DO UPDATE SET {tok} = excluded.{tok}, "
                    f"{due} = excluded.{due} "
                    f"WHERE {table}.{tok} = '' OR {table}.{due} IS NULL "
                    f"OR {table}.{due} < %s",
                    [
                        name,
                        token,
                        prep_due(due_at, connection),
                        prep_due(stale_before, connection),
                    ],
                )
                return cursor.rowcount == 1
        dead = Q(token="") | Q(due_at__isnull=True) | Q(due_at__lt=stale_before)
        if self.filter(dead, name=name).update(token=token, due_at=due_at):
            return True
        if self.filter(name=name).exists():
            return False
        try:
            with transaction.atomic(using=self.db):
                self.create(name=name, token=token, due_at=due_at)
        except IntegrityError:  # another process created it first
            return False
        return True

    def renew(self, token: str, due_at: datetime) -> bool:
        """Is ``token`` still the chain?  If so, its next run is ``due_at``."""
        return bool(self.filter(name=self.NAME, token=token).update(due_at=due_at))

    def release(self, token: str) -> bool:
        """End the chain ``token`` if no delivery is pending and no received
        activity waits for the inbox task (checked in the same statement, so
        work committing meanwhile either keeps the chain or finds it ended
        and starts another)."""
        pending = Delivery.objects.using(self.db).filter(state=Delivery.State.PENDING)
        waiting = Activity.objects.using(self.db).unprocessed().filter(local=False)
        return bool(
            self.filter(name=self.NAME, token=token)
            .filter(~models.Exists(pending), ~models.Exists(waiting))
            .update(token="", due_at=None)
        )

    def raise_wakeup(self, now: datetime, stale_before: datetime) -> bool:
        """Note that a wake-up task is pending, unless one already is.

        True: the caller must enqueue it.  A wake-up noted before
        ``stale_before`` and never started counts as lost.
        """
        return self.take_over("pending", now, stale_before, name=self.WAKEUP)

    def lower_wakeup(self) -> None:
        """A wake-up task started: the next work needs a new one."""
        self.filter(name=self.WAKEUP).exclude(token="").update(token="", due_at=None)


class DeliverySweep(models.Model):
    """Coordination rows of the delivery workers, one per ``name``.

    ``deliveries``: the one self-rescheduling sweep chain (see
    :mod:`vox_activity.outgoing.sweep`): the token of the chain that may
    run, and when it runs next.  ``wakeup``: whether a task that will claim
    queued deliveries is already waiting in the queue, and since when, so
    that many small publications share one task instead of one each.
    """

    name = models.CharField(_("name"), max_length=64, unique=True)
    token = models.CharField(_("token"), max_length=32, blank=True)
    due_at = models.DateTimeField(_("next run"), null=True, blank=True)

    objects = DeliverySweepManager()

    class Meta:
        verbose_name = _("delivery sweep")
        verbose_name_plural = _("delivery sweeps")

    def __str__(self) -> str:
        return f"{self.name} ({'running' if self.token else 'idle'})"


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
    last_success_at = models.DateTimeField(
        _("last success"),
        null=True,
        blank=True,
        help_text=_("The success that last cleared its failures."),
    )
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
