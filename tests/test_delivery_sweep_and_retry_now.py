"""The delivery sweep chain, the sweep command and the admin's "Retry now",
each racing the attempts in flight.

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
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone

from vox_activity.models import Delivery, DeliverySweep
from vox_activity.outgoing import delivery as outgoing
from vox_activity.outgoing.sweep import ensure_sweep, run_sweep

from .support.outbound import (
    DELIVERED,
    PENDING,
    SWEEP,
    make_due,
    remote_actors,
    run,
    sweep,
    tasks_of,
)
from .support.remote_web import ANY_URL

#: Every inbox accepts (202) unless a test serves another answer ``once``.
pytestmark = pytest.mark.usefixtures("every_inbox_accepts")


# --- Retry now ---------------------------------------------------------------


def test_retry_now_leaves_an_attempt_in_flight_alone(
    admin_client, alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    """An operator's "Retry now" during an attempt: one delivery, not two."""
    (actor,) = remote_actors(1)
    row = Delivery.objects.get(activity=send_note([actor]))
    answers = []

    def operator_clicks(sent):
        answers.append(
            admin_client.post(
                "/admin/vox_activity/delivery/",
                {"action": "retry_now", ACTION_CHECKBOX_NAME: [row.pk]},
                follow=True,
            )
        )

    remote_web.on_request(operator_clicks)
    assert run(dummy_tasks.results[0]) == {DELIVERED: 1}
    text = answers[0].content.decode()
    assert "0 deliveries queued again." in text
    assert "1 deliveries left alone" in text
    assert len(tasks_of(dummy_tasks)) == 1  # nothing was enqueued
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DELIVERED, 1)
    assert remote_web.urls == [actor.inbox]
    assert sweep() == "Enqueued 0 due deliveries."
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_retry_now_after_a_claim_ran_out_ends_with_one_delivery(
    admin_client, alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    """The race that once sent an activity three times.

    A worker's attempt stalls past its lease; "Retry now" queues the row
    again and another worker delivers it; the stalled attempt then fails.
    Its outcome must not put the row back to pending (a third send).
    """
    (actor,) = remote_actors(1)
    row = Delivery.objects.get(activity=send_note([actor]))
    stalled = outgoing.claim_batch([row.pk])
    make_due(row)
    response = admin_client.post(
        "/admin/vox_activity/delivery/",
        {"action": "retry_now", ACTION_CHECKBOX_NAME: [row.pk]},
        follow=True,
    )
    assert "1 deliveries queued again." in response.content.decode()
    again = tasks_of(dummy_tasks)[-1]
    assert list(again.args) == [row.pk]
    assert run(again) == {DELIVERED: 1}

    remote_web.serve(ANY_URL, status=503, once=True)
    outgoing.attempt_batch(stalled)
    row.refresh_from_db()
    assert (row.state, row.last_status, row.claim_token) == (DELIVERED, 202, "")
    assert sweep() == "Enqueued 0 due deliveries."
    assert sweep("--run") == "Attempted 0 due deliveries."
    assert len(remote_web.urls) == 2  # the stalled one, and the retry: no third
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_retry_now_requeues_failed_and_waiting_rows_at_once(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    actors = remote_actors(2)
    activity = send_note(actors)
    remote_web.serve(ANY_URL, status=403, once=True)
    remote_web.serve(ANY_URL, status=503, once=True)
    run(dummy_tasks.results[-1])
    failed, waiting = Delivery.objects.filter(activity=activity).order_by("pk")
    assert (failed.state, waiting.state) == (Delivery.State.FAILED, PENDING)
    done = outgoing.retry_now(Delivery.objects.filter(activity=activity))
    assert (sorted(done.queued), done.held) == (sorted([failed.pk, waiting.pk]), 0)
    assert run(tasks_of(dummy_tasks)[-1]) == {DELIVERED: 2}
    assert {r.method for r in remote_web.requests} == {"POST"}


# --- the sweep chain ---------------------------------------------------------


def test_one_sweep_chain_at_a_time(alice, dummy_tasks, delivery_settings):
    delivery_settings(DELIVERY_SWEEP_INTERVAL=10)
    assert ensure_sweep() is True
    assert ensure_sweep() is False  # alive: not a second one
    (chain,) = tasks_of(dummy_tasks, SWEEP)
    wait = chain.task.run_after - timezone.now()
    assert timedelta(seconds=8) < wait <= timedelta(seconds=10)
    row = DeliverySweep.objects.get(name="deliveries")
    assert row.token == chain.args[0]

    # Its next run is overdue by two intervals: it died; another takes over.
    DeliverySweep.objects.update(due_at=timezone.now() - timedelta(seconds=21))
    assert ensure_sweep() is True
    old, new = tasks_of(dummy_tasks, SWEEP)
    assert run(old) == "superseded"
    assert len(tasks_of(dummy_tasks, SWEEP)) == 2  # a superseded chain ends
    assert DeliverySweep.objects.get(name="deliveries").token == new.args[0]


def test_the_sweep_queues_due_rows_and_ends_when_nothing_is_pending(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    (actor,) = remote_actors(1)
    row = Delivery.objects.get(activity=send_note([actor]))
    remote_web.serve(ANY_URL, status=503, once=True)
    assert run(tasks_of(dummy_tasks)[-1]) == {PENDING: 1}  # a retry, and a chain
    (chain,) = tasks_of(dummy_tasks, SWEEP)
    assert run(chain) == "queued 0"  # not due yet; the chain goes on
    make_due(row)
    chain = tasks_of(dummy_tasks, SWEEP)[-1]
    assert run(chain) == "queued 1"
    retry = tasks_of(dummy_tasks)[-1]
    assert list(retry.args) == [row.pk]
    assert run(retry) == {DELIVERED: 1}
    chain = tasks_of(dummy_tasks, SWEEP)[-1]
    assert run(chain) == "ended: nothing pending"
    assert DeliverySweep.objects.get(name="deliveries").token == ""
    count = len(dummy_tasks.results)
    assert run(chain) == "superseded"
    assert len(dummy_tasks.results) == count
    # New work starts a new chain.
    send_note([actor], "more")
    run(tasks_of(dummy_tasks)[-1])
    assert len(tasks_of(dummy_tasks, SWEEP)) == 4
    assert {r.method for r in remote_web.requests} == {"POST"}


def test_a_chain_is_not_ended_while_anything_is_pending(
    alice, dummy_tasks, send_note, delivery_settings
):
    send_note(remote_actors(1))  # pending, held for its task
    assert ensure_sweep() is True
    (chain,) = tasks_of(dummy_tasks, SWEEP)
    assert not DeliverySweep.objects.release(chain.args[0])
    assert run(chain) == "queued 0"


def test_no_chain_on_a_backend_that_cannot_defer(alice, delivery_settings):
    assert ensure_sweep() is False  # the immediate backend of the tests
    assert not DeliverySweep.objects.exists()
    assert run_sweep("nobody") == "superseded"


def test_the_sweep_command_queues_only_what_nobody_holds(
    alice, dummy_tasks, remote_web, send_note, delivery_settings
):
    actors = remote_actors(2)
    activity = send_note(actors)
    assert sweep() == "Enqueued 0 due deliveries."  # queued
    batch = outgoing.claim_batch()
    assert len(batch.rows) == 2
    assert sweep() == "Enqueued 0 due deliveries."  # being attempted
    make_due(*batch.rows)
    assert sweep() == "Enqueued 2 due deliveries."  # the worker died
    assert sweep() == "Enqueued 0 due deliveries."
    assert run(tasks_of(dummy_tasks)[-1]) == {DELIVERED: 2}
    assert Delivery.objects.filter(activity=activity, attempts=2).count() == 2
    assert {r.method for r in remote_web.requests} == {"POST"}
