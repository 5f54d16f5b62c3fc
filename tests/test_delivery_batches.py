"""Deliveries in batches: queueing, claims and leases, conditional writes,
the statements a batch costs, and the planning of inboxes and local
recipients.

Tasks go to ``dummy_tasks`` (it records, runs nothing, and can defer), so each
test runs the tasks it wants, in the order it wants: that is how two workers
racing for the same rows are played out.  Other servers are ``remote_web``
(``every_inbox_accepts``: 202 unless a test serves another answer ``once``);
``remote_web.on_request`` runs code while a POST is "in flight".  Signatures
are real (the double knock included); they are checked over real HTTP in
test_delivery_sending.py and test_delivery_retries.py.  The actors are cached
rows with no keys (``remote_actors()`` in ``tests/support/outbound.py``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from vox_activity.compat import tasks_module
from vox_activity.models import (
    Delivery,
    DeliverySweep,
    DomainHealth,
    Follow,
    InboxItem,
    RemoteActor,
)
from vox_activity.models import activity as activity_models
from vox_activity.models import delivery as delivery_models
from vox_activity.models.remote import domain_of
from vox_activity.outgoing import delivery as outgoing
from vox_activity.outgoing import publish as publish_module
from vox_activity.outgoing.publish import publish
from vox_activity.outgoing.sweep import ensure_sweep

from .support.outbound import (
    ALICE,
    DELIVER,
    DELIVERED,
    PENDING,
    SWEEP,
    make_due,
    note,
    remote_actors,
    run,
    sweep,
    tasks_of,
)
from .support.remote_web import ANY_URL

#: Every inbox accepts (202) unless a test serves another answer ``once``.
pytestmark = pytest.mark.usefixtures("every_inbox_accepts")


# --- queueing and claiming ---------------------------------------------------


def test_a_publication_holds_its_rows_for_its_task_and_nothing_queues_them_twice(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    actors = remote_actors(3)
    activity = send_note(actors)
    rows = list(Delivery.objects.filter(activity=activity).order_by("pk"))
    assert {(r.state, r.attempts) for r in rows} == {(PENDING, 0)}
    (token,) = {r.claim_token for r in rows}
    assert token.startswith("q")  # held for the queue
    lease = rows[0].next_attempt_at - timezone.now()
    assert timedelta(seconds=290) < lease <= timedelta(seconds=300)
    (task,) = dummy_tasks.results
    assert task.task.module_path == DELIVER
    assert list(task.args) == [r.pk for r in rows]

    assert sweep() == "Enqueued 0 due deliveries."  # already queued
    assert len(dummy_tasks.results) == 1

    assert run(task) == {DELIVERED: 3}
    assert sorted(remote_web.urls) == sorted(a.inbox for a in actors)
    for row in Delivery.objects.filter(activity=activity):
        assert (row.state, row.attempts, row.claim_token) == (DELIVERED, 1, "")
    assert run(task) == {}  # a task that runs twice sends once
    assert len(remote_web.urls) == 3
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_a_full_batch_wakes_the_next_worker_for_the_rest(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    delivery_settings(DELIVERY_BATCH_SIZE=4)
    actors = remote_actors(10)
    activity = send_note(actors)
    rows = list(Delivery.objects.filter(activity=activity).order_by("pk"))
    (first,) = tasks_of(dummy_tasks)  # one task, carrying the first batch
    assert list(first.args) == [r.pk for r in rows[:4]]
    assert run(first) == {DELIVERED: 4}
    second = tasks_of(dummy_tasks)[-1]  # woken before the first one's attempts
    assert list(second.args) == []
    assert run(second) == {DELIVERED: 4}
    third = tasks_of(dummy_tasks)[-1]
    assert run(third) == {DELIVERED: 2}  # not full: wakes nobody
    assert len(tasks_of(dummy_tasks)) == 3
    rows = Delivery.objects.filter(activity=activity)
    assert {(r.state, r.attempts) for r in rows} == {(DELIVERED, 1)}
    assert sorted(remote_web.urls) == sorted(a.inbox for a in actors)
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_small_publications_share_the_task_waiting_in_the_queue(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    """One task per batch of work, not one per publication."""
    actors = remote_actors(3)
    first = send_note(actors[:1], "one")
    send_note(actors[1:2], "two")  # a task is already waiting: none more
    send_note(actors[2:], "three")
    (task,) = tasks_of(dummy_tasks)
    assert list(task.args) == [Delivery.objects.get(activity=first).pk]
    assert run(task) == {DELIVERED: 3}  # its own row, topped up with the others
    assert Delivery.objects.filter(state=DELIVERED, attempts=1).count() == 3
    assert len(remote_web.urls) == 3
    send_note(actors[:1], "four")  # the waiting task started: work needs a new one
    assert len(tasks_of(dummy_tasks)) == 2
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_a_wakeup_lost_with_its_queue_is_replaced(
    alice, dummy_tasks, send_note, delivery_settings
):
    actors = remote_actors(2)
    send_note(actors[:1], "one")
    DeliverySweep.objects.filter(name="wakeup").update(
        due_at=timezone.now() - outgoing.WAKEUP_STALE - timedelta(seconds=1)
    )
    send_note(actors[1:], "two")
    assert len(tasks_of(dummy_tasks)) == 2


@pytest.mark.parametrize("returning", [True, False])
def test_claims_are_disjoint_with_and_without_update_returning(
    alice, dummy_tasks, send_note, delivery_settings, monkeypatch, returning
):
    monkeypatch.setattr(
        delivery_models, "_supports_update_returning", lambda connection: returning
    )
    actors = remote_actors(6)
    send_note(actors)
    delivery_settings(DELIVERY_BATCH_SIZE=4)
    with CaptureQueriesContext(connection) as queries:
        first = outgoing.claim_batch()
    updates = [q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"]]
    assert len(updates) == 1
    assert ("RETURNING" in updates[0]) is returning
    second = outgoing.claim_batch()
    third = outgoing.claim_batch()
    assert len(first.rows) == 4
    assert len(second.rows) == 2
    assert third.rows == []
    assert not {r.pk for r in first.rows} & {r.pk for r in second.rows}
    held = Delivery.objects.filter(claim_token=first.token)
    assert held.count() == 4
    assert {(r.attempts, r.claim_token[0]) for r in held} == {(1, "a")}


def test_an_outcome_is_written_only_while_its_claim_holds(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    """A paused worker whose claim ran out cannot overwrite the newer attempt."""
    (actor,) = remote_actors(1)
    activity = send_note([actor])
    row = Delivery.objects.get(activity=activity)
    slow = outgoing.claim_batch([row.pk])  # worker A claims...
    make_due(row)  # ... and stalls past its lease
    fast = outgoing.claim_batch([row.pk])  # worker B takes the row over
    assert [r.pk for r in fast.rows] == [row.pk]
    assert outgoing.attempt_batch(fast) == {DELIVERED: 1}

    remote_web.serve(ANY_URL, status=503, once=True)  # A's late POST fails...
    outgoing.attempt_batch(slow)  # ... and its outcome is not written
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (DELIVERED, 2, 202)
    assert row.claim_token == ""
    assert sweep() == "Enqueued 0 due deliveries."
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_an_attempt_that_could_outlive_its_claim_renews_it_first(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    actors = remote_actors(2)
    activity = send_note(actors)
    batch = outgoing.claim_batch()
    mine, taken = batch.rows
    soon = timezone.now() + timedelta(seconds=5)  # < HTTP_TOTAL_TIMEOUT + 1
    batch.lease_until = soon
    Delivery.objects.filter(pk=mine.pk).update(next_attempt_at=soon)
    Delivery.objects.filter(pk=taken.pk).update(claim_token="a-someone-else")
    leases = []

    def look(sent):
        leases.append(Delivery.objects.get(pk=mine.pk).next_attempt_at)

    remote_web.on_request(look)
    assert outgoing.attempt_batch(batch) == {DELIVERED: 1}
    assert remote_web.urls == [mine.inbox]  # the row taken over was not sent
    assert leases[0] - timezone.now() > timedelta(seconds=250)  # renewed
    assert Delivery.objects.get(pk=taken.pk).state == PENDING
    assert Delivery.objects.filter(activity=activity, state=DELIVERED).count() == 1
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_a_batch_costs_the_same_statements_for_3_deliveries_as_for_30(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    send_note(remote_actors(1, start=100))  # the server's signature scheme is learnt
    run(dummy_tasks.results[-1])

    def batch_of(count, start):
        send_note(remote_actors(count, start=start))
        task = dummy_tasks.results[-1]
        with CaptureQueriesContext(connection) as queries:
            assert run(task) == {DELIVERED: count}
        return [q["sql"] for q in queries.captured_queries]

    few = batch_of(3, 0)
    many = batch_of(30, 3)
    assert len(many) == len(few), many
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_a_success_writes_server_health_only_when_it_changes(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    actors = remote_actors(2)
    earlier = timezone.now() - timedelta(days=3)
    health = DomainHealth.objects.create(
        domain="remote.example", last_success_at=earlier
    )
    send_note(actors)
    run(tasks_of(dummy_tasks)[-1])
    health.refresh_from_db()
    assert health.last_success_at == earlier  # a clean record: not written

    DomainHealth.objects.filter(pk=health.pk).update(
        failure_days=2, last_failure_date=timezone.localdate()
    )
    send_note(actors, "again")
    run(tasks_of(dummy_tasks)[-1])
    health.refresh_from_db()
    assert (health.failure_days, health.last_failure_date) == (0, None)
    assert health.last_success_at > earlier
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_the_retry_schedule_is_a_setting(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    delivery_settings(DELIVERY_RETRY_DELAYS=[5, 60])
    (actor,) = remote_actors(1)
    row = Delivery.objects.get(activity=send_note([actor]))
    waits = []
    remote_web.serve(ANY_URL, status=503, once=True)
    remote_web.serve(ANY_URL, status=503, once=True)
    remote_web.serve(ANY_URL, status=503, once=True)
    run(dummy_tasks.results[-1])
    for _ in range(3):
        row.refresh_from_db()
        assert row.state == PENDING
        waits.append(round((row.next_attempt_at - row.last_attempt_at).total_seconds()))
        if len(waits) == 3:
            break
        make_due(row)
        (queued_again,) = outgoing.queue_due()
        assert queued_again == row.pk
        run(dummy_tasks.results[-1])
    assert waits == [5, 60, 60]
    assert row.attempts == 3
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_deliveries_go_to_the_task_queue_of_the_setting(
    alice, settings, send_note, delivery_settings
):
    tasks = tasks_module()
    settings.TASKS = {
        "default": {
            "BACKEND": f"{tasks.__name__}.backends.dummy.DummyBackend",
            "QUEUES": ["federation"],
        }
    }
    delivery_settings(TASK_QUEUE="federation")
    backend = tasks.task_backends["default"]
    backend.clear()
    send_note(remote_actors(1))
    assert ensure_sweep() is True
    assert {r.task.queue_name for r in backend.results} == {"federation"}
    assert {r.task.module_path for r in backend.results} == {DELIVER, SWEEP}


# --- planning in SQL ---------------------------------------------------------


def test_inboxes_are_deduplicated_and_their_servers_named_in_sql(
    alice, dummy_tasks, send_note, delivery_settings
):
    spellings = [
        ("https://a.example/users/1", "https://Shared.Example:443/inbox"),
        ("https://a.example/users/2", "https://Shared.Example:443/inbox"),
        ("https://b.example/users/3", "http://other.example:80/users/3/inbox"),
        ("https://b.example/users/4", "http://other.example:8080/users/4/inbox"),
        ("https://c.example/users/5", "https://c.example/users/5/inbox"),
        ("https://d.example/users/6", "https://d.example:8443"),
    ]
    actors = []
    for iri, inbox in spellings:
        actor = RemoteActor.objects.create(
            iri=iri, domain=domain_of(iri), inbox=inbox, fetched_at=timezone.now()
        )
        Follow.objects.create(
            actor_iri=iri, object_iri=ALICE, remote_actor=actor, state="accepted"
        )
        actors.append(actor)
    activity = publish(note() | {"cc": [f"{ALICE}followers"]}, [actors[0].iri])
    rows = {r.inbox: r.domain for r in Delivery.objects.filter(activity=activity)}
    assert rows == {inbox: domain_of(inbox) for _, inbox in spellings}
    assert set(rows.values()) == {
        "shared.example",
        "other.example",
        "other.example:8080",
        "c.example",
        "d.example:8443",
    }


# --- local fan-out -----------------------------------------------------------


def test_local_fan_out_streams_chunks_and_the_database_skips_duplicates(
    make_user, monkeypatch
):
    monkeypatch.setattr(publish_module, "RECIPIENT_CHUNK", 3)
    monkeypatch.setattr(activity_models, "FILL_CHUNK", 2)
    users = [make_user(f"reader{i}") for i in range(5)]
    iris = [f"https://testserver/~{u.username}/" for u in users]
    addresses = [*iris, iris[0], iris[3], "https://testserver/~nobody/", iris[1]]
    plan = publish_module.plan_publication(note(), iter(addresses))
    ((_, keys, distinct),) = plan.local_recipients.by_type()
    assert type(keys).__name__ == "array"  # packed integers, not objects
    assert sorted(keys) == sorted(u.pk for u in users)  # each once
    assert distinct
    activity = publish_module.commit_publication(plan)
    owners = InboxItem.objects.filter(activity=activity).values_list(
        "owner_id", flat=True
    )
    assert sorted(owners) == sorted(str(u.pk) for u in users)
    assert activity.data["to"] == ["https://testserver/~nobody/"]


def test_one_delivery_attempted_alone_takes_no_others_with_it(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    """``attempt_delivery(id)`` (a single delivery's task): that row only."""
    actors = remote_actors(3)
    rows = list(Delivery.objects.filter(activity=send_note(actors)).order_by("pk"))
    make_due(*rows)
    assert outgoing.attempt_delivery(rows[0].pk) == DELIVERED
    assert remote_web.urls == [rows[0].inbox]
    states = Delivery.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk")
    assert list(states.values_list("state", flat=True)) == [
        DELIVERED,
        PENDING,
        PENDING,
    ]
    assert outgoing.attempt_delivery(rows[0].pk) == "skipped"  # nothing to do


def test_a_batch_size_of_one_claims_one_row(
    alice, dummy_tasks, send_note, delivery_settings
):
    send_note(remote_actors(3))
    delivery_settings(DELIVERY_BATCH_SIZE=1)
    assert [len(outgoing.claim_batch().rows) for _ in range(4)] == [1, 1, 1, 0]
