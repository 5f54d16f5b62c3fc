"""Delivery of activities to remote inboxes: plan, queue, claim, attempt, record.

Planning happens inside the publishing transaction
(:func:`schedule_remote_delivery`): every non-local address becomes inboxes —
a remote actor's, or those of a local actor's remote followers — using the
shared inbox whenever a server offers one, so each server gets one POST.  The
rows are written by one ``INSERT … SELECT`` from the remote actor and follow
tables, de-duplicated by inbox in SQL, before any attempt.

The rows are the queue (see :mod:`vox_activity.models.delivery`): a row
written by a publication is *held* for the queue (a ``q…`` claim token and a
lease), so nothing queues it twice.  After the transaction commits, a task is
woken (:func:`wake_workers`) unless one is already waiting in the queue.  A
task (:func:`run_batch`) claims up to :func:`batch_size` rows for an attempt
in one statement (an ``a…`` token): the rows it was given, topped up with any
other claimable rows (queued ones, retries whose time has come, claims that
ran out), oldest first; if the batch is full it wakes the next worker; it
attempts them one after another over the process's keep-alive connections,
and records the outcomes together, each write conditional on still holding
the claim.  So the number of tasks follows the number of batches, not of
publications.  Retries wait on their row; the sweep
(:mod:`vox_activity.outgoing.sweep`) or the next batch takes them when due.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import router, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils import timezone

from vox_activity.conf import get_setting
from vox_activity.models import (
    Activity,
    Delivery,
    DeliverySweep,
    DomainHealth,
    RemoteActor,
)
from vox_activity.models.delivery import (
    ATTEMPT_PREFIX,
    QUEUED_PREFIX,
    Claimed,
    new_token,
)
from vox_activity.models.remote import blocked_domains, domain_of
from vox_activity.net import http
from vox_activity.net.remote_actors import ensure_actors
from vox_activity.net.signing import signed_request
from vox_activity.net.transactions import in_transaction
from vox_activity.outgoing import inboxes
from vox_activity.protocol.retry_policy import Outcome, classify, next_attempt_delay
from vox_activity.protocol.vocabulary import ACTIVITY_JSON, PUBLIC
from vox_activity.registry import actor_for_path, actor_iri, split_endpoint
from vox_activity.site import local_path

logger = logging.getLogger(__name__)

__all__ = [
    "PERMANENT_HTTP_ERRORS",
    "Attempt",
    "Batch",
    "RetryNow",
    "attempt_batch",
    "attempt_delivery",
    "batch_size",
    "claim_batch",
    "claim_timeout",
    "enqueue_due",
    "prepare_remote_delivery",
    "queue_due",
    "record",
    "record_domain_failure",
    "record_domain_success",
    "remote_actor_addresses",
    "retry_now",
    "run_batch",
    "run_due",
    "schedule_remote_delivery",
    "wake_workers",
]

#: Errors that no retry can fix: a refused or malformed address, a redirect
#: loop, or an answer too large to read (the POST itself may have landed).
PERMANENT_HTTP_ERRORS = (
    http.BlockedAddressError,
    http.InvalidURLError,
    http.TooManyRedirectsError,
    http.ResponseTooLargeError,
)

#: Outcomes already attempted are written at least this often (seconds), so
#: that a worker killed in a slow batch leaves few sent rows unrecorded.
FLUSH_SECONDS = 2.0
#: How long a wake-up task may wait in the queue before another is enqueued
#: anyway (it may have been lost with its queue).
WAKEUP_STALE = timedelta(seconds=10)
#: Seconds a task keeps claiming batches when the backend runs it inline (it
#: cannot hand the rest to another worker).
INLINE_TASK_SECONDS = 60.0
#: Direct remote addresses per planning statement (the database's parameter
#: limits; followers are selected in SQL and need none).
ADDRESS_CHUNK = 2000


def batch_size() -> int:
    return max(1, int(get_setting("DELIVERY_BATCH_SIZE")))


def claim_timeout() -> timedelta:
    """How long a claim holds rows: the setting, at least 2 x the HTTP total."""
    seconds = max(
        float(get_setting("DELIVERY_CLAIM_TIMEOUT")),
        2 * float(get_setting("HTTP_TOTAL_TIMEOUT")),
    )
    return timedelta(seconds=seconds)


def queue_token() -> str:
    """A token holding rows for a task in the queue."""
    return new_token(QUEUED_PREFIX)


def attempt_token() -> str:
    """A token holding rows for an attempt in progress."""
    return new_token(ATTEMPT_PREFIX)


# --- planning ----------------------------------------------------------------


def remote_actor_addresses(addresses: Iterable[str]) -> list[str]:
    """Addresses that may be remote actors (not Public, not on this site)."""
    return [a for a in addresses if a != PUBLIC and local_path(a) is None]


def prepare_remote_delivery(
    addresses: Sequence[str], *, fetch: bool = True
) -> dict[str, RemoteActor]:
    """Fetch unknown remote actors *before* the publishing transaction.

    Network I/O must not hold a database transaction open; afterwards
    planning only reads the cache.  With ``fetch=False`` (a caller already
    inside a transaction) nothing is fetched: actors not cached are left out.
    """
    candidates = remote_actor_addresses(addresses)
    if not candidates:
        return {}
    if fetch:
        return ensure_actors(candidates)
    ttl = get_setting("REMOTE_ACTOR_TTL")
    cached = RemoteActor.objects.filter(iri__in=candidates, gone_at__isnull=True)
    return {actor.iri: actor for actor in cached if not actor.is_stale(ttl)}


def _split(addresses: Sequence[str]) -> tuple[list[str], list[str]]:
    """(remote actor IRIs, local actors whose followers are addressed)."""
    remote_iris: dict[str, None] = {}
    follower_owners: dict[str, None] = {}
    for address in addresses:
        if address == PUBLIC:
            continue
        path = local_path(address)
        if path is None:
            remote_iris[address] = None
            continue
        head, endpoint = split_endpoint(path)
        owner = actor_for_path(head) if endpoint == "followers" else None
        if owner is None:
            logger.warning("Not delivering to %s: no such local collection.", address)
            continue
        iri = actor_iri(owner)
        if iri:
            follower_owners[iri] = None
    return list(remote_iris), list(follower_owners)


def schedule_remote_delivery(
    activity: Activity,
    addresses: Sequence[str],
    known: dict[str, RemoteActor] | None = None,
    extra_inboxes: Sequence[str] = (),
) -> int:
    """Write the Delivery rows of ``activity``; enqueue them after commit.

    One ``INSERT … SELECT`` per :data:`ADDRESS_CHUNK` direct addresses (the
    followers of every addressed collection go with the first), whatever
    the number of followers; servers marked unavailable get ``failed`` rows
    at once (one ``UPDATE``).  Actors that block the sender or that the
    sender blocks, actors whose accounts are gone, and servers the admin
    blocked are left out.  ``known`` (what :func:`prepare_remote_delivery`
    fetched) maps addresses to the actors they named (an address that
    redirected to an actor's id, say); ``extra_inboxes`` are inbox URLs to
    deliver to as well (a deleted actor's last followers').  Returns the
    number of rows written.
    """
    remote_iris, follower_owners = _split(addresses)
    if not remote_iris and not follower_owners and not extra_inboxes:
        return 0
    known = known or {}
    _warn_about_unknown(remote_iris, known)
    now = timezone.now()
    token = queue_token()
    lease_until = now + claim_timeout()
    written = 0
    chunks = [
        remote_iris[start : start + ADDRESS_CHUNK]
        for start in range(0, len(remote_iris), ADDRESS_CHUNK)
    ] or [[]]
    if remote_iris or follower_owners:
        for number, chunk in enumerate(chunks):
            candidates = inboxes.candidates(
                chunk,
                follower_owners if number == 0 else [],
                sender_iri=activity.actor_iri,
                actor_ids=[known[iri].pk for iri in chunk if iri in known],
            )
            written += inboxes.insert_deliveries(
                activity.pk, candidates, token=token, lease_until=lease_until, now=now
            )
    if extra_inboxes:
        written += _insert_extra(activity.pk, extra_inboxes, token, lease_until, now)
    if not written:
        return 0
    _fail_unavailable(activity.pk, token, now)
    ids = list(
        Delivery.objects.filter(activity_id=activity.pk, claim_token=token)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        transaction.on_commit(
            lambda: wake_workers(ids), using=router.db_for_write(Delivery)
        )
    return written


def _insert_extra(
    activity_id: int,
    urls: Sequence[str],
    token: str,
    lease_until: datetime,
    now: datetime,
) -> int:
    """Rows for inbox URLs given as such (few); blocked servers left out."""
    blocked = blocked_domains()
    rows = [
        Delivery(
            activity_id=activity_id,
            inbox=url,
            domain=domain_of(url),
            claim_token=token,
            next_attempt_at=lease_until,
            created=now,
        )
        for url in dict.fromkeys(urls)
        if domain_of(url) and domain_of(url) not in blocked
    ]
    if not rows:
        return 0
    before = Delivery.objects.filter(activity_id=activity_id, claim_token=token).count()
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    after = Delivery.objects.filter(activity_id=activity_id, claim_token=token).count()
    return after - before


def _warn_about_unknown(iris: list[str], known: dict[str, RemoteActor]) -> None:
    unknown = [iri for iri in iris if iri not in known]
    found: set[str] = set()
    for start in range(0, len(unknown), ADDRESS_CHUNK):
        chunk = unknown[start : start + ADDRESS_CHUNK]
        found.update(
            RemoteActor.objects.filter(iri__in=chunk).values_list("iri", flat=True)
        )
    for iri in sorted(set(unknown) - found):
        logger.warning("Not delivering to %s: its actor could not be fetched.", iri)


def _fail_unavailable(activity_id: int, token: str, now: datetime) -> int:
    """New rows to servers marked unavailable: failed, not attempted."""
    unavailable = DomainHealth.objects.filter(unavailable_since__isnull=False).values(
        "domain"
    )
    return Delivery.objects.filter(
        activity_id=activity_id, claim_token=token, domain__in=unavailable
    ).update(
        state=Delivery.State.FAILED,
        claim_token="",
        next_attempt_at=now,
        last_error=Concat(
            Value("Not attempted: "),
            F("domain"),
            Value(
                " is marked unavailable (it failed on "
                f"{get_setting('DOMAIN_FAILURE_DAYS')} different days without a "
                "success; see its remote server page). Reset it in the admin to "
                "try again."
            ),
        ),
    )


def wake_workers(ids: Sequence[int] = ()) -> bool:
    """Make sure a task will claim the queued deliveries; True if one was enqueued.

    One such task waits in the queue at a time: while one is waiting, it
    will take these rows too (a batch tops itself up with queued rows), so
    many small publications share a task instead of each paying for one.
    ``ids`` (up to a batch of them) go with the task, to be claimed first.
    (A wake-up noted but not started within :data:`WAKEUP_STALE` counts as
    lost; a task that claims a full batch wakes the next one itself.)
    """
    from vox_activity.outgoing.tasks import enqueue_deliveries

    now = timezone.now()
    if not DeliverySweep.objects.raise_wakeup(now, now - WAKEUP_STALE):
        return False
    enqueue_deliveries(list(ids[: batch_size()]))
    return True


def queue_due(limit: int = 1000, now: datetime | None = None) -> list[int]:
    """Hold up to ``limit`` due rows for the queue and enqueue them.

    Due rows: retries whose time has come, and rows whose claim ran out (a
    worker that died, a task the queue lost).  Rows held by a queued task
    or an attempt are not due, so nothing is enqueued twice.  Returns the
    ids enqueued.
    """
    now = now or timezone.now()
    rows = Delivery.objects.claim(
        Delivery.objects.due(now),
        token=queue_token(),
        lease_until=now + claim_timeout(),
        limit=limit,
        attempt=False,
        now=now,
    )
    ids = [row.pk for row in rows]
    if ids:
        _after_commit(lambda: wake_workers(ids))
    return ids


def enqueue_due(limit: int = 1000) -> int:
    """:func:`queue_due`; how many rows were enqueued (the sweep command)."""
    return len(queue_due(limit))


@dataclass(frozen=True)
class RetryNow:
    """What "Retry now" did: rows queued again, and rows left alone (held)."""

    queued: list[int]
    held: int


def retry_now(queryset: QuerySet[Delivery]) -> RetryNow:
    """Queue the undelivered rows of ``queryset`` for an attempt now.

    Rows that a queued task or an attempt in progress holds are left alone:
    starting a second attempt beside one in flight is how one activity
    reached a server three times.  ``attempts`` keeps counting (a given-up
    row that fails again is given up again, with the new error recorded).
    """
    now = timezone.now()
    token = queue_token()
    wanted = list(
        queryset.exclude(state=Delivery.State.DELIVERED).values_list("pk", flat=True)
    )
    chosen = Delivery.objects.filter(pk__in=wanted)
    held = chosen.held(now).count()
    chosen.not_held(now).exclude(state=Delivery.State.DELIVERED).update(
        state=Delivery.State.PENDING,
        claim_token=token,
        next_attempt_at=now + claim_timeout(),
    )
    ids = list(
        Delivery.objects.filter(claim_token=token)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        _after_commit(lambda: wake_workers(ids))
    return RetryNow(ids, held)


def _after_commit(enqueue: Callable[[], object]) -> None:
    """Enqueue once the rows' hold is committed: now, outside a transaction.

    (A task that ran before the commit would not see the rows held for it.)
    """
    if in_transaction():
        transaction.on_commit(enqueue, using=router.db_for_write(Delivery))
    else:
        enqueue()


# --- attempts ----------------------------------------------------------------


@dataclass
class Batch:
    """Rows claimed together for one round of attempts."""

    token: str
    lease_until: datetime
    rows: list[Claimed]


def claim_batch(ids: Sequence[int] = (), *, top_up: bool = True) -> Batch:
    """Claim ``ids``, then (``top_up``) other rows, for an attempt now.

    ``ids`` are a task's own rows.  The batch is topped up to
    :func:`batch_size` with any other claimable rows, oldest first: due ones
    (retries, claims that ran out) and ones waiting in the queue for another
    task, which then finds its rows taken and has nothing to do.  So under
    load a worker sends full batches whatever the size of each publication.
    One statement each.
    """
    now = timezone.now()
    token = attempt_token()
    lease_until = now + claim_timeout()
    limit = batch_size()
    rows: list[Claimed] = []
    if ids:
        rows = Delivery.objects.claim(
            Delivery.objects.filter(pk__in=list(ids)).claimable(now),
            token=token,
            lease_until=lease_until,
            limit=max(limit, len(ids)),
            attempt=True,
            now=now,
        )
    if top_up and len(rows) < limit:
        rows += Delivery.objects.claim(
            Delivery.objects.claimable(now),
            token=token,
            lease_until=lease_until,
            limit=limit - len(rows),
            attempt=True,
            now=now,
        )
    return Batch(token, lease_until, rows)


@dataclass
class Attempt:
    """One attempt's result, before it is written."""

    row: Claimed
    outcome: Outcome
    status: int | None = None
    error: str = ""
    retry_after: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def run_batch(ids: Sequence[int] = ()) -> dict[str, int]:
    """The task: claim a batch (see :func:`claim_batch`), attempt it, record it.

    A full batch may leave more behind: before attempting it the task wakes
    another worker for the rest (on a backend that runs tasks inline, which
    has no other worker, it goes on claiming batches itself, for up to
    :data:`INLINE_TASK_SECONDS`).  Returns how many rows ended in each
    state (``pending`` includes retries).
    """
    from vox_activity.outgoing.sweep import ensure_sweep
    from vox_activity.outgoing.tasks import can_defer

    DeliverySweep.objects.lower_wakeup()  # work from now on needs a new task
    inline = not can_defer()
    started = time.monotonic()
    states: dict[str, int] = {}
    for round_ in itertools.count():
        batch = claim_batch(ids if round_ == 0 else ())
        if not batch.rows:
            break
        if round_ == 0:
            ensure_sweep()  # whatever happens to this worker, someone will look
        full = len(batch.rows) >= batch_size()
        if full and not inline:
            wake_workers()
        for state, count in attempt_batch(batch).items():
            states[state] = states.get(state, 0) + count
        if not (full and inline):
            break
        if time.monotonic() - started > INLINE_TASK_SECONDS:
            wake_workers()
            break
    return states


def attempt_batch(batch: Batch) -> dict[str, int]:
    """Attempt every row of ``batch``; outcomes are written as they accumulate."""
    bodies = _bodies({row.activity_id for row in batch.rows})
    margin = float(get_setting("HTTP_TOTAL_TIMEOUT")) + 1.0
    ours = {row.pk for row in batch.rows}
    states: dict[str, int] = {}
    done: list[Attempt] = []
    flushed = time.monotonic()
    for row in batch.rows:
        if (batch.lease_until - timezone.now()).total_seconds() < margin:
            batch.lease_until = timezone.now() + claim_timeout()
            ours &= Delivery.objects.renew(batch.token, batch.lease_until)
        if row.pk not in ours:  # the lease ran out and another worker took it
            continue
        actor, body = bodies[row.activity_id]
        done.append(_attempt(row, actor, body))
        if time.monotonic() - flushed >= FLUSH_SECONDS:
            _count(states, record(batch.token, done))
            done, flushed = [], time.monotonic()
    _count(states, record(batch.token, done))
    return states


def _count(total: dict[str, int], states: Iterable[str]) -> None:
    for state in states:
        total[state] = total.get(state, 0) + 1


def attempt_delivery(delivery_id: int) -> str:
    """One attempt of one delivery, if it is free or queued; its new state.

    ``"skipped"`` when it is delivered, failed, or held by an attempt.  (The
    task of a single delivery, as enqueued by earlier versions.)
    """
    batch = claim_batch([delivery_id], top_up=False)
    if not batch.rows:
        return "skipped"
    from vox_activity.outgoing.sweep import ensure_sweep

    ensure_sweep()
    attempt_batch(batch)
    state = Delivery.objects.filter(pk=delivery_id).values_list("state", flat=True)
    return state.first() or "skipped"


def run_due(limit: int = 1000) -> int:
    """Attempt due rows here, a batch at a time, up to ``limit``; how many."""
    attempted = 0
    while attempted < limit:
        batch = claim_batch()
        if not batch.rows:
            break
        attempt_batch(batch)
        attempted += len(batch.rows)
    return attempted


def _bodies(activity_ids: set[int]) -> dict[int, tuple[str, bytes]]:
    """``{activity id: (actor IRI, JSON body)}``: one query, one dump each."""
    return {
        activity.pk: (
            activity.actor_iri,
            json.dumps(activity.to_ap(), ensure_ascii=False).encode("utf-8"),
        )
        for activity in Activity.objects.filter(pk__in=activity_ids).only(
            "pk", "actor_iri", "data"
        )
    }


def _attempt(row: Claimed, actor: str, body: bytes) -> Attempt:
    """POST ``body`` to the row's inbox (signed, double knock); the outcome."""
    headers = {"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON}
    try:
        response = signed_request(
            "POST", row.inbox, actor_iri=actor or None, headers=headers, data=body
        )
    except PERMANENT_HTTP_ERRORS as exc:  # retrying cannot help
        return Attempt(row, Outcome.FAILED, None, str(exc))
    except http.HttpError as exc:
        return Attempt(row, Outcome.RETRY, None, str(exc))
    status = response.status_code
    error = "" if 200 <= status < 300 else _describe(response)
    return Attempt(
        row, classify(status), status, error, response.headers.get("Retry-After")
    )


def _describe(response: http.Response) -> str:
    text = response.content[:300].decode("utf-8", "replace").strip()
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


# --- recording ---------------------------------------------------------------


def record(token: str, attempts: Sequence[Attempt]) -> list[str]:
    """Write the outcomes of ``attempts``, made under ``token``; their states.

    Every write is conditional on the row still being held under ``token``:
    a row whose lease ran out and was taken over keeps the newer attempt's
    outcome.  Delivered rows are written with one ``UPDATE`` per status, the
    others with one ``bulk_update``.  The servers' health is written only
    where it changes.
    """
    if not attempts:
        return []
    now = timezone.now()
    schedule = get_setting("DELIVERY_RETRY_DELAYS")
    max_attempts = get_setting("DELIVERY_MAX_ATTEMPTS")
    delivered: dict[int, list[int]] = {}
    others: list[Delivery] = []
    gone_inboxes: list[str] = []
    succeeded: set[str] = set()
    failed_domains: set[str] = set()
    states = []
    for attempt in attempts:
        row, error = attempt.row, attempt.error[:2000]
        if attempt.outcome is Outcome.DELIVERED:
            delivered.setdefault(attempt.status or 0, []).append(row.pk)
            succeeded.add(row.domain)
            states.append(Delivery.State.DELIVERED)
            continue
        update = Delivery(
            pk=row.pk,
            last_status=attempt.status,
            last_error=error,
            claim_token="",
            next_attempt_at=now,
        )
        if attempt.outcome is Outcome.RETRY:
            failed_domains.add(row.domain)
            if row.attempts >= max_attempts:
                update.state = Delivery.State.GIVEN_UP
                update.last_error = (
                    f"Given up after {row.attempts} attempts; last error: {error}"
                )[:2000]
            else:
                update.state = Delivery.State.PENDING
                update.next_attempt_at = now + next_attempt_delay(
                    row.attempts, attempt.retry_after, now, schedule=schedule
                )
        else:
            update.state = Delivery.State.FAILED
            if attempt.outcome is Outcome.GONE:
                gone_inboxes.append(row.inbox)
        states.append(update.state)
        others.append(update)
    held = Delivery.objects.filter(claim_token=token)
    for status, ids in delivered.items():
        held.filter(pk__in=ids).update(
            state=Delivery.State.DELIVERED,
            last_status=status or None,
            last_error="",
            delivered_at=now,
            next_attempt_at=now,
            claim_token="",
        )
    if others:
        held.bulk_update(
            others,
            ["state", "last_status", "last_error", "next_attempt_at", "claim_token"],
        )
    if gone_inboxes:
        RemoteActor.objects.filter(inbox__in=gone_inboxes, gone_at__isnull=True).update(
            gone_at=now
        )
    if succeeded:
        record_domain_success(succeeded, now)
    for domain in sorted(failed_domains - succeeded):
        record_domain_failure(domain)
    return [str(state) for state in states]


def record_domain_success(domains: Iterable[str], now: datetime | None = None) -> int:
    """Servers that answered: clear their failures, if they have any.

    One ``UPDATE`` that writes nothing for a server with a clean record, so
    a success costs no write in the common case.
    """
    domains = [domains] if isinstance(domains, str) else list(domains)
    return (
        DomainHealth.objects.filter(domain__in=domains)
        .filter(
            Q(failure_days__gt=0)
            | Q(last_failure_date__isnull=False)
            | Q(unavailable_since__isnull=False)
        )
        .update(
            failure_days=0,
            last_failure_date=None,  # a failure later today counts again
            unavailable_since=None,
            last_success_at=now or timezone.now(),
        )
    )


def record_domain_failure(domain: str) -> None:
    """Count a day with failures; too many days in a row → unavailable."""
    today = timezone.localdate()
    health, _ = DomainHealth.objects.get_or_create(domain=domain)
    if health.last_failure_date == today:
        return
    health.failure_days += 1
    health.last_failure_date = today
    if (
        health.failure_days >= get_setting("DOMAIN_FAILURE_DAYS")
        and health.unavailable_since is None
    ):
        health.unavailable_since = timezone.now()
        logger.warning(
            "%s failed on %d different days; marked unavailable.",
            domain,
            health.failure_days,
        )
    health.save()
