"""The ``remote_web`` fixture answers as the real HTTP client would.

Many tests stand on it (``tests/support/remote_web.py``), so what it promises
is checked here, through the package's own callers of
:func:`vox_activity.net.http.request` where they exist: the answer type, the
404 for what is not served, the strict and the unreachable modes, what is
recorded, signing, and the refusal inside a transaction.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from vox_activity.exceptions import NetworkInTransactionError
from vox_activity.net import http
from vox_activity.net.remote_actors import fetch_actor

from .support.constants import AP
from .support.remote_actors import uncached_remote
from .support.remote_web import ANY_URL

URL = "https://remote.example/notes/1"


def test_a_served_document_is_a_complete_response(remote_web):
    remote_web.serve(URL, {"id": URL, "type": "Note"})
    response = http.get(URL, {"Accept": AP})
    assert isinstance(response, http.Response)
    assert (response.status_code, response.url) == (200, URL)
    assert response.headers["content-type"] == AP
    assert response.json() == {"id": URL, "type": "Note"}


def test_bytes_a_status_and_headers_are_served_as_given(remote_web):
    remote_web.serve(URL, b"gone", status=410, headers={"Retry-After": "5"})
    response = http.get(URL)
    assert (response.status_code, response.content) == (410, b"gone")
    assert dict(response.headers) == {"Retry-After": "5"}


def test_what_is_not_served_is_404(remote_web):
    response = http.get(URL)
    assert (response.status_code, response.content) == (404, b"")


def test_an_answer_served_once_comes_before_the_standing_one(remote_web):
    remote_web.serve(URL, status=503, once=True)
    remote_web.serve(URL, {"id": URL})
    assert [http.get(URL).status_code for _ in range(3)] == [503, 200, 200]


def test_any_url_answers_what_has_no_answer_of_its_own(remote_web):
    remote_web.offline()
    remote_web.serve(ANY_URL, status=202)
    remote_web.serve(ANY_URL, status=503, once=True)
    remote_web.serve(URL, status=410)
    other = "https://other.example/inbox"
    statuses = [http.post(url, b"{}").status_code for url in (other, URL, other)]
    assert statuses == [503, 410, 202]


def test_every_request_is_recorded_with_its_method_headers_and_body(remote_web):
    http.post(URL, b'{"a": 1}', {"Content-Type": AP})
    http.get(URL)
    (post, get) = remote_web.requests
    assert (post.method, post.url, post.json()) == ("POST", URL, {"a": 1})
    assert post.headers["content-type"] == AP
    assert (get.method, get.body, get.signed) == ("GET", None, False)
    assert remote_web.urls == [URL, URL]


def test_the_signer_is_called_and_its_headers_are_what_is_sent(remote_web):
    calls = []

    def sign(method, url, headers, body):
        calls.append((method, url, dict(headers), body))
        return {**headers, "Signature": "signed"}

    http.request("post", URL, headers={"Date": "now"}, data=b"x", sign=sign)
    assert calls == [("POST", URL, {"Date": "now"}, b"x")]
    (sent,) = remote_web.requests
    assert sent.signed is True
    assert dict(sent.headers) == {"Date": "now", "Signature": "signed"}


def test_offline_fails_the_test_even_where_the_failure_is_swallowed(remote_web):
    remote_web.offline()
    remote_web.serve(URL, {"id": URL})
    assert http.get(URL).status_code == 200  # what is served is still answered
    with pytest.raises(
        pytest.fail.Exception, match="tried to reach the network: GET https://x"
    ):
        try:
            http.get("https://x.example/")
        except Exception:  # the code under test cannot swallow it
            pytest.fail("caught as an Exception")
    assert [sent.url for sent in remote_web.unexpected] == ["https://x.example/"]
    remote_web.unexpected.clear()  # or the fixture fails this test at teardown


def test_unreachable_raises_what_the_real_client_raises(db, remote_web):
    remote_web.unreachable()
    zed = uncached_remote("zed", "down.example")
    with pytest.raises(http.ConnectError) as info:
        http.get(zed.iri)
    assert info.value.url == zed.iri
    remote_web.serve(zed.iri, zed.document)
    assert fetch_actor(zed.iri).iri == zed.iri
    assert remote_web.urls == [zed.iri, zed.iri]


def test_a_callback_sees_each_request_before_its_answer(remote_web):
    seen = []
    remote_web.on_request(lambda sent: seen.append((sent.url, remote_web.urls)))
    http.get(URL)
    assert seen == [(URL, [URL])]


@pytest.mark.django_db(transaction=True)
def test_no_request_inside_a_transaction(remote_web):
    with transaction.atomic(), pytest.raises(NetworkInTransactionError):
        http.get(URL)
    assert remote_web.requests == []


def test_a_redirect_cannot_be_served(remote_web):
    with pytest.raises(ValueError, match="follows redirects"):
        remote_web.serve(URL, status=302, headers={"Location": URL + "/2"})
