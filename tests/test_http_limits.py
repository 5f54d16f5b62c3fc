"""The limits of vox_activity.net.http: the size cap on answers (declared,
chunked, unframed, lying), the read timeout and the total deadline against
servers that stall or trickle, and the one watchdog thread that keeps them.

The servers are real, in threads (``tests/support/loopback_http.py``: routes
answer anything a socket can send); ``http_server``, ``http_settings``,
``dns``, ``routing`` and ``no_connect`` are conftest fixtures.
"""

import threading
import time

import pytest

from vox_activity.net import http as vox_http
from vox_activity.net.http import RequestTimeoutError, ResponseTooLargeError

from .support.loopback_http import reply

# --- size cap ----------------------------------------------------------------


def chunked(handler, pieces):
    # This server hangs up after each answer, so it says so: a client that
    # pooled the connection could send its next request into the hang-up.
    handler.wfile.write(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    for piece in pieces:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    handler.wfile.write(b"0\r\n\r\n")


def unframed(handler, body):
    """No Content-Length, not chunked: the body ends when the server hangs up."""
    handler.wfile.write(b"HTTP/1.0 200 OK\r\n\r\n" + body)


def test_body_at_the_cap_is_accepted(http_settings, http_server):
    http_settings(HTTP_MAX_RESPONSE_SIZE=1000)
    http_server.routes["/exact"] = lambda handler, hit: reply(handler, body=b"a" * 1000)
    http_server.routes["/chunked"] = lambda handler, hit: chunked(
        handler, [b"b" * 500] * 2
    )
    http_server.routes["/unframed"] = lambda handler, hit: unframed(
        handler, b"c" * 1000
    )
    assert vox_http.get(http_server.url("/exact")).content == b"a" * 1000
    assert vox_http.get(http_server.url("/chunked")).content == b"b" * 1000
    assert vox_http.get(http_server.url("/unframed")).content == b"c" * 1000


def test_declared_length_over_the_cap_is_refused_before_reading(
    http_settings, http_server
):
    http_settings(HTTP_MAX_RESPONSE_SIZE=1000)

    def huge(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: 50000000\r\n\r\n")
        handler.wfile.write(b"x" * 10)
        http_server.stop.wait(5)  # reading the body would end in a timeout instead

    http_server.routes["/huge"] = huge
    with pytest.raises(ResponseTooLargeError, match="1000 bytes"):
        vox_http.get(http_server.url("/huge"))


def test_chunked_body_over_the_cap_is_abandoned(http_settings, http_server):
    http_settings(HTTP_MAX_RESPONSE_SIZE=1000)
    http_server.routes["/big"] = lambda handler, hit: chunked(
        handler, [b"x" * 300] * 50
    )
    with pytest.raises(ResponseTooLargeError):
        vox_http.get(http_server.url("/big"))


def test_unframed_body_over_the_cap_is_abandoned(http_settings, http_server):
    http_settings(HTTP_MAX_RESPONSE_SIZE=1000)
    http_server.routes["/big"] = lambda handler, hit: unframed(handler, b"x" * 5000)
    with pytest.raises(ResponseTooLargeError):
        vox_http.get(http_server.url("/big"))


def test_lying_content_length_is_still_capped(http_settings, http_server):
    http_settings(HTTP_MAX_RESPONSE_SIZE=1000)

    def liar(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n")
        handler.wfile.write(b"x" * 5000)

    http_server.routes["/liar"] = liar
    # http.client stops at the declared length: only 10 bytes are read.
    assert vox_http.get(http_server.url("/liar")).content == b"x" * 10


# --- time limits -------------------------------------------------------------


def test_silent_server_hits_the_read_timeout(http_settings, http_server):
    http_settings(HTTP_READ_TIMEOUT=0.2)
    http_server.routes["/silent"] = lambda handler, hit: http_server.stop.wait(5)
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match="HTTP_READ_TIMEOUT"):
        vox_http.get(http_server.url("/silent"))
    assert time.monotonic() - started < 1.5


def test_body_that_stalls_hits_the_read_timeout(http_settings, http_server):
    http_settings(HTTP_READ_TIMEOUT=0.2)

    def stall(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nabc")
        http_server.stop.wait(5)

    http_server.routes["/stall"] = stall
    with pytest.raises(RequestTimeoutError, match="HTTP_READ_TIMEOUT"):
        vox_http.get(http_server.url("/stall"))


def test_trickled_body_hits_the_total_deadline(http_settings, http_server):
    # Every byte arrives well within the read timeout; only the total stops it.
    http_settings(HTTP_READ_TIMEOUT=0.5, HTTP_TOTAL_TIMEOUT=0.4)

    def trickle(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: 200\r\n\r\n")
        http_server.trickle(handler, b"x" * 200)

    http_server.routes["/trickle"] = trickle
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match="HTTP_TOTAL_TIMEOUT"):
        vox_http.get(http_server.url("/trickle"))
    assert time.monotonic() - started < 1.5


def test_trickled_unframed_body_is_not_mistaken_for_a_complete_one(
    http_settings, http_server
):
    http_settings(HTTP_READ_TIMEOUT=0.5, HTTP_TOTAL_TIMEOUT=0.4)

    def trickle(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\n\r\n")
        http_server.trickle(handler, b"x" * 200)

    http_server.routes["/trickle"] = trickle
    with pytest.raises(RequestTimeoutError, match="HTTP_TOTAL_TIMEOUT"):
        vox_http.get(http_server.url("/trickle"))


def test_trickled_headers_hit_the_total_deadline(http_settings, http_server):
    http_settings(HTTP_READ_TIMEOUT=0.5, HTTP_TOTAL_TIMEOUT=0.4)

    def trickle(handler, hit):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
        http_server.trickle(handler, b"y" * 200)

    http_server.routes["/trickle"] = trickle
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError, match="HTTP_TOTAL_TIMEOUT"):
        vox_http.get(http_server.url("/trickle"))
    assert time.monotonic() - started < 1.5


def test_total_deadline_spans_redirects(http_settings, http_server):
    http_settings(HTTP_READ_TIMEOUT=0.5, HTTP_TOTAL_TIMEOUT=0.4, HTTP_MAX_REDIRECTS=20)

    def slow_redirect(handler, hit):
        http_server.stop.wait(0.15)
        reply(handler, 302, headers=[("Location", "/again")])

    http_server.routes["/again"] = slow_redirect
    with pytest.raises(RequestTimeoutError, match="HTTP_TOTAL_TIMEOUT"):
        vox_http.get(http_server.url("/again"))
    assert 2 <= len(http_server.hits) <= 4


# --- the watchdog ------------------------------------------------------------


def test_one_watchdog_thread_serves_every_request(
    http_settings, http_server, monkeypatch
):
    """No thread is started per request: one shared thread keeps the deadlines."""
    vox_http.get(http_server.url("/"))  # the watchdog thread exists from now on
    caller = threading.current_thread()
    started_here = []
    real_start = threading.Thread.start

    def start(thread):
        if threading.current_thread() is caller:
            started_here.append(thread.name)
        return real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    for _ in range(20):
        assert vox_http.get(http_server.url("/")).status_code == 200
    assert started_here == []
    assert vox_http._watchdog().pending() == 0
    names = [t.name for t in threading.enumerate()]
    assert names.count("vox-activity-http-watchdog") == 1


def test_the_watchdog_wakes_for_a_deadline_earlier_than_the_one_it_waits_for():
    watchdog = vox_http._Watchdog()
    later = vox_http._Deadline(60)
    watchdog.watch(later)
    time.sleep(0.05)  # the thread is asleep until the later deadline
    sooner = vox_http._Deadline(0.01)
    watchdog.watch(sooner)
    limit = time.monotonic() + 10  # liveness bound, far below the 60 s
    while not sooner.expired and time.monotonic() < limit:
        time.sleep(0.01)
    assert sooner.expired
    assert not later.expired
    later.finished = True
    watchdog.forget()
    assert watchdog.pending() == 0


def test_a_finished_request_is_never_expired():
    watchdog = vox_http._Watchdog()
    deadline = vox_http._Deadline(0.01)
    deadline.finished = True
    watchdog.watch(deadline)
    marker = vox_http._Deadline(0.02)
    watchdog.watch(marker)
    limit = time.monotonic() + 10
    while not marker.expired and time.monotonic() < limit:
        time.sleep(0.01)
    assert marker.expired
    assert not deadline.expired
