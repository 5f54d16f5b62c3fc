"""Servers that keep failing, and what an operator sees and does in the admin.

The circuit breaker: a server failing on ``DOMAIN_FAILURE_DAYS`` days is
skipped until it answers again, and the admin's "Reset" puts it back; the
admin's delivery list, its filters and "Retry now"; the remote actor and
server pages.

The remote servers are real HTTP servers on 127.0.0.1 (``tests/fediverse.py``)
that check each signed request with the independent ``httpsig`` package,
against the public key taken from *our* actor document, as a remote server
would; their fixtures (``fediverse``, ``server``, ``zed``, ``alice_doc``,
``send``, ``deliver``...) are in conftest, the shared vocabulary in
``tests/support/outbound.py``.

Tasks run on the immediate backend (tests/settings.py): inline when enqueued,
which happens when the publishing transaction commits; in ``db`` tests that
commit is simulated with ``django_capture_on_commit_callbacks``.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone

from vox_activity.models import Delivery, DomainHealth
from vox_activity.net.remote_actors import fetch_actor

from .fediverse import Reply
from .support.outbound import (
    DELIVERED,
    FAILED,
    PENDING,
    changelist_pks,
    make_due,
    note,
    sweep,
)

# --- the circuit breaker -----------------------------------------------------


def test_server_failing_on_enough_days_is_skipped_until_it_answers(
    server, zed, alice_doc, send, configure
):
    configure(DOMAIN_FAILURE_DAYS=2)
    server.default_reply = Reply(503)
    today = timezone.localdate()
    first = Delivery.objects.get(activity=send(note(), [zed]))
    health = DomainHealth.objects.get(domain=server.domain)
    assert (health.failure_days, health.last_failure_date) == (1, today)
    assert health.available

    make_due(first)
    sweep()  # a second failure the same day is the same day
    health.refresh_from_db()
    assert (health.failure_days, health.available) == (1, True)

    DomainHealth.objects.filter(pk=health.pk).update(
        last_failure_date=today - timedelta(days=1)
    )
    make_due(first)
    sweep()
    health.refresh_from_db()
    assert health.failure_days == 2
    assert health.unavailable_since is not None
    assert not health.available

    posted = len(server.posts())
    skipped = Delivery.objects.get(activity=send(note("skipped"), [zed]))
    assert (skipped.state, skipped.attempts) == (FAILED, 0)
    assert skipped.last_error.startswith(
        f"Not attempted: {server.domain} is marked unavailable (it failed on 2 "
    )
    assert len(server.posts()) == posted

    # The server answers the pending retry: it is available again.
    server.default_reply = Reply(202)
    make_due(first)
    sweep()
    first.refresh_from_db()
    assert first.state == DELIVERED
    health.refresh_from_db()
    assert health.available
    assert health.failure_days == 0
    again = Delivery.objects.get(activity=send(note("again"), [zed]))
    assert again.state == DELIVERED


def test_failure_after_a_success_counts_again_the_same_day(
    server, zed, alice_doc, send, configure
):
    """Each day with failures counts, once a success has reset the count.

    Failure, success, failure, all today: one day with failures since the
    last success, so the count is 1 (a second such day makes it unavailable
    with DOMAIN_FAILURE_DAYS = 2).
    """
    configure(DOMAIN_FAILURE_DAYS=2)
    server.reply_with(Reply(503), Reply(202), Reply(503))
    send(note("one"), [zed])
    send(note("two"), [zed])
    assert DomainHealth.objects.get(domain=server.domain).failure_days == 0
    send(note("three"), [zed])
    health = DomainHealth.objects.get(domain=server.domain)
    assert health.failure_days == 1


def test_failure_after_an_admin_reset_counts_again_the_same_day(
    admin_client, server, zed, alice_doc, send, configure
):
    """After "Reset: mark available again", a failure today is a failure day."""
    configure(DOMAIN_FAILURE_DAYS=2)
    server.reply_with(Reply(503), Reply(503))
    send(note("one"), [zed])
    health = DomainHealth.objects.get(domain=server.domain)
    assert health.failure_days == 1
    admin_client.post(
        "/admin/vox_activity/domainhealth/",
        {"action": "reset", ACTION_CHECKBOX_NAME: [health.pk]},
    )
    health.refresh_from_db()
    assert health.failure_days == 0
    send(note("two"), [zed])
    health.refresh_from_db()
    assert health.failure_days == 1


# --- the admin ---------------------------------------------------------------


def test_admin_deliveries_filters_and_retry_now(
    admin_client, fediverse, alice_doc, send
):
    ok, bad, busy = fediverse.server(), fediverse.server(), fediverse.server()
    bad.reply_with(Reply(400, body=b"bad request"))
    busy.reply_with(Reply(503))
    addresses = [s.add_actor("someone") for s in (ok, bad, busy)]
    activity = send(note(), addresses)
    delivered = Delivery.objects.get(activity=activity, domain=ok.domain)
    failed = Delivery.objects.get(activity=activity, domain=bad.domain)
    pending = Delivery.objects.get(activity=activity, domain=busy.domain)
    assert (delivered.state, failed.state, pending.state) == (
        DELIVERED,
        FAILED,
        PENDING,
    )

    url = "/admin/vox_activity/delivery/"
    listing = admin_client.get(url)
    assert listing.status_code == 200
    assert changelist_pks(listing) == {delivered.pk, failed.pk, pending.pk}
    for row in (delivered, failed, pending):
        assert row.inbox in listing.content.decode()
    for query, expected in [
        ("state=pending", {pending.pk}),
        ("state__exact=failed", {failed.pk}),
        (f"domain={quote(bad.domain)}", {failed.pk}),
        (f"domain={quote(ok.domain)}", {delivered.pk}),
    ]:
        response = admin_client.get(f"{url}?{query}")
        assert response.status_code == 200, query
        assert changelist_pks(response) == expected, query
    detail = admin_client.get(f"{url}{failed.pk}/change/")
    assert detail.status_code == 200
    assert "HTTP 400: bad request" in detail.content.decode()

    response = admin_client.post(
        url,
        {"action": "retry_now", ACTION_CHECKBOX_NAME: [failed.pk, delivered.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 deliveries queued again." in response.content.decode()
    failed.refresh_from_db()
    delivered.refresh_from_db()
    assert (failed.state, failed.attempts, failed.last_status) == (DELIVERED, 2, 202)
    assert (delivered.state, delivered.attempts) == (DELIVERED, 1)
    assert len(bad.posts()) == 2
    assert len(ok.posts()) == 1


def test_admin_remote_actor_and_server_pages_and_reset(
    admin_client, server, zed, alice_doc, send, configure
):
    configure(DOMAIN_FAILURE_DAYS=2)
    actor = fetch_actor(zed)
    health = DomainHealth.objects.create(
        domain=server.domain,
        failure_days=2,
        last_failure_date=timezone.localdate() - timedelta(days=1),
        unavailable_since=timezone.now(),
    )

    listing = admin_client.get("/admin/vox_activity/remoteactor/")
    assert listing.status_code == 200
    assert changelist_pks(listing) == {actor.pk}
    assert f"@zed@{server.domain}" in listing.content.decode()
    gone = admin_client.get("/admin/vox_activity/remoteactor/?gone_at__isempty=0")
    assert changelist_pks(gone) == set()
    change = admin_client.get(f"/admin/vox_activity/remoteactor/{actor.pk}/change/")
    assert change.status_code == 200
    assert actor.main_key().key_id in change.content.decode()

    servers = admin_client.get("/admin/vox_activity/domainhealth/")
    assert servers.status_code == 200
    assert changelist_pks(servers) == {health.pk}
    assert server.domain in servers.content.decode()

    skipped = Delivery.objects.get(activity=send(note("skipped"), [zed]))
    assert skipped.state == FAILED
    assert server.posts() == []

    response = admin_client.post(
        "/admin/vox_activity/domainhealth/",
        {"action": "reset", ACTION_CHECKBOX_NAME: [health.pk]},
        follow=True,
    )
    assert "1 servers reset." in response.content.decode()
    health.refresh_from_db()
    assert health.available
    assert health.failure_days == 0

    sent = Delivery.objects.get(activity=send(note("sent"), [zed]))
    assert sent.state == DELIVERED
    assert len(server.posts()) == 1
