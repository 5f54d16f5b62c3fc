"""The retry policy over real HTTP: what is retried, what fails at once, what
is given up, the sweep command that attempts what is due, a worker that dies
mid-attempt, and retries deferred on a backend that can defer.

The remote servers are real HTTP servers on 127.0.0.1 (``tests/fediverse.py``)
that check each signed request with the independent ``httpsig`` package,
against the public key taken from *our* actor document, as a remote server
would; their fixtures (``fediverse``, ``server``, ``zed``, ``alice_doc``,
``send``, ``deliver``...) are in conftest, the shared vocabulary in
``tests/support/outbound.py``.

Tasks run on the immediate backend (tests/settings.py): inline when enqueued,
which happens when the publishing transaction commits; in ``db`` tests that
commit is simulated with ``django_capture_on_commit_callbacks``.  The
deferred retries use ``dummy_tasks`` (it records, runs nothing, and can
defer), and run the recorded tasks as a worker would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from vox_activity.compat import tasks_module
from vox_activity.models import Delivery, DomainHealth, RemoteActor
from vox_activity.net import http as vox_http
from vox_activity.net.remote_actors import fetch_actor
from vox_activity.outgoing.delivery import attempt_delivery, claim_batch, claim_timeout
from vox_activity.outgoing.publish import publish
from vox_activity.outgoing.tasks import enqueue_delivery

from .fediverse import Reply, closed_port
from .support.outbound import (
    ALICE_KEY,
    DELIVERED,
    FAILED,
    GIVEN_UP,
    PENDING,
    assert_signed_by,
    make_due,
    note,
    sweep,
)

# --- the retry policy, over real HTTP ----------------------------------------


def test_500_is_retried_and_the_sweep_delivers_when_due(server, deliver):
    row = deliver(Reply(500, body=b"Internal oops"), Reply(202))
    assert row.state == PENDING
    assert row.attempts == 1
    assert row.last_status == 500
    assert row.last_error == "HTTP 500: Internal oops"
    assert row.next_attempt_at > timezone.now()
    # backoff(1) = 1 + 15 + random(0..30) * 2 seconds
    wait = row.next_attempt_at - row.last_attempt_at
    assert timedelta(seconds=16) <= wait <= timedelta(seconds=80)
    health = DomainHealth.objects.get(domain=server.domain)
    assert (health.failure_days, health.available) == (1, True)

    assert sweep() == "Enqueued 0 due deliveries."  # not due yet
    assert len(server.posts()) == 1

    make_due(row)
    assert sweep() == "Enqueued 1 due deliveries."
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (DELIVERED, 2, 202)
    assert row.last_error == ""
    first, second = server.posts()
    assert first.body == second.body
    assert_signed_by(second, ALICE_KEY)
    health.refresh_from_db()
    assert health.failure_days == 0
    assert health.last_success_at is not None


def test_429_with_retry_after_waits_at_least_that_long(server, deliver):
    row = deliver(Reply(429, {"Retry-After": "3600"}, b"slow down"))
    assert (row.state, row.last_status) == (PENDING, 429)
    assert row.next_attempt_at - row.last_attempt_at >= timedelta(hours=1)
    assert row.next_attempt_at - timezone.now() <= timedelta(hours=1, seconds=5)


def test_401_is_retried(server, deliver):
    row = deliver(Reply(401, body=b"signature?"))
    assert (row.state, row.attempts, row.last_status) == (PENDING, 1, 401)
    make_due(row)
    assert sweep("--run") == "Attempted 1 due deliveries."
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (DELIVERED, 2, 202)


@pytest.mark.parametrize("status", [300, 400, 403, 422, 501])  # 300: no Location
def test_permanent_errors_fail_at_once(server, deliver, status):
    row = deliver(Reply(status, body=b"no"))
    assert (row.state, row.attempts, row.last_status) == (FAILED, 1, status)
    assert row.last_error == f"HTTP {status}: no"
    make_due(row)
    assert sweep() == "Enqueued 0 due deliveries."
    assert len(server.posts()) == 1
    # Permanent failures do not count against the server.
    assert not DomainHealth.objects.exists()


@pytest.mark.parametrize("status", [404, 410])
def test_gone_inbox_fails_and_marks_the_actor_gone(server, deliver, send, status):
    solo = server.add_actor("solo", shared_inbox=False)
    row = deliver(Reply(status), to=solo)
    assert row.inbox == server.inbox("solo")
    assert (row.state, row.last_status) == (FAILED, status)
    actor = RemoteActor.objects.get(iri=solo)
    assert actor.gone_at is not None

    requests_so_far = len(server.requests())
    activity = send(note(), [solo])
    assert not Delivery.objects.filter(activity=activity).exists()
    assert len(server.requests()) == requests_so_far


def test_read_timeout_is_retried(server, deliver):
    row = deliver(Reply(202, delay=1.5))
    assert (row.state, row.attempts, row.last_status) == (PENDING, 1, None)
    assert "HTTP_READ_TIMEOUT" in row.last_error
    assert "sent nothing for 0.3 s" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert len(server.posts()) == 1  # it arrived; the answer did not
    assert DomainHealth.objects.get(domain=server.domain).failure_days == 1


def test_refused_connection_is_retried(server, deliver):
    port = closed_port()
    solo = server.add_actor(
        "solo", shared_inbox=False, inbox=f"http://127.0.0.1:{port}/inbox"
    )
    row = deliver(to=solo)
    assert row.domain == f"127.0.0.1:{port}"
    assert (row.state, row.attempts, row.last_status) == (PENDING, 1, None)
    assert "Could not talk to 127.0.0.1" in row.last_error
    assert server.posts() == []
    assert DomainHealth.objects.get(domain=row.domain).failure_days == 1


def test_redirect_loop_fails_at_once(server, deliver):
    server.routes["/inbox"] = Reply(307, {"Location": "/inbox"})
    row = deliver()
    assert (row.state, row.attempts, row.last_status) == (FAILED, 1, None)
    assert 'HTTP_MAX_REDIRECTS"] = 3' in row.last_error
    assert len(server.posts("/inbox")) == 4  # the request and 3 redirects
    assert not DomainHealth.objects.exists()


def test_oversized_answer_fails_at_once(server, deliver, configure):
    configure(HTTP_MAX_RESPONSE_SIZE=1000)
    row = deliver(Reply(202, body=b"x" * 1001))
    assert (row.state, row.attempts, row.last_status) == (FAILED, 1, None)
    assert "larger than 1000 bytes" in row.last_error
    assert len(server.posts()) == 1


def test_delivery_is_given_up_after_max_attempts(server, deliver, configure):
    configure(DELIVERY_MAX_ATTEMPTS=2)
    row = deliver(Reply(503, body=b"busy"), Reply(503, body=b"still busy"))
    assert (row.state, row.attempts) == (PENDING, 1)
    make_due(row)
    sweep()
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (GIVEN_UP, 2, 503)
    assert row.last_error == (
        "Given up after 2 attempts; last error: HTTP 503: still busy"
    )
    make_due(row)
    assert sweep() == "Enqueued 0 due deliveries."
    assert len(server.posts()) == 2


def test_delivered_row_is_never_sent_again(server, deliver):
    row = deliver()
    assert (row.state, row.attempts) == (DELIVERED, 1)
    make_due(row)
    assert sweep() == "Enqueued 0 due deliveries."
    assert sweep("--run") == "Attempted 0 due deliveries."
    assert attempt_delivery(row.pk) == "skipped"
    assert enqueue_delivery(row.pk) is True  # runs at once, and skips
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DELIVERED, 1)
    assert len(server.posts()) == 1


def test_a_claimed_row_is_not_sent_by_a_second_task(server, zed, alice_doc):
    # No commit in a `db` test: the row is written, its task never enqueued.
    activity = publish(note(), [zed])
    row = Delivery.objects.get(activity=activity)
    assert claim_batch([row.pk], top_up=False).rows  # another worker holds it
    assert attempt_delivery(row.pk) == "skipped"
    assert server.posts() == []
    make_due(row)
    assert sweep() == "Enqueued 1 due deliveries."
    assert sweep() == "Enqueued 0 due deliveries."
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DELIVERED, 2)
    assert len(server.posts()) == 1


# --- the address guard -------------------------------------------------------


def test_guard_fails_a_delivery_to_a_private_inbox_without_a_request(
    server, zed, alice_doc, send, configure
):
    fetch_actor(zed)  # cached while private addresses were allowed
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    activity = send(note(), [zed])
    row = Delivery.objects.get(activity=activity)
    assert (row.state, row.attempts, row.last_status) == (FAILED, 1, None)
    assert "Refused to connect to 127.0.0.1" in row.last_error
    assert "loopback" in row.last_error
    assert server.posts() == []
    assert not DomainHealth.objects.exists()


# --- a worker that dies mid-attempt ------------------------------------------


def test_worker_dying_mid_attempt_leaves_a_lease_the_sweep_takes_over(
    server, zed, alice_doc, send, monkeypatch
):
    real_request = vox_http.request
    seen = []

    def dying_post(method, url, **kwargs):
        if method != "POST":
            return real_request(method, url, **kwargs)
        row = Delivery.objects.get()
        seen.append((row.state, row.attempts, row.next_attempt_at))
        raise RuntimeError("the worker was killed")

    monkeypatch.setattr(vox_http, "request", dying_post)
    activity = send(note(), [zed])
    row = Delivery.objects.get(activity=activity)
    assert (row.state, row.attempts, row.last_status) == (PENDING, 1, None)
    assert row.last_error == ""
    assert seen == [(PENDING, 1, row.next_attempt_at)]  # claimed before sending
    # The lease: due again five minutes after the claim.
    assert row.next_attempt_at - row.last_attempt_at == timedelta(minutes=5)
    assert row.next_attempt_at - row.last_attempt_at == claim_timeout()
    assert server.posts() == []

    monkeypatch.setattr(vox_http, "request", real_request)
    assert sweep() == "Enqueued 0 due deliveries."  # the lease still runs
    assert server.posts() == []

    make_due(row)
    assert sweep() == "Enqueued 1 due deliveries."
    assert sweep() == "Enqueued 0 due deliveries."
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (DELIVERED, 2, 202)
    (post,) = server.posts()
    assert_signed_by(post, ALICE_KEY)


# --- deferred retries --------------------------------------------------------


def test_backend_that_can_defer_gets_the_retry_from_the_sweep_chain(
    server, zed, alice_doc, send, dummy_tasks, configure
):
    """A retry waits on its row; the sweep task, deferred, queues it when due."""
    assert dummy_tasks.supports_defer
    configure(DELIVERY_SWEEP_INTERVAL=7)
    server.reply_with(Reply(500))
    activity = send(note(), [zed])
    row = Delivery.objects.get(activity=activity)
    (first,) = dummy_tasks.results
    assert first.task.module_path == "vox_activity.outgoing.tasks.deliver"
    assert list(first.args) == [row.pk]
    assert first.task.run_after is None
    assert server.posts() == []  # enqueued, not run

    assert first.task.call(*first.args, **first.kwargs) == {PENDING: 1}  # a worker
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (PENDING, 1, 500)
    assert row.claim_token == ""
    # The worker started the sweep chain: deferred, not a task per retry.
    _, chain = dummy_tasks.results
    assert chain.task.module_path == "vox_activity.outgoing.tasks.sweep_deliveries"
    wait = chain.task.run_after - timezone.now()
    assert timedelta(seconds=5) < wait <= timedelta(seconds=7)

    # The chain's run before the retry is due: nothing to queue, runs again.
    assert chain.task.call(*chain.args) == "queued 0"
    _, _, again = dummy_tasks.results
    assert again.task.module_path == "vox_activity.outgoing.tasks.sweep_deliveries"
    assert list(again.args) == list(chain.args)

    make_due(row)
    assert again.task.call(*again.args) == "queued 1"
    retry = dummy_tasks.results[-1]
    assert retry.task.module_path == "vox_activity.outgoing.tasks.deliver"
    assert list(retry.args) == [row.pk]
    assert retry.task.call(*retry.args) == {DELIVERED: 1}
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (DELIVERED, 2, 202)
    assert len(server.posts()) == 2

    # Nothing pending: the chain's next run ends it.
    next_run = dummy_tasks.results[-2]
    assert next_run.task.module_path.endswith("sweep_deliveries")
    assert next_run.task.call(*next_run.args) == "ended: nothing pending"


def test_immediate_backend_leaves_the_retry_to_the_sweep(server, zed, alice_doc, send):
    signals = tasks_module().signals
    enqueued = []

    def on_enqueued(sender, task_result, **kwargs):
        enqueued.append(task_result.args)

    signals.task_enqueued.connect(on_enqueued)
    try:
        server.reply_with(Reply(500))
        row = Delivery.objects.get(activity=send(note(), [zed]))
        assert (row.state, row.last_status) == (PENDING, 500)
        assert [list(args) for args in enqueued] == [[row.pk]]  # no retry task
        assert len(server.posts()) == 1
        assert enqueue_delivery(row.pk, run_after=row.next_attempt_at) is False
        assert len(enqueued) == 1

        make_due(row)
        assert sweep() == "Enqueued 1 due deliveries."
    finally:
        signals.task_enqueued.disconnect(on_enqueued)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DELIVERED, 2)
    assert len(server.posts()) == 2
