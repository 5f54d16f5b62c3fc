"""Inbox POSTs verified, then applied by a task (issue 10 A).

With ``INBOX_PROCESSING = "task"`` (the default; the other tests use
"sync"), the request checks everything that can be answered with a precise
4xx, stores the activity with one INSERT and answers 202; the inbox task
applies each actor's activities in the order they arrived.  Tasks go to the
dummy backend, which records them; the tests run them by hand.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from vox_activity.incoming import handlers, processing
from vox_activity.incoming.tasks import enqueue_unprocessed, process_inbox
from vox_activity.models import (
    Activity,
    DeliverySweep,
    Follow,
    InboxItem,
    StoredObject,
)
from vox_activity.outgoing.sweep import ensure_sweep, run_sweep
from vox_activity.protocol import cavage

from .support.constants import SITE
from .support.records import SignalLog, row_counts
from .support.remote_actors import make_remote, post_signed

ALICE = f"{SITE}/~alice/"
ALICE_INBOX = "/~alice/inbox"
SHARED = "/activitypub/inbox"


INBOX_TASK = "vox_activity.incoming.tasks.process_inbox"
SWEEP_TASK = "vox_activity.outgoing.tasks.sweep_deliveries"


@pytest.fixture(autouse=True)
def task_mode(settings, dummy_tasks):
    """Received activities are applied by a task, which the test runs."""
    settings.VOX_ACTIVITY = {"INBOX_RATE_LIMIT": None, "INBOX_PROCESSING": "task"}
    return dummy_tasks


def inbox_tasks(backend) -> list:
    """The inbox tasks enqueued (not the sweep chain they keep alive)."""
    return [r for r in backend.results if r.task.module_path == INBOX_TASK]


def run_tasks(backend) -> list:
    """Run the inbox tasks enqueued (as a worker would), in order; their results."""
    results = [process_inbox.call(*r.args) for r in inbox_tasks(backend)]
    backend.clear()
    return results


def test_the_request_stores_and_answers_the_task_applies(
    client, alice, carol, task_mode
):
    note = carol.note(to=[ALICE])
    create = carol.activity("Create", note, to=[ALICE])
    with SignalLog() as signals:
        response = post_signed(client, ALICE_INBOX, create, carol)
        assert response.status_code == 202
        row = Activity.objects.get(iri=create["id"])
        assert row.processed_at is None
        assert not InboxItem.objects.exists() and not StoredObject.objects.exists()
        assert signals.events == []
        assert [r.args for r in inbox_tasks(task_mode)] == [[carol.iri]]

        assert run_tasks(task_mode) == [1]
    row.refresh_from_db()
    assert row.processed_at is not None
    assert InboxItem.objects.for_owner(alice).get().activity == row
    assert StoredObject.objects.get(iri=note["id"]).owner_iri == carol.iri
    assert [name for name, _ in signals.events] == ["activity_received"]


def test_the_request_path_is_a_few_statements(client, alice, carol, task_mode):
    create = carol.activity("Create", carol.note(), to=[ALICE])
    parses = []
    real_parse = cavage.parse_signature_header

    def counting(value):
        parses.append(value)
        return real_parse(value)

    cavage.parse_signature_header = counting
    try:
        with CaptureQueriesContext(connection) as queries:
            response = post_signed(client, ALICE_INBOX, create, carol)
    finally:
        cavage.parse_signature_header = real_parse
    assert response.status_code == 202
    # The user the path names, the key, the INSERT, the task: nothing more.
    assert len(queries) <= 6, [q["sql"] for q in queries]
    assert len(parses) == 1  # the Signature header is parsed once


def test_an_actors_activities_apply_in_order(client, alice, carol, task_mode):
    follow = carol.activity("Follow", ALICE)
    undo = carol.activity("Undo", {**follow, "@context": None})
    undo["object"].pop("@context")
    for activity in (follow, undo):
        assert post_signed(client, SHARED, activity, carol).status_code == 202
    with SignalLog() as signals:
        run_tasks(task_mode)
    assert not Follow.objects.exists()
    names = [name for name, _ in signals.events]
    assert names.index("follow_requested") < names.index("follow_removed")
    assert not Activity.objects.unprocessed().exists()


def test_running_twice_or_after_a_crash_changes_nothing_extra(
    client, alice, carol, task_mode, monkeypatch
):
    like = carol.activity("Like", ALICE, to=[ALICE])
    post_signed(client, SHARED, like, carol)
    real_apply = handlers.LikeHandler.apply

    def crash(self, incoming):
        raise RuntimeError("the worker died")

    monkeypatch.setattr(handlers.LikeHandler, "apply", crash)
    with pytest.raises(RuntimeError):
        process_inbox.call(carol.iri)
    assert not InboxItem.objects.exists()  # the transaction was rolled back
    assert Activity.objects.get(iri=like["id"]).processed_at is None
    monkeypatch.setattr(handlers.LikeHandler, "apply", real_apply)
    assert process_inbox.call(carol.iri) == 1
    assert process_inbox.call(carol.iri) == 0
    assert InboxItem.objects.count() == 1


def test_an_activity_that_keeps_failing_is_given_up_and_the_rest_go_on(
    client, alice, carol, task_mode, monkeypatch, settings
):
    """A signal receiver or handler that always raises must not hold the
    sender's later activities for ever: after INBOX_MAX_ATTEMPTS it is given
    up, kept with its error, and the ones behind it are applied in order."""
    settings.VOX_ACTIVITY = {**settings.VOX_ACTIVITY, "INBOX_MAX_ATTEMPTS": 3}
    poison = carol.activity("Like", ALICE, to=[ALICE])
    follow = carol.activity("Follow", ALICE)
    for activity in (poison, follow):
        post_signed(client, SHARED, activity, carol)
    real_apply = handlers.LikeHandler.apply

    def broken(self, incoming):
        raise ValueError("a bug in the site's receiver")

    monkeypatch.setattr(handlers.LikeHandler, "apply", broken)
    for attempt in (1, 2):
        with pytest.raises(ValueError):
            process_inbox.call(carol.iri)
        row = Activity.objects.get(iri=poison["id"])
        assert row.processing_attempts == attempt and row.given_up_at is None
        assert not Follow.objects.exists()  # waits behind it, in order
    assert process_inbox.call(carol.iri) == 1  # third failure: given up; Follow
    row = Activity.objects.get(iri=poison["id"])
    assert row.given_up_at is not None and row.processed_at is None
    assert row.processing_error == "ValueError: a bug in the site's receiver"
    assert Follow.objects.get().actor_iri == carol.iri
    assert not InboxItem.objects.filter(activity=row).exists()
    assert list(Activity.objects.given_up()) == [row]
    assert enqueue_unprocessed() == 0  # the sweep leaves it alone

    # Once the site's bug is fixed, the operator applies it again.
    monkeypatch.setattr(handlers.LikeHandler, "apply", real_apply)
    row.retry_processing()
    assert process_inbox.call(carol.iri) == 1
    row.refresh_from_db()
    assert row.processed_at is not None


def test_a_duplicate_is_stored_once(client, alice, carol, task_mode):
    like = carol.activity("Like", ALICE, to=[ALICE])
    for _ in range(2):
        assert post_signed(client, SHARED, like, carol).status_code == 202
    assert Activity.objects.filter(iri=like["id"]).count() == 1
    assert run_tasks(task_mode) == [1, 0]


def test_what_a_handler_refuses_later_leaves_nothing(
    client, alice, carol, task_mode, db
):
    erin = make_remote("erin", "other.example", key=2)
    note = erin.note()
    StoredObject.objects.store_remote(note, erin.iri)
    before = row_counts()
    # Accepted at the door (well formed, signed); the owner check is the
    # handler's, in the task: carol may not delete erin's note.
    delete = carol.activity("Delete", note["id"])
    assert post_signed(client, SHARED, delete, carol).status_code == 202
    assert run_tasks(task_mode) == [0]
    assert row_counts() == before
    assert StoredObject.objects.get(iri=note["id"]).deleted_at is None


def test_the_sweep_enqueues_actors_whose_activities_wait(
    client, alice, carol, task_mode
):
    post_signed(client, SHARED, carol.activity("Like", ALICE), carol)
    task_mode.clear()  # as if the task was lost with a dead worker
    assert enqueue_unprocessed() == 1
    assert run_tasks(task_mode) == [1]
    assert enqueue_unprocessed() == 0


def test_precise_errors_stay_synchronous(client, alice, carol, task_mode):
    before = row_counts()
    bad = carol.activity("Create", [carol.note()])  # a list: refused at once
    assert post_signed(client, SHARED, bad, carol).status_code == 400
    assert row_counts() == before and task_mode.results == []


def test_processing_module_is_the_one_path(alice):
    """Sync mode and the task share ``apply`` (one place for side effects)."""
    assert processing.store_and_apply.__module__ == processing.apply.__module__


def test_the_sweep_chain_requeues_received_activities_left_waiting(
    client, alice, carol, task_mode, settings
):
    """No operator: the inbox task keeps the sweep chain alive, and the chain
    queues the task again for activities that waited longer than an interval
    (here: the task was lost with its worker)."""
    settings.VOX_ACTIVITY = {**settings.VOX_ACTIVITY, "DELIVERY_SWEEP_INTERVAL": 10}
    like = carol.activity("Like", ALICE, to=[ALICE])
    post_signed(client, SHARED, like, carol)
    # A first task for someone else starts the chain, then the like's task
    # is lost (nothing ran it).
    assert process_inbox.call("https://nobody.example/") == 0
    (chain,) = [r for r in task_mode.results if r.task.module_path == SWEEP_TASK]
    task_mode.clear()

    # Received just now: its own task may still be queued; not re-queued.
    assert run_sweep(chain.args[0]) == "queued 0"
    assert inbox_tasks(task_mode) == []
    # Waited longer than an interval: queued again, and the chain goes on.
    Activity.objects.filter(iri=like["id"]).update(
        published=timezone.now() - timedelta(seconds=11)
    )
    assert run_sweep(chain.args[0]) == "queued 0, and 1 other tasks"
    assert run_tasks(task_mode) == [1]
    assert InboxItem.objects.for_owner(alice).exists()
    # Nothing waits any more: the chain ends.
    assert run_sweep(chain.args[0]) == "ended: nothing pending"
    assert DeliverySweep.objects.get(name="deliveries").token == ""


def test_a_waiting_received_activity_keeps_the_chain_alive(
    client, alice, carol, task_mode
):
    post_signed(client, SHARED, carol.activity("Like", ALICE), carol)
    assert ensure_sweep() is True
    (chain,) = [r for r in task_mode.results if r.task.module_path == SWEEP_TASK]
    assert not DeliverySweep.objects.release(chain.args[0])


def test_the_deliver_command_requeues_or_applies_what_waited(
    client, alice, carol, task_mode
):
    """For backends that cannot defer (no chain): the command does it."""
    post_signed(client, SHARED, carol.activity("Like", ALICE, to=[ALICE]), carol)
    task_mode.clear()
    assert deliver_command()[1] == "Enqueued the inbox task of 0 senders."
    Activity.objects.update(published=timezone.now() - timedelta(minutes=5))
    assert deliver_command()[1] == "Enqueued the inbox task of 1 senders."
    assert [r.args for r in inbox_tasks(task_mode)] == [[carol.iri]]
    assert deliver_command("--run")[1] == "Applied 1 received activities."
    assert InboxItem.objects.for_owner(alice).exists()


def deliver_command(*args) -> list[str]:
    out = io.StringIO()
    call_command("vox_activity_deliver", *args, stdout=out)
    return out.getvalue().splitlines()
