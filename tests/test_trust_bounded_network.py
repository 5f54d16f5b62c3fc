"""Bounded network: strangers' servers cannot hold this site's threads.

An inbox POST names the key that signed it, and the key lives on the
sender's server, which decides how long its answer takes.  Before the
redesign the key was fetched in the request thread with only the client's
per-request limits (30 s), so a handful of POSTs whose key servers trickle a
byte every few seconds held every thread of a small server: a plain
``GET /`` took 28 s.  Now every fetch made while answering a request runs
under :func:`vox_activity.net.budget.request_budget`: one short deadline, a
cap per process and per host that refuses at once instead of queueing, and
a memory of hosts that timed out.  On top, inbox POSTs are counted per
sender (``INBOX_RATE_LIMIT``): 429 with ``Retry-After`` beyond the limit.

The first test runs the demo site in a real multi-threaded server
(waitress, 4 threads) in a subprocess; the others use the HTTP client for
real against hostile servers on loopback (``tests/support/slow_servers.py``).  The
times asserted are loose liveness bounds (seconds against tens of seconds),
never benchmarks.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import threading
import time
import types
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.test import Client

from testsite.cluster import MANAGE, ROOT, Instance, free_port, stop_process
from testsite.cluster import wait_for_port as listening
from vox_activity.exceptions import HttpError
from vox_activity.incoming import throttle
from vox_activity.models import ActorKey
from vox_activity.net import budget, http
from vox_activity.net.budget import fetch_slot, request_budget
from vox_activity.net.signing import signing_key_for
from vox_activity.protocol.cavage import sign_request

from .fediverse import Fediverse
from .settings import SUITE_VOX_ACTIVITY
from .support.constants import AP, SITE
from .support.records import table_counts
from .support.remote_actors import body_of, make_remote, post_signed, private_key
from .support.slow_servers import Gauge, TrickleServer

ALICE = f"{SITE}/~alice/"
SHARED = "/activitypub/inbox"

#: A loose bound for "answers promptly": the 28 s measured before the
#: redesign is what it guards against, not a performance target.
PROMPTLY = 10.0


def signed_post(url: str, actor: str, index: int) -> tuple[bytes, dict[str, str]]:
    """A Like by ``actor`` for ``url``, signed with a key ``actor`` claims."""
    origin = actor.rsplit("/users/", 1)[0]
    data = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{origin}/likes/{index}",
        "type": "Like",
        "actor": actor,
        "object": url,
    }
    body = body_of(data)
    headers = sign_request(
        "POST",
        url,
        {"Content-Type": AP},
        body,
        key_id=f"{actor}#main-key",
        private_key_pem=private_key(0),
    )
    return body, dict(headers)


def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# --- 1. a real server stays responsive -------------------------------------------


@pytest.fixture(scope="module")
def running_site(tmp_path_factory):
    """The demo blog served by waitress with 4 threads, on a free port.

    Its own SQLite database; outbound requests may reach loopback
    (``TESTSITE_ALLOW_PRIVATE``), so its key fetches really reach the
    hostile servers below.  Stopped by pid whatever happens.
    """
    directory = tmp_path_factory.mktemp("bounded")
    site = Instance(
        "bounded",
        free_port(),
        f"sqlite:///{directory / 'bounded.sqlite3'}",
        directory,
        sys.executable,
    )
    site.manage("migrate", "--no-input")
    with open(site.server_log, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), "demo_serve", "--port", str(site.port),
             "--threads", "4", "--quiet"],
            cwd=ROOT,
            env=site.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        if not listening(site.port, process, timeout=60):
            pytest.fail(f"the site did not start:\n{site.server_log.read_text()}")
        # Warm up: the first request imports the views and URLconf.
        with urllib.request.urlopen(site.url("/"), timeout=60) as page:
            assert page.status == 200
        yield site
    finally:
        stop_process(process)


def post_from_thread(url: str, body: bytes, headers: dict[str, str], out: list):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            out.append(response.status)
    except urllib.error.HTTPError as error:
        out.append(error.code)
    except OSError as error:
        out.append(repr(error))


@pytest.mark.e2e  # a real server process, and trickles of seconds
def test_posts_with_trickling_key_servers_leave_the_site_responsive(running_site):
    """8 concurrent POSTs whose keyId servers send a byte every 3 s, on 8
    different hosts (127.0.0.2-9): a GET / on the same 4-thread server still
    answers promptly, and the POSTs are refused with 401."""
    inbox = running_site.url("/activitypub/inbox")
    everyone = Gauge()
    trickles = [
        TrickleServer(f"127.0.0.{n}", interval=3.0, shared=everyone)
        for n in range(2, 10)
    ]
    statuses: list = []
    posts = []
    try:
        for index, trickle in enumerate(trickles):
            body, headers = signed_post(inbox, trickle.url("/users/u"), index)
            thread = threading.Thread(
                target=post_from_thread, args=(inbox, body, headers, statuses)
            )
            thread.start()
            posts.append(thread)
        wait_for(lambda: everyone.connections > 0, timeout=30)  # busy fetching

        started = time.monotonic()
        with urllib.request.urlopen(running_site.url("/"), timeout=60) as page:
            status = page.status
        waited = time.monotonic() - started

        for thread in posts:
            thread.join(60)
    finally:
        for trickle in trickles:
            trickle.close()
    assert status == 200
    assert waited < PROMPTLY, f"GET / took {waited:.1f} s"
    assert statuses == [401] * 8
    # FETCH_CONCURRENCY (2): never more key fetches in flight at once.
    assert 1 <= everyone.max_in_flight <= 2


# --- 2. the caps refuse at once ------------------------------------------------


@pytest.fixture
def loopback(settings, monkeypatch, db):
    """Real requests to loopback; ``*.example`` names resolve to 127.0.0.1,
    so one server can stand for many hosts."""
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "ALLOW_PRIVATE_ADDRESSES": True,
        "INBOX_RATE_LIMIT": None,
        "KEY_SIZE": 1024,
        "FETCH_DEADLINE": 10.0,
        "FETCH_CONCURRENCY": 2,
        "FETCH_CONCURRENCY_PER_HOST": 1,
    }
    real = http.resolve

    def resolve(host, port):
        if host.endswith(".example"):
            return [ipaddress.ip_address("127.0.0.1")]
        return real(host, port)

    monkeypatch.setattr(http, "resolve", resolve)


@pytest.fixture
def trickle():
    server = TrickleServer(interval=30.0)  # accepts, then sends nothing
    yield server
    server.close()


def fetch_in_thread(url: str, errors: list) -> threading.Thread:
    """GET ``url`` under a request budget of its own, in a new thread."""

    def fetch() -> None:
        with request_budget():
            try:
                http.get(url)
            except HttpError as exc:
                errors.append(exc)

    thread = threading.Thread(target=fetch)
    thread.start()
    return thread


def test_the_per_process_cap_refuses_at_once(loopback, trickle):
    errors: list = []
    held = [
        fetch_in_thread(trickle.url("/k", host=f"h{n}.example"), errors) for n in (1, 2)
    ]
    wait_for(lambda: trickle.gauge.in_flight == 2)
    with request_budget(), pytest.raises(HttpError) as refused:
        http.get(trickle.url("/k", host="h3.example"))
    assert "Too many fetches in progress" in str(refused.value)
    assert trickle.gauge.in_flight == 2  # refused without connecting, or waiting
    trickle.close()  # lets the held fetches end
    for thread in held:
        thread.join(15)
    assert trickle.gauge.connections == 2
    assert len(errors) == 2


def test_the_per_host_cap_refuses_at_once(loopback, trickle):
    errors: list = []
    held = fetch_in_thread(trickle.url("/k", host="h1.example"), errors)
    wait_for(lambda: trickle.gauge.in_flight == 1)
    with request_budget(), pytest.raises(HttpError) as refused:
        http.get(trickle.url("/other", host="h1.example"))
    assert "Already fetching from h1.example" in str(refused.value)
    # Another host is not held up by the first one.
    other = fetch_in_thread(trickle.url("/k", host="h2.example"), errors)
    wait_for(lambda: trickle.gauge.connections == 2)
    trickle.close()
    held.join(15)
    other.join(15)


def test_slots_are_given_back_whatever_happens(loopback):
    with request_budget():
        for _ in range(5):
            with pytest.raises(RuntimeError), fetch_slot("h1.example", "u"):
                raise RuntimeError("a failed fetch")
        with fetch_slot("h1.example", "u"), fetch_slot("h2.example", "u"):
            pass  # both caps free again: nothing leaked


def test_without_a_budget_background_work_is_not_capped(loopback, settings):
    settings.VOX_ACTIVITY = {**settings.VOX_ACTIVITY, "FETCH_CONCURRENCY": 1}
    with fetch_slot("h1.example", "u"), fetch_slot("h1.example", "u"):
        assert budget.current_budget() is None


def test_a_host_that_timed_out_is_not_asked_again_while_answering(
    loopback, trickle, httpsig
):
    fediverse = Fediverse(httpsig)
    fast = fediverse.server()  # also on 127.0.0.1: the same host
    try:
        with request_budget(0.5), pytest.raises(http.RequestTimeoutError):
            http.get(trickle.url("/users/a"))
        with request_budget(), pytest.raises(HttpError) as refused:
            http.get(fast.url("/users/b"))
        assert "timed out recently" in str(refused.value)
        assert fast.requests() == []
        # Background work (deliveries) is not affected by the memory.
        assert http.get(fast.url("/users/b")).status_code == 404
        assert len(fast.requests()) == 1
    finally:
        fediverse.close()


def test_one_deadline_bounds_every_fetch_of_a_request(loopback, settings):
    """The client alone would wait 30 s (HTTP_TOTAL_TIMEOUT) for a trickle."""
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        **settings.VOX_ACTIVITY,
        "HTTP_TOTAL_TIMEOUT": 30.0,
        "HTTP_READ_TIMEOUT": 10.0,
    }
    first, second = TrickleServer(interval=0.2), TrickleServer(interval=0.2)
    started = time.monotonic()
    try:
        with request_budget(1.0):
            assert http._Limits.from_settings().total <= 1.0
            with pytest.raises(http.RequestTimeoutError):
                http.get(first.url("/k", host="first.example"))
            with pytest.raises(HttpError) as refused:
                http.get(second.url("/k", host="second.example"))
    finally:
        first.close()
        second.close()
    assert "No time left" in str(refused.value)
    assert second.gauge.connections == 0
    assert time.monotonic() - started < PROMPTLY


def test_thirty_unknown_key_ids_do_not_make_thirty_fetches_at_once(
    transactional_db, loopback, trickle, settings
):
    """30 POSTs at once, each signed with a key on a host of its own."""
    settings.VOX_ACTIVITY = {**settings.VOX_ACTIVITY, "FETCH_DEADLINE": 2.0}
    ActorKey.objects.for_actor(None)
    signing_key_for(None)  # parsed once, before the threads need it
    statuses: list[int] = []
    errors: list[BaseException] = []

    def post(index: int) -> None:
        actor = trickle.url("/users/u", host=f"k{index}.example")
        body, headers = signed_post(f"{SITE}{SHARED}", actor, index)
        extras = {
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in headers.items()
            if name.lower() != "content-type"
        }
        try:
            response = Client().generic("POST", SHARED, body, content_type=AP, **extras)
            statuses.append(response.status_code)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert statuses == [401] * 30
    assert 1 <= trickle.gauge.max_in_flight <= 2  # FETCH_CONCURRENCY
    assert trickle.gauge.connections < 30


# --- 3. rate limits ----------------------------------------------------------------

#: 20 s into a 60-second window: 40 s left.
NOW = 60 * 16_666_667 + 20.0


@pytest.fixture
def limited(settings, monkeypatch):
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "INBOX_RATE_LIMIT": 3,
        "INBOX_RATE_WINDOW": 60,
    }
    monkeypatch.setattr(throttle, "time", types.SimpleNamespace(time=lambda: NOW))


def like(sender) -> dict:
    return sender.activity("Like", ALICE)


def test_over_the_limit_a_server_gets_429_with_retry_after(
    client, alice, limited, unreachable
):
    carol = make_remote("carol")
    for _ in range(3):
        assert post_signed(client, SHARED, like(carol), carol).status_code == 202
    before = table_counts()
    response = post_signed(client, SHARED, like(carol), carol)
    assert response.status_code == 429
    assert response["Retry-After"] == "40"
    assert "try again in 40 s" in json.loads(response.content)["error"]
    assert table_counts() == before


def test_the_limit_counts_per_key_host_and_client_address(
    client, alice, limited, unreachable
):
    carol = make_remote("carol")
    dave = make_remote("dave", key=1)  # carol's server
    erin = make_remote("erin", "other.example", key=2)
    for _ in range(3):
        assert post_signed(client, SHARED, like(carol), carol).status_code == 202
    # Another actor of the same server shares its allowance...
    assert post_signed(client, SHARED, like(dave), dave).status_code == 429
    # ...but another server, or the same keys from another address, do not.
    assert post_signed(client, SHARED, like(erin), erin).status_code == 202
    elsewhere = {"REMOTE_ADDR": "203.0.113.7"}
    assert (
        post_signed(client, SHARED, like(carol), carol, **elsewhere).status_code == 202
    )


def test_over_the_limit_nothing_is_fetched(client, alice, limited, unreachable):
    """An unknown keyId over the limit costs no fetch: 429 comes first."""
    carol = make_remote("carol")
    for _ in range(3):
        assert post_signed(client, SHARED, like(carol), carol).status_code == 202
    stranger = make_remote("zed", key=3)  # same server; its key not cached
    stranger.row.keys.all().delete()
    response = post_signed(client, SHARED, like(stranger), stranger)
    assert response.status_code == 429
    assert unreachable.requests == []


def test_the_limit_is_off_when_unset(client, alice, settings, unreachable):
    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "INBOX_RATE_LIMIT": None}
    carol = make_remote("carol")
    for _ in range(5):
        assert post_signed(client, SHARED, like(carol), carol).status_code == 202
