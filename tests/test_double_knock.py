"""Outbound signatures: the double knock (RFC 9421 first, draft-cavage on 400/401).

Fedify signs with RFC 9421 first and falls back; Mastodon verifies RFC 9421
since 4.5 and draft-cavage always.  The fake servers of ``tests/fediverse``
verify both independently (``http-message-signatures`` and ``httpsig``) and
can be told to refuse one scheme with a 401, as an older Mastodon does.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from vox_activity.models import DomainHealth
from vox_activity.net.remote_actors import fetch_actor
from vox_activity.net.signing import remembered_scheme
from vox_activity.outgoing.publish import publish

from .fediverse import Fediverse
from .settings import SUITE_VOX_ACTIVITY

SETTINGS = {
    "ALLOW_PRIVATE_ADDRESSES": True,
    "HTTP_CONNECT_TIMEOUT": 0.5,
    "HTTP_READ_TIMEOUT": 1.0,
    "HTTP_TOTAL_TIMEOUT": 3.0,
    "KEY_SIZE": 1024,
}
ALICE = "https://testserver/~alice/"


@pytest.fixture
def fediverse(httpsig, settings, client, alice):
    settings.VOX_ACTIVITY = SETTINGS
    net = Fediverse(httpsig)
    for path in ("/~alice/", "/activitypub/actor"):
        net.trust(client.get(path, HTTP_ACCEPT="application/activity+json").json())
    yield net
    net.close()


def schemes(hits) -> list[str]:
    return ["rfc9421" if "signature-input" in h.headers else "cavage" for h in hits]


def deliver(server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish(
            {"type": "Create", "actor": ALICE, "object": {"type": "Note"}},
            [server.iri("zed")],
        )


def test_a_server_that_speaks_rfc9421_is_signed_once_with_it(
    fediverse, django_capture_on_commit_callbacks
):
    server = fediverse.server()
    server.add_actor("zed")
    deliver(server, django_capture_on_commit_callbacks)
    get, post = server.requests()
    assert schemes([get, post]) == ["rfc9421", "rfc9421"]
    assert (get.verified, post.verified) == (True, True), (get.problem, post.problem)
    assert "content-digest" in post.headers["signature-input"]
    assert remembered_scheme(server.origin) == "rfc9421"
    health = DomainHealth.objects.get(domain=server.domain)
    assert health.signature_scheme == "rfc9421"


def test_a_server_that_refuses_rfc9421_gets_cavage_then_only_cavage(
    fediverse, django_capture_on_commit_callbacks
):
    server = fediverse.server()
    server.accepts = {"cavage"}
    server.add_actor("zed")
    deliver(server, django_capture_on_commit_callbacks)
    # The fetch of zed knocks twice, and the answer is remembered: the
    # delivery that follows knocks once.
    assert [
        (h.method, s)
        for h, s in zip(server.requests(), schemes(server.requests()), strict=True)
    ] == [
        ("GET", "rfc9421"),
        ("GET", "cavage"),
        ("POST", "cavage"),
    ]
    assert all(h.verified for h in server.requests())
    assert remembered_scheme(server.origin) == "cavage"
    cache.clear()  # another process: the database row remembers
    assert remembered_scheme(server.origin) == "cavage"


def test_a_server_refusing_both_is_not_remembered(fediverse):
    server = fediverse.server()
    server.accepts = set()
    iri = server.add_actor("zed")
    with pytest.raises(Exception, match="401"):
        fetch_actor(iri)
    assert schemes(server.requests()) == ["rfc9421", "cavage"]
    assert remembered_scheme(server.origin) is None


@pytest.mark.parametrize("mode", ["rfc9421", "cavage"])
def test_one_scheme_only_never_knocks_twice(fediverse, settings, mode):
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        **SETTINGS,
        "HTTP_SIGNATURES": mode,
    }
    server = fediverse.server()
    server.accepts = {"rfc9421", "cavage"} - {mode}
    iri = server.add_actor("zed")
    with pytest.raises(Exception, match="401"):
        fetch_actor(iri)
    assert schemes(server.requests()) == [mode]
    assert not DomainHealth.objects.exists()


def test_an_unknown_scheme_setting_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    from vox_activity.conf import get_setting

    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "HTTP_SIGNATURES": "both"}
    with pytest.raises(ImproperlyConfigured, match="HTTP_SIGNATURES"):
        get_setting("HTTP_SIGNATURES")
