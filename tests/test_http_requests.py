"""vox_activity.net.http against real HTTP servers on 127.0.0.1: ordinary
requests and their complete responses, error statuses returned, the User-Agent,
the URLs it accepts at all, and the one root of its errors.

The servers are real, in threads (``tests/support/loopback_http.py``: routes
answer anything a socket can send); ``http_server``, ``http_settings``,
``dns``, ``routing`` and ``no_connect`` are conftest fixtures.
"""

import socket

import pytest

from vox_activity import __version__
from vox_activity.net import http as vox_http
from vox_activity.net.http import (
    BlockedAddressError,
    ConnectError,
    HttpError,
    InvalidURLError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)

from .support.loopback_http import reply

# --- ordinary requests -------------------------------------------------------


def test_get_returns_the_complete_response(http_settings, http_server):
    def actor(handler, hit):
        body = b'{"type": "Person"}'
        reply(handler, body=body, headers=[("Content-Type", "application/json")])

    http_server.routes["/actor"] = actor
    response = vox_http.get(http_server.url("/actor"), {"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["CONTENT-TYPE"] == "application/json"
    assert response.json() == {"type": "Person"}
    assert response.url == http_server.url("/actor")
    (hit,) = http_server.hits
    assert hit.method == "GET"
    assert hit.headers["accept"] == "application/json"
    assert hit.headers["host"] == f"127.0.0.1:{http_server.port}"


def test_post_sends_the_body(http_settings, http_server):
    response = vox_http.post(
        http_server.url("/inbox"), b'{"type": "Follow"}', {"Content-Type": "x/y"}
    )
    assert response.json() == {
        "method": "POST",
        "path": "/inbox",
        "body": '{"type": "Follow"}',
    }
    assert http_server.hits[0].headers["content-type"] == "x/y"
    assert http_server.hits[0].headers["content-length"] == "18"


def test_error_statuses_are_returned_not_raised(http_settings, http_server):
    http_server.routes["/busy"] = lambda handler, hit: reply(
        handler, 429, b"slow down", [("Retry-After", "7")]
    )
    response = vox_http.request("GET", http_server.url("/busy"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.content == b"slow down"


def test_user_agent_names_the_package_and_the_site(http_settings, http_server):
    http_settings(USER_AGENT=None)
    vox_http.get(http_server.url())
    expected = f"vox-activity/{__version__} (+https://testserver/)"
    assert http_server.hits[-1].headers["user-agent"] == expected
    assert vox_http.user_agent() == expected

    http_settings(USER_AGENT="my-bot/2")
    vox_http.get(http_server.url())
    assert http_server.hits[-1].headers["user-agent"] == "my-bot/2"

    vox_http.get(http_server.url(), {"user-agent": "explicit/1"})
    assert http_server.hits[-1].headers["user-agent"] == "explicit/1"


def test_connection_refused_is_a_connect_error(http_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError, match=r"127\.0\.0\.1"):
        vox_http.get(f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user:secret@example.com/",
        "http:///no-host",
        "http://example.com:99999/",
        "not a url",
    ],
)
def test_only_plain_http_and_https_urls(http_settings, no_connect, url):
    with pytest.raises(InvalidURLError):
        vox_http.get(url)
    assert no_connect == []


# --- errors ------------------------------------------------------------------


def test_every_error_is_an_http_error():
    for error in (
        BlockedAddressError,
        ConnectError,
        InvalidURLError,
        RequestTimeoutError,
        ResponseTooLargeError,
        TooManyRedirectsError,
    ):
        assert issubclass(error, HttpError)
