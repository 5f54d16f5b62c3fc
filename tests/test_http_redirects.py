"""Redirects in vox_activity.net.http: followed up to a limit, methods kept or
turned into GET as HTTP says, other schemes refused, credentials kept to
their origin, and every hop signed again.

The servers are real, in threads (``tests/support/loopback_http.py``: routes
answer anything a socket can send); ``http_server``, ``http_settings``,
``dns``, ``routing`` and ``no_connect`` are conftest fixtures.

Redirects to private addresses are the guard's (``test_http_guard.py``); the
deadline across redirects is in ``test_http_limits.py``.
"""

import pytest

from vox_activity.net import http as vox_http
from vox_activity.net.http import InvalidURLError, TooManyRedirectsError

from .support.loopback_http import reply

# --- redirects ---------------------------------------------------------------


def redirect(status, location):
    return lambda handler, hit: reply(handler, status, headers=[("Location", location)])


def test_redirects_are_followed_up_to_the_limit(http_settings, http_server):
    http_settings(HTTP_MAX_REDIRECTS=2)
    http_server.routes["/a"] = redirect(301, "/b")
    http_server.routes["/b"] = redirect(302, http_server.url("/c"))
    response = vox_http.get(http_server.url("/a"))
    assert response.status_code == 200
    assert response.url == http_server.url("/c")
    assert http_server.paths() == ["/a", "/b", "/c"]


def test_too_many_redirects(http_settings, http_server):
    http_settings(HTTP_MAX_REDIRECTS=2)
    http_server.routes["/loop"] = redirect(302, "/loop")
    with pytest.raises(TooManyRedirectsError, match="HTTP_MAX_REDIRECTS"):
        vox_http.get(http_server.url("/loop"))
    assert http_server.paths() == ["/loop"] * 3


def test_redirect_without_location_is_returned(http_settings, http_server):
    http_server.routes["/odd"] = lambda handler, hit: reply(handler, 302, b"nowhere")
    response = vox_http.get(http_server.url("/odd"))
    assert (response.status_code, response.content) == (302, b"nowhere")


def test_see_other_turns_post_into_get(http_settings, http_server):
    http_server.routes["/inbox"] = redirect(303, "/done")
    response = vox_http.post(
        http_server.url("/inbox"), b"payload", {"Content-Type": "application/json"}
    )
    assert response.json() == {"method": "GET", "path": "/done", "body": ""}
    landing = http_server.hits[1]
    assert "content-type" not in landing.headers
    assert landing.headers.get("content-length") in (None, "0")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_other_redirects_keep_method_and_body(http_settings, http_server, status):
    http_server.routes["/old-inbox"] = redirect(status, "/new-inbox")
    response = vox_http.post(
        http_server.url("/old-inbox"), b"payload", {"Content-Type": "application/json"}
    )
    assert response.json() == {
        "method": "POST",
        "path": "/new-inbox",
        "body": "payload",
    }
    assert http_server.hits[1].headers["content-type"] == "application/json"


def test_redirect_to_another_scheme_is_refused(http_settings, http_server):
    http_server.routes["/file"] = redirect(302, "file:///etc/passwd")
    with pytest.raises(InvalidURLError, match="file:///etc/passwd"):
        vox_http.get(http_server.url("/file"))


def test_credentials_stay_with_their_origin(http_settings, make_server, dns):
    first, second = make_server(), make_server()
    dns["one.test"] = dns["two.test"] = ["127.0.0.1"]
    first.routes["/same"] = redirect(302, "/landing")
    first.routes["/away"] = redirect(307, second.url("/landing", host="two.test"))
    credentials = {
        "Authorization": "Bearer secret",
        "Signature": 'keyId="k",signature="s"',
        "Accept": "application/activity+json",
    }

    vox_http.get(first.url("/same", host="one.test"), credentials)
    same = first.hits[-1].headers
    assert same["authorization"] == "Bearer secret"
    assert same["signature"] == 'keyId="k",signature="s"'

    vox_http.get(first.url("/away", host="one.test"), credentials)
    (away,) = [hit.headers for hit in second.hits]
    assert "authorization" not in away
    assert "signature" not in away
    assert away["accept"] == "application/activity+json"
    assert away["host"] == f"two.test:{second.port}"


def test_sign_is_called_for_every_hop(http_settings, make_server, dns):
    first, second = make_server(), make_server()
    dns["one.test"] = dns["two.test"] = ["127.0.0.1"]
    first.routes["/inbox"] = redirect(303, second.url("/done", host="two.test"))
    calls = []

    def sign(method, url, headers, body):
        calls.append((method, url, headers["Host"], body))
        return {**headers, "Signature": f"{method} {url}"}

    vox_http.post(first.url("/inbox", host="one.test"), b"{}", sign=sign)
    assert calls == [
        ("POST", first.url("/inbox", host="one.test"), f"one.test:{first.port}", b"{}"),
        ("GET", second.url("/done", host="two.test"), f"two.test:{second.port}", None),
    ]
    assert first.hits[0].headers["signature"] == calls[0][0] + " " + calls[0][1]
    assert second.hits[0].headers["signature"] == calls[1][0] + " " + calls[1][1]
