"""Delivery of activities to remote inboxes: plan, attempt, record, retry.

Planning happens inside the publishing transaction
(:func:`schedule_remote_delivery`): every non-local address becomes inboxes —
a remote actor's, or those of a local actor's remote followers — using the
shared inbox whenever a server offers one, so each server gets one POST.  One
:class:`~vox_activity.models.Delivery` row per inbox is written before any
attempt; tasks are enqueued only after the transaction commits.

Attempts (:func:`attempt_delivery`, run by a task) claim the row with one
conditional UPDATE, so a task that runs twice sends once; they record every
outcome on the row and schedule retries by :mod:`vox_activity.protocol.retry_policy`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from vox_activity.conf import get_setting
from vox_activity.models import (
    Activity,
    Block,
    Delivery,
    DomainBlock,
    DomainHealth,
    Follow,
    RemoteActor,
)
from vox_activity.models.remote import domain_of
from vox_activity.net import http
from vox_activity.net.remote_actors import ensure_actors
from vox_activity.net.signing import signed_request
from vox_activity.protocol.retry_policy import Outcome, classify, next_attempt_delay
from vox_activity.protocol.vocabulary import ACTIVITY_JSON, PUBLIC
from vox_activity.registry import actor_for_path, actor_iri, split_endpoint
from vox_activity.site import local_path

__all__ = [
    "ATTEMPT_LEASE",
    "PERMANENT_HTTP_ERRORS",
    "attempt_delivery",
    "claim",
    "enqueue_due",
    "enqueue_many",
    "plan_inboxes",
    "prepare_remote_delivery",
    "record",
    "record_domain_failure",
    "record_domain_success",
    "remote_actor_addresses",
    "schedule_remote_delivery",
]

logger = logging.getLogger(__name__)

#: Errors that no retry can fix: a refused or malformed address, a redirect
#: loop, or an answer too large to read (the POST itself may have landed).
PERMANENT_HTTP_ERRORS = (
    http.BlockedAddressError,
    http.InvalidURLError,
    http.TooManyRedirectsError,
    http.ResponseTooLargeError,
)

#: How long an attempt may take before the row counts as abandoned (a worker
#: that died) and is due again.  Longer than the HTTP total timeout.
ATTEMPT_LEASE = timedelta(minutes=5)


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
    inside a transaction) only fresh cached actors are used.
    """
    candidates = remote_actor_addresses(addresses)
    if not candidates:
        return {}
    if fetch:
        return ensure_actors(candidates)
    ttl = get_setting("REMOTE_ACTOR_TTL")
    cached = RemoteActor.objects.filter(iri__in=candidates, gone_at__isnull=True)
    return {actor.iri: actor for actor in cached if not actor.is_stale(ttl)}


def plan_inboxes(
    addresses: Sequence[str],
    sender_iri: str = "",
    known: dict[str, RemoteActor] | None = None,
) -> dict[str, str]:
    """``{inbox: domain}`` for ``addresses``, shared inboxes first, deduplicated.

    Actors that block the sender, and actors whose accounts are gone, are left
    out.
    """
    remote_iris = []
    follower_owners = []
    for address in addresses:
        if address == PUBLIC:
            continue
        path = local_path(address)
        if path is None:
            remote_iris.append(address)
            continue
        head, endpoint = split_endpoint(path)
        owner = actor_for_path(head) if endpoint == "followers" else None
        if owner is None:
            logger.warning("Not delivering to %s: no such local collection.", address)
            continue
        follower_owners.append(actor_iri(owner))

    actors: dict[int, RemoteActor] = {}
    known = known or {}
    for iri in remote_iris:
        if iri in known:
            actors[known[iri].pk] = known[iri]
    unknown = [iri for iri in remote_iris if iri not in known]
    if unknown:
        for actor in RemoteActor.objects.filter(iri__in=unknown):
            actors[actor.pk] = actor
        missing = set(unknown) - {a.iri for a in actors.values()}
        for iri in sorted(missing):
            logger.warning("Not delivering to %s: its actor could not be fetched.", iri)
    if follower_owners:
        follows = Follow.objects.filter(
            object_iri__in=follower_owners,
            state=Follow.State.ACCEPTED,
            remote_actor__isnull=False,
        ).select_related("remote_actor")
        for follow in follows:
            actors[follow.remote_actor.pk] = follow.remote_actor

    blockers = set()
    if sender_iri and actors:
        # Those who block the sender, and those the sender blocks.
        blockers = set(
            Block.objects.filter(object_iri=sender_iri).values_list(
                "actor_iri", flat=True
            )
        ) | set(
            Block.objects.filter(actor_iri=sender_iri).values_list(
                "object_iri", flat=True
            )
        )
    inboxes: dict[str, str] = {}
    for actor in actors.values():
        if actor.gone_at is None and actor.iri not in blockers:
            inboxes.setdefault(actor.delivery_inbox, domain_of(actor.delivery_inbox))
    return inboxes


def schedule_remote_delivery(
    activity: Activity,
    addresses: Sequence[str],
    known: dict[str, RemoteActor] | None = None,
    extra_inboxes: Sequence[str] = (),
) -> list:
    """Write the Delivery rows of ``activity`` and enqueue them after commit.

    ``known`` is what :func:`prepare_remote_delivery` returned;
    ``extra_inboxes`` are inbox URLs to deliver to as well.
    """
    inboxes = plan_inboxes(addresses, activity.actor_iri, known)
    for inbox in extra_inboxes:
        inboxes.setdefault(inbox, domain_of(inbox))
    blocked = set(
        DomainBlock.objects.filter(domain__in=set(inboxes.values())).values_list(
            "domain", flat=True
        )
    )
    inboxes = {inbox: d for inbox, d in inboxes.items() if d not in blocked}
    if not inboxes:
        return []
    unavailable = dict(
        DomainHealth.objects.filter(
            domain__in=set(inboxes.values()), unavailable_since__isnull=False
        ).values_list("domain", "unavailable_since")
    )
    now = timezone.now()
    rows = []
    for inbox, domain in inboxes.items():
        row = Delivery(
            activity=activity, inbox=inbox, domain=domain, next_attempt_at=now
        )
        if domain in unavailable:
            row.state = Delivery.State.FAILED
            row.last_error = (
                f"Not attempted: {domain} is marked unavailable since "
                f"{unavailable[domain]:%Y-%m-%d} (it failed on "
                f"{get_setting('DOMAIN_FAILURE_DAYS')} different days). Reset it in "
                "the admin to try again."
            )
        rows.append(row)
    created = Delivery.objects.bulk_create(rows)
    pending = [row.pk for row in created if row.state == Delivery.State.PENDING]
    if pending:
        transaction.on_commit(lambda: enqueue_many(pending))
    return created


def enqueue_many(delivery_ids: Iterable[int]) -> None:
    from vox_activity.outgoing.tasks import enqueue_delivery

    for delivery_id in delivery_ids:
        enqueue_delivery(delivery_id)


# --- attempts ----------------------------------------------------------------


def claim(delivery_id: int) -> Delivery | None:
    """Take a due pending delivery for one attempt, or None if not ours to take."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, state=Delivery.State.PENDING, next_attempt_at__lte=now
    ).update(
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        next_attempt_at=now + ATTEMPT_LEASE,
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("activity").get(pk=delivery_id)


def attempt_delivery(delivery_id: int) -> str:
    """One attempt to POST a delivery's activity; returns the new state."""
    delivery = claim(delivery_id)
    if delivery is None:
        return "skipped"
    activity = delivery.activity
    body = json.dumps(activity.to_ap(), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON}
    status = retry_after = None
    try:
        response = signed_request(
            "POST",
            delivery.inbox,
            actor_iri=activity.actor_iri,
            headers=headers,
            data=body,
        )
    except PERMANENT_HTTP_ERRORS as exc:  # retrying cannot help
        return record(delivery, Outcome.FAILED, None, str(exc))
    except http.HttpError as exc:
        return record(delivery, Outcome.RETRY, None, str(exc))
    status = response.status_code
    retry_after = response.headers.get("Retry-After")
    error = "" if 200 <= status < 300 else _describe(response)
    return record(delivery, classify(status), status, error, retry_after)


def _describe(response) -> str:
    text = response.content[:300].decode("utf-8", "replace").strip()
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


def record(
    delivery: Delivery,
    outcome: Outcome,
    status: int | None,
    error: str,
    retry_after: str | None = None,
) -> str:
    """Write an attempt's outcome on the row; schedule the retry if any."""
    now = timezone.now()
    delivery.last_status = status
    delivery.last_error = error[:2000]
    if outcome is Outcome.DELIVERED:
        delivery.state = Delivery.State.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = now
        record_domain_success(delivery.domain)
    elif outcome is Outcome.RETRY:
        record_domain_failure(delivery.domain)
        if delivery.attempts >= get_setting("DELIVERY_MAX_ATTEMPTS"):
            delivery.state = Delivery.State.GIVEN_UP
            delivery.last_error = (
                f"Given up after {delivery.attempts} attempts; last error: {error}"
            )[:2000]
        else:
            delivery.next_attempt_at = now + next_attempt_delay(
                delivery.attempts, retry_after, now
            )
    else:
        delivery.state = Delivery.State.FAILED
        if outcome is Outcome.GONE:
            gone = RemoteActor.objects.filter(
                inbox=delivery.inbox, gone_at__isnull=True
            )
            gone.update(gone_at=now)
    delivery.save(
        update_fields=[
            "state", "last_status", "last_error", "delivered_at", "next_attempt_at"
        ]
    )  # fmt: skip
    if delivery.state == Delivery.State.PENDING:
        from vox_activity.outgoing.tasks import enqueue_delivery

        enqueue_delivery(delivery.pk, run_after=delivery.next_attempt_at)
    return delivery.state


def record_domain_success(domain: str) -> None:
    DomainHealth.objects.filter(domain=domain).update(
        failure_days=0,
        last_failure_date=None,  # a failure later today counts again
        unavailable_since=None,
        last_success_at=timezone.now(),
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


def enqueue_due(limit: int = 1000) -> int:
    """Enqueue pending deliveries whose time has come (the retry sweep)."""
    due = list(
        Delivery.objects.due()
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    enqueue_many(due)
    return len(due)
