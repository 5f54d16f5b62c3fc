"""Fetching remote actors: signed GETs, the documents and answers refused (with
the reason), the cache and its TTL, gone actors, WebFinger, redirects, and
the address guard in front of every fetch.

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

import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from vox_activity.exceptions import RemoteActorError, RemoteActorGone
from vox_activity.models import Delivery, RemoteActor
from vox_activity.net.remote_actors import fetch_actor
from vox_activity.net.webfinger import resolve_acct
from vox_activity.protocol.cavage import (
    generate_private_key_pem,
    parse_signature_header,
    public_key_pem,
)

from .fediverse import Reply
from .support.constants import AP, LD
from .support.outbound import (
    ALICE_KEY,
    DELIVERED,
    INSTANCE_KEY,
    assert_signed_by,
    note,
    path_of,
)

# --- fetching remote actors --------------------------------------------------


def test_fetch_actor_is_a_get_signed_by_the_instance_actor(
    server, zed, instance_doc, alice_doc
):
    actor = fetch_actor(zed)
    served = server.actors["zed"]
    assert actor.iri == zed
    assert actor.inbox == server.inbox("zed")
    assert actor.shared_inbox == server.shared_inbox
    assert actor.delivery_inbox == server.shared_inbox
    (key,) = actor.keys.all()
    assert key.key_id == zed + "#main-key"
    assert key.public_key_pem == served["publicKey"]["publicKeyPem"]
    assert actor.preferred_username == "zed"
    assert actor.domain == server.domain
    assert actor.data == served
    assert actor.gone_at is None

    (hit,) = server.requests()
    assert (hit.method, hit.path) == ("GET", "/users/zed")
    assert_signed_by(hit, INSTANCE_KEY)
    # The same check with another key fails: the True above means something.
    assert not server.verify(hit, alice_doc["publicKey"]["publicKeyPem"])
    signed = parse_signature_header(hit.headers["signature"]).headers
    assert signed[:3] == ["(request-target)", "host", "date"]
    accepted = [part.strip() for part in hit.headers["accept"].split(",")]
    assert AP in accepted
    assert LD in accepted
    assert hit.headers["host"] == server.domain


def test_actor_without_shared_inbox_is_delivered_to_its_own_inbox(server, db):
    iri = server.add_actor("solo", shared_inbox=False)
    actor = fetch_actor(iri)
    assert actor.shared_inbox == ""
    assert actor.delivery_inbox == server.inbox("solo")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            lambda s: {"id": "https://elsewhere.example/users/x"},
            "must be served from its own id",
        ),
        (lambda s: {"type": "Note"}, "is a 'Note', not an actor"),
        (lambda s: {"type": None}, "not an actor"),
        (lambda s: {"inbox": None}, "has no usable inbox"),
        (lambda s: {"inbox": "ftp://example.com/inbox"}, "has no usable inbox"),
        (lambda s: {"publicKey": None}, "has no publicKey with an id and a PEM"),
        (
            lambda s: {"publicKey": {"id": s.iri("bad") + "#k", "owner": s.iri("bad")}},
            "has no publicKey with an id and a PEM",
        ),
        (
            lambda s: {
                "publicKey": {
                    "id": s.iri("other") + "#main-key",
                    "owner": s.iri("other"),
                    "publicKeyPem": "-----BEGIN PUBLIC KEY-----",
                }
            },
            "says it belongs to",
        ),
    ],
    ids=[
        "id-mismatch",
        "not-an-actor",
        "no-type",
        "no-inbox",
        "ftp-inbox",
        "no-public-key",
        "key-without-pem",
        "key-owner-mismatch",
    ],
)
def test_unusable_actor_documents_are_refused_with_a_reason(
    server, db, changes, reason
):
    iri = server.add_actor("bad", **changes(server))
    with pytest.raises(RemoteActorError, match=reason):
        fetch_actor(iri)
    assert not RemoteActor.objects.exists()
    assert len(server.gets("/users/bad")) == 1


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(500, body=b"boom"), "answered HTTP 500"),
        (Reply(200, {"Content-Type": AP}, b"<html>"), "not valid JSON"),
        (Reply(200, {"Content-Type": AP}, b"[1, 2]"), "must be a JSON object"),
        (Reply(200, {"Content-Type": AP}, b'{"id": NaN}'), "NaN is not valid JSON"),
        (Reply(200, {"Content-Type": AP}, b'{"a": "\\u0000"}'), "NUL characters"),
        (
            Reply(200, {"Content-Type": AP}, b'{"a": ' + b"[" * 99 + b"]" * 99 + b"}"),
            "nested more than 64",
        ),
    ],
)
def test_broken_answers_are_refused_with_a_reason(server, db, reply, reason):
    server.routes["/users/broken"] = reply
    with pytest.raises(RemoteActorError, match=reason):
        fetch_actor(server.iri("broken"))
    assert not RemoteActor.objects.exists()


def test_unfetchable_address_does_not_stop_the_others(
    server, zed, alice_doc, send, caplog
):
    broken = server.add_actor("broken", type="Note")
    with caplog.at_level(logging.WARNING, logger="vox_activity"):
        activity = send(note(), [broken, zed])
    (row,) = Delivery.objects.filter(activity=activity)
    assert row.inbox == server.shared_inbox
    assert row.state == DELIVERED
    (record,) = [
        r
        for r in caplog.records
        if r.name == "vox_activity.net.remote_actors" and broken in r.getMessage()
    ]
    assert record.levelno == logging.WARNING
    assert "is a 'Note', not an actor" in record.getMessage()


def test_cached_actor_is_reused_within_the_ttl_then_refetched(
    server, zed, configure, alice_doc, send
):
    configure(REMOTE_ACTOR_TTL=600)
    first = fetch_actor(zed)
    assert fetch_actor(zed).pk == first.pk
    send(note(), [zed])  # publishing reads the cache too
    assert len(server.gets("/users/zed")) == 1

    server.actors["zed"]["preferredUsername"] = "zed-renamed"
    RemoteActor.objects.filter(pk=first.pk).update(
        fetched_at=timezone.now() - timedelta(seconds=601)
    )
    refetched = fetch_actor(zed)
    assert len(server.gets("/users/zed")) == 2
    assert refetched.pk == first.pk
    assert refetched.preferred_username == "zed-renamed"
    assert fetch_actor(zed).pk == first.pk
    assert len(server.gets("/users/zed")) == 2

    fetch_actor(zed, refresh=True)
    assert len(server.gets("/users/zed")) == 3
    assert RemoteActor.objects.count() == 1


@pytest.mark.parametrize("status", [404, 410])
def test_actor_answering_gone_is_marked_gone_and_skipped(
    server, zed, alice_doc, send, status
):
    actor = fetch_actor(zed)
    server.routes["/users/zed"] = Reply(status)
    with pytest.raises(RemoteActorGone):
        fetch_actor(zed, refresh=True)
    actor.refresh_from_db()
    assert actor.gone_at is not None
    assert issubclass(RemoteActorGone, RemoteActorError)

    requests_so_far = len(server.requests())
    with pytest.raises(RemoteActorGone, match="is gone"):
        fetch_actor(zed)  # the cache says so: no request
    activity = send(note(), [zed])
    assert not Delivery.objects.filter(activity=activity).exists()
    assert len(server.requests()) == requests_so_far


def test_resolve_acct_through_webfinger(server, zed, db, settings, trust):
    settings.SITE_SSL = False  # so the WebFinger lookup uses http, as for us
    trust("/activitypub/actor")
    actor = resolve_acct(f"acct:zed@{server.domain}")
    assert actor.iri == zed
    assert actor.inbox == server.inbox("zed")

    webfinger, fetch = server.requests()
    assert path_of(webfinger.path) == "/.well-known/webfinger"
    query = parse_qs(urlsplit(webfinger.path).query)
    assert query == {"resource": [f"acct:zed@{server.domain}"]}
    assert "application/jrd+json" in webfinger.headers["accept"]
    assert_signed_by(webfinger, "http://testserver/activitypub/actor#main-key")
    assert (fetch.method, fetch.path) == ("GET", "/users/zed")
    assert_signed_by(fetch, "http://testserver/activitypub/actor#main-key")

    # The @user@host form; the actor itself now comes from the cache.
    assert resolve_acct(f"@zed@{server.domain}").pk == actor.pk
    assert len(server.gets("/users/zed")) == 1
    with pytest.raises(RemoteActorError, match="answered HTTP 404"):
        resolve_acct(f"acct:nobody@{server.domain}")
    with pytest.raises(RemoteActorError, match="not of the form"):
        resolve_acct("zed")


def test_actor_iri_that_redirects_to_the_actor_is_delivered_to(
    server, zed, alice_doc, send
):
    """An address that redirects to an actor's id means that actor.

    The fetch follows the redirect and accepts the document (its id is the
    final URL), so publishing to the address must reach that actor.
    """
    alias = server.url("/users/zed-alias")
    server.routes["/users/zed-alias"] = Reply(301, {"Location": zed})
    assert fetch_actor(alias).iri == zed

    activity = send(note(), [alias])
    (row,) = Delivery.objects.filter(activity=activity)
    assert row.inbox == server.shared_inbox
    assert row.state == DELIVERED
    (post,) = server.posts("/inbox")
    assert_signed_by(post, ALICE_KEY)


def test_profile_url_answering_with_the_canonical_id_is_refetched(fediverse, db):
    """``/@zed`` answering with id ``/users/zed`` (same server) is fetched by id."""
    a = fediverse.server()
    canonical = a.add_actor("zed")
    profile = a.origin + "/@zed"
    a.routes["/@zed"] = Reply(
        200,
        {"Content-Type": "application/activity+json"},
        json.dumps({"id": canonical, "type": "Person"}).encode(),
    )
    actor = fetch_actor(profile)
    assert actor.iri == canonical
    assert actor.domain == a.domain


def test_document_served_from_elsewhere_cannot_claim_the_requested_id(fediverse, db):
    """An actor must be fetched from its own id: not from where it redirects.

    Server A redirects ``/users/victim`` to server B, whose document claims to
    be A's victim (with B's key and inbox).  Accepting it would let B speak
    for A's user.
    """
    a = fediverse.server()
    b = fediverse.server()
    victim = a.iri("victim")
    b.add_actor(
        "mallory",
        id=victim,
        publicKey={
            "id": victim + "#main-key",
            "owner": victim,
            "publicKeyPem": public_key_pem(generate_private_key_pem(1024)),
        },
    )
    a.routes["/users/victim"] = Reply(302, {"Location": b.iri("mallory")})
    with pytest.raises(RemoteActorError):
        fetch_actor(victim)
    assert not RemoteActor.objects.filter(iri=victim).exists()


# --- the address guard -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:{port}/users/x", "loopback"),
        ("http://10.0.0.1/x", "private"),
        ("http://169.254.169.254/x", "link-local"),
        ("http://[::1]:{port}/x", "loopback"),
    ],
)
def test_guard_refuses_to_fetch_non_public_addresses(server, db, configure, url, kind):
    server.add_actor("x")
    configure(ALLOW_PRIVATE_ADDRESSES=False)
    with pytest.raises(RemoteActorError, match=f"it is a {kind} address") as info:
        fetch_actor(url.format(port=server.port))
    assert 'VOX_ACTIVITY["ALLOW_PRIVATE_ADDRESSES"]' in str(info.value)
    assert server.requests() == []
    assert not RemoteActor.objects.exists()
