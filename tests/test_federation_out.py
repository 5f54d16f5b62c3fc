"""Outbound federation against fake remote servers on 127.0.0.1.

Every remote server here is a real HTTP server (``tests.fediverse``) that
checks each signed request with the independent ``httpsig`` package, against
the public key taken from *our* actor document, as a remote server would.
Tasks run on the immediate backend (tests/settings.py): inline when enqueued,
which happens when the publishing transaction commits; in ``db`` tests that
commit is simulated with ``django_capture_on_commit_callbacks``.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from unittest import mock
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from testsite.blog.models import Article
from vox_activity.compat import tasks_module
from vox_activity.exceptions import RemoteActorError, RemoteActorGone
from vox_activity.models import (
    ActorKey,
    Block,
    Delivery,
    DomainHealth,
    Follow,
    RemoteActor,
)
from vox_activity.net import http as vox_http
from vox_activity.net.remote_actors import fetch_actor
from vox_activity.net.webfinger import resolve_acct
from vox_activity.outgoing.delivery import attempt_delivery, claim_batch, claim_timeout
from vox_activity.outgoing.publish import publish
from vox_activity.outgoing.tasks import enqueue_delivery
from vox_activity.protocol.cavage import (
    generate_private_key_pem,
    parse_signature_header,
    public_key_pem,
)
from vox_activity.protocol.multikey import MULTIKEY_CONTEXT
from vox_activity.protocol.vocabulary import PUBLIC, as_list

from .conftest import AP, LD, notification
from .fediverse import AS_CONTEXT, SECURITY_CONTEXT, Fediverse, Reply, closed_port

ALICE = "https://testserver/~alice/"
ALICE_KEY = "https://testserver/~alice/#main-key"
ALICE_FOLLOWERS = "https://testserver/~alice/followers"
BOB = "https://testserver/~bob/"
INSTANCE = "https://testserver/activitypub/actor"
INSTANCE_KEY = INSTANCE + "#main-key"

#: Small limits so that timeouts take a fraction of a second; small keys so
#: that making them is quick.
#: Draft-cavage only, as Mastodon before 4.5 verifies: these tests check its
#: headers; the double knock (RFC 9421 first) is tested in test_double_knock.
FAST = {
    "HTTP_SIGNATURES": "cavage",
    "ALLOW_PRIVATE_ADDRESSES": True,
    "HTTP_CONNECT_TIMEOUT": 0.5,
    "HTTP_READ_TIMEOUT": 0.3,
    "HTTP_TOTAL_TIMEOUT": 2.0,
    "KEY_SIZE": 1024,
    "USER_AGENT": "vox-tests",
}

PENDING = Delivery.State.PENDING
DELIVERED = Delivery.State.DELIVERED
FAILED = Delivery.State.FAILED
GIVEN_UP = Delivery.State.GIVEN_UP


# --- fixtures and helpers ----------------------------------------------------


@pytest.fixture
def configure(settings):
    """configure(**values): VOX_ACTIVITY = FAST plus ``values``."""

    def configure(**values):
        settings.VOX_ACTIVITY = {"INBOX_PROCESSING": "sync", **FAST, **values}

    configure()
    return configure


@pytest.fixture
def fediverse(httpsig, configure):
    net = Fediverse(httpsig)
    yield net
    net.close()


@pytest.fixture
def server(fediverse):
    """Remote server A; its actors use the shared inbox /inbox by default."""
    return fediverse.server()


@pytest.fixture
def zed(server):
    """The IRI of zed, an actor on server A."""
    return server.add_actor("zed")


@pytest.fixture
def trust(fediverse, client):
    """trust(path): make the fake servers trust the key of our actor at ``path``.

    The key is read from our actor document, fetched with the test client,
    exactly as a remote server learns it.
    """

    def trust(path):
        response = client.get(path, HTTP_ACCEPT=AP)
        assert response.status_code == 200
        document = response.json()
        fediverse.trust(document)
        return document

    return trust


@pytest.fixture
def alice_doc(alice, trust):
    return trust("/~alice/")


@pytest.fixture
def instance_doc(db, trust):
    return trust("/activitypub/actor")


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """send(data, addresses): publish, then run what waits for the commit."""

    def send(data, addresses=()):
        with django_capture_on_commit_callbacks(execute=True):
            activity = publish(data, list(addresses))
        return activity

    return send


@pytest.fixture
def deliver(server, zed, alice_doc, send):
    """deliver(*replies, to=zed): a note by alice, answered with ``replies``.

    Returns the activity's only Delivery row after its first attempt.
    """

    def deliver(*replies, to=None):
        server.reply_with(*replies)
        activity = send(note(), [to or zed])
        return Delivery.objects.get(activity=activity)

    return deliver


def note(content="Hello", **extra):
    return {
        "type": "Create",
        "actor": ALICE,
        "object": {"type": "Note", "content": content, "attributedTo": ALICE},
        **extra,
    }


def sweep(*args):
    """Run ``manage.py vox_activity_deliver``; returns what it printed."""
    out = io.StringIO()
    call_command("vox_activity_deliver", *args, stdout=out)
    return out.getvalue().splitlines()[0]  # the deliveries' line


def make_due(*rows):
    Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def follow(actor, state=Follow.State.ACCEPTED, object_iri=ALICE):
    return Follow.objects.create(
        actor_iri=actor.iri, object_iri=object_iri, remote_actor=actor, state=state
    )


def path_of(url):
    return urlsplit(url).path


def assert_signed_by(hit, key_id):
    assert hit.key_id == key_id
    assert hit.verified is True, hit.problem


# --- 1. our actor documents --------------------------------------------------


def test_actor_document_publishes_a_stable_public_key(alice, ap_client, configure):
    response = ap_client.get("/~alice/")
    assert response.status_code == 200
    document = response.json()
    assert document["@context"][0] == AS_CONTEXT
    assert SECURITY_CONTEXT in document["@context"]
    key = document["publicKey"]
    assert key == {"id": ALICE_KEY, "owner": ALICE, "publicKeyPem": mock.ANY}
    pem = key["publicKeyPem"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    loaded = serialization.load_pem_public_key(pem.encode())
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.key_size == FAST["KEY_SIZE"]
    # The public half of the very key that signs alice's deliveries.
    assert public_key_pem(ActorKey.objects.for_actor(alice).private_key_pem) == pem
    assert b"PRIVATE KEY" not in response.content

    again = ap_client.get("/~alice/")
    assert again.json()["publicKey"] == key
    assert ActorKey.objects.count() == 1
    assert b"PRIVATE KEY" not in again.content


@pytest.mark.parametrize("accept", [AP, LD, "text/html", None])
def test_instance_actor_has_its_own_key(alice, client, configure, accept):
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    response = client.get("/activitypub/actor", **extra)
    assert response.status_code == 200
    document = response.json()
    assert document["id"] == INSTANCE
    assert document["type"] == "Application"
    assert document["preferredUsername"] == "testserver"
    assert document["@context"] == [AS_CONTEXT, SECURITY_CONTEXT, MULTIKEY_CONTEXT]
    key = document["publicKey"]
    assert key["id"] == INSTANCE_KEY
    assert key["owner"] == INSTANCE
    assert key["publicKeyPem"] == ActorKey.objects.for_actor(None).public_key_pem
    assert (
        public_key_pem(ActorKey.objects.for_actor(None).private_key_pem)
        == key["publicKeyPem"]
    )
    assert b"PRIVATE KEY" not in response.content

    alice_key = client.get("/~alice/", HTTP_ACCEPT=AP).json()["publicKey"]
    assert alice_key["publicKeyPem"] != key["publicKeyPem"]
    assert client.get("/activitypub/actor").json()["publicKey"] == key


def test_admin_never_shows_a_private_key(admin_client, alice, ap_client, configure):
    ap_client.get("/~alice/")
    ap_client.get("/activitypub/actor")
    keys = list(ActorKey.objects.all())
    assert len(keys) == 2
    pages = ["/admin/vox_activity/actorkey/"]
    for key in keys:
        base = f"/admin/vox_activity/actorkey/{key.pk}"
        pages += [f"{base}/change/", f"{base}/history/"]
        # Keys are rotated with the command, never deleted from the admin.
        assert admin_client.get(f"{base}/delete/").status_code == 403
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert "PRIVATE KEY" not in html, page
        for key in keys:
            # Not even a line of its base64.
            assert key.private_key_pem.splitlines()[1] not in html, page
    for key in keys:
        change = admin_client.get(f"/admin/vox_activity/actorkey/{key.pk}/change/")
        assert key.public_key_pem.splitlines()[1] in change.content.decode()


# --- 2. fetching remote actors -----------------------------------------------


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


# --- 3. sending --------------------------------------------------------------


def test_row_is_written_with_the_activity_and_posted_after_commit(
    fediverse, server, zed, alice_doc, instance_doc, django_capture_on_commit_callbacks
):
    other = fediverse.server()
    secret = other.add_actor("secret", shared_inbox=False)
    data = note("Grüße aus 🌍", to=["as:Public"], cc=[zed], bcc=[secret])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        activity = publish(data, [zed])
        rows = Delivery.objects.filter(activity=activity)
        assert {(r.inbox, r.domain, r.state, r.attempts) for r in rows} == {
            (server.shared_inbox, server.domain, PENDING, 0),
            (other.inbox("secret"), other.domain, PENDING, 0),
        }
        # Only the actor fetches (before the transaction); nothing posted yet.
        assert [(h.method, h.path) for h in server.requests()] == [
            ("GET", "/users/zed")
        ]
        assert other.posts() == []
    assert len(callbacks) == 1

    (post,) = server.posts()
    (blind,) = other.posts()
    assert post.path == "/inbox"
    assert blind.path == "/users/secret/inbox"
    for hit in (post, blind):
        assert_signed_by(hit, ALICE_KEY)
        assert hit.headers["content-type"] == AP
        assert hit.headers["digest"].startswith("SHA-256=")
        signed = parse_signature_header(hit.headers["signature"]).headers
        assert {"(request-target)", "host", "date", "digest"} <= set(signed)
        body = hit.json()
        assert body == activity.to_ap()
        assert body["id"] == activity.iri
        assert body["type"] == "Create"
        assert body["actor"] == ALICE
        assert body["object"]["content"] == "Grüße aus 🌍"
        assert hit.headers["user-agent"] == "vox-tests"
        assert body["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
        assert body["cc"] == [zed]
        assert "as:Public" not in hit.body.decode()
        assert "bcc" not in body
        assert "bto" not in body
        assert secret not in hit.body.decode()  # blind recipients stay blind
        assert AS_CONTEXT in as_list(body["@context"])
    # Signed by alice, not by the instance actor.
    assert not server.verify(post, instance_doc["publicKey"]["publicKeyPem"])

    for row in Delivery.objects.filter(activity=activity):
        assert row.state == DELIVERED
        assert row.last_status == 202
        assert row.attempts == 1
        assert row.last_error == ""
        assert row.delivered_at is not None


@pytest.mark.django_db(transaction=True)
def test_article_notification_reaches_a_remote_follower_after_commit(
    server, alice, trust, article_templates
):
    follow(fetch_actor(server.add_actor("reader")))
    trust("/~alice/")

    # A transaction that rolls back sends nothing.
    with pytest.raises(RuntimeError), transaction.atomic():
        article = Article.objects.create(
            author=alice, title="Draft", slug="draft", body="x"
        )
        notification(Article, "created").issue(article)
        assert Delivery.objects.count() == 1
        raise RuntimeError("rolled back")
    assert not Delivery.objects.exists()
    assert server.posts() == []

    with transaction.atomic():
        article = Article.objects.create(
            author=alice, title="Hello", slug="hello", body="Hi"
        )
        notification(Article, "created").issue(article)
        (row,) = Delivery.objects.all()
        assert (row.inbox, row.state) == (server.shared_inbox, PENDING)
        assert server.posts() == []

    (post,) = server.posts("/inbox")
    assert_signed_by(post, ALICE_KEY)
    body = post.json()
    assert body["type"] == "Create"
    assert body["actor"] == ALICE
    assert body["object"]["type"] == "Article"
    assert body["object"]["id"] == "https://testserver/articles/hello/"
    assert body["to"] == [PUBLIC]
    assert body["cc"] == [ALICE_FOLLOWERS]
    row.refresh_from_db()
    assert (row.state, row.last_status, row.attempts) == (DELIVERED, 202, 1)


def test_inbox_redirect_is_followed_and_signed_again(server, zed, alice_doc, send):
    server.routes["/inbox"] = Reply(308, {"Location": "/users/zed/inbox"})
    activity = send(note(), [zed])
    moved, arrived = server.posts()
    assert (moved.path, arrived.path) == ("/inbox", "/users/zed/inbox")
    for hit in (moved, arrived):
        assert_signed_by(hit, ALICE_KEY)  # each hop signs its own path
        assert hit.json() == activity.to_ap()
    row = Delivery.objects.get(activity=activity)
    assert (row.state, row.last_status) == (DELIVERED, 202)


def test_activity_without_a_local_actor_is_signed_by_the_instance_actor(
    server, zed, instance_doc, send
):
    send({"type": "Announce", "object": "https://elsewhere.example/notes/1"}, [zed])
    (post,) = server.posts()
    assert_signed_by(post, INSTANCE_KEY)


# --- 4. followers ------------------------------------------------------------


def test_followers_get_one_post_per_shared_inbox_and_one_per_own_inbox(
    fediverse, alice_doc, bob, send
):
    a = fediverse.server()  # offers a shared inbox
    b = fediverse.server()  # does not
    on_a = [fetch_actor(a.add_actor(f"a{i}")) for i in range(3)]
    on_b = [fetch_actor(b.add_actor(f"b{i}", shared_inbox=False)) for i in range(2)]
    for actor in on_a + on_b:
        follow(actor)
    for name, state in [("asked", "pending"), ("refused", "rejected")]:
        follow(fetch_actor(b.add_actor(name, shared_inbox=False)), state=state)
    follow(fetch_actor(b.add_actor("bobs", shared_inbox=False)), object_iri=BOB)
    left = fetch_actor(b.add_actor("left", shared_inbox=False))
    follow(left)
    RemoteActor.objects.filter(pk=left.pk).update(gone_at=timezone.now())
    fetched = len(a.requests()) + len(b.requests())

    # a0 is addressed directly too: still one POST to A.
    activity = send(note(to=[PUBLIC, on_a[0].iri], cc=[ALICE_FOLLOWERS]))

    rows = Delivery.objects.filter(activity=activity)
    assert sorted(row.inbox for row in rows) == sorted(
        [a.shared_inbox, b.inbox("b0"), b.inbox("b1")]
    )
    assert {row.state for row in rows} == {DELIVERED}
    assert [hit.path for hit in a.posts()] == ["/inbox"]
    assert sorted(hit.path for hit in b.posts()) == [
        "/users/b0/inbox",
        "/users/b1/inbox",
    ]
    for hit in a.posts() + b.posts():
        assert_signed_by(hit, ALICE_KEY)
        assert hit.json() == activity.to_ap()
    # Followers are not fetched again to publish.
    assert len(a.gets()) + len(b.gets()) == fetched


def test_actors_that_block_the_sender_get_nothing(fediverse, alice_doc, send):
    a = fediverse.server()
    b = fediverse.server()
    blocker = fetch_actor(b.add_actor("blocker", shared_inbox=False))
    follower = fetch_actor(b.add_actor("follower", shared_inbox=False))
    for actor in (blocker, follower):
        follow(actor)
    Block.objects.create(actor_iri=blocker.iri, object_iri=ALICE, activity_iri="x")
    direct = a.add_actor("direct")
    Block.objects.create(actor_iri=direct, object_iri=ALICE, activity_iri="y")

    activity = send(note(to=[direct], cc=[ALICE_FOLLOWERS]))
    (row,) = Delivery.objects.filter(activity=activity)
    assert row.inbox == b.inbox("follower")
    assert a.posts() == []
    assert [hit.path for hit in b.posts()] == ["/users/follower/inbox"]


def test_publish_queries_do_not_grow_with_the_number_of_followers(
    fediverse, alice, django_capture_on_commit_callbacks
):
    a = fediverse.server()  # 1 row however many followers: shared inbox
    b = fediverse.server()  # 1 row per follower: no shared inbox

    def add_followers(start, count):
        actors = []
        for i in range(start, start + count):
            actors += [
                RemoteActor(
                    iri=a.iri(f"a{i}"),
                    domain=a.domain,
                    inbox=a.inbox(f"a{i}"),
                    shared_inbox=a.shared_inbox,
                ),
                RemoteActor(
                    iri=b.iri(f"b{i}"), domain=b.domain, inbox=b.inbox(f"b{i}")
                ),
            ]
        RemoteActor.objects.bulk_create(actors)
        created = RemoteActor.objects.filter(iri__in=[x.iri for x in actors])
        Follow.objects.bulk_create(
            Follow(actor_iri=x.iri, object_iri=ALICE, remote_actor=x, state="accepted")
            for x in created
        )

    def publish_to_followers():
        with (
            django_capture_on_commit_callbacks(execute=False),
            CaptureQueriesContext(connection) as queries,
        ):
            activity = publish(note(to=[PUBLIC], cc=[ALICE_FOLLOWERS]))
        return activity, queries

    add_followers(0, 3)
    publish_to_followers()  # warm-up: content types, keys and the like
    few_activity, few = publish_to_followers()
    add_followers(3, 27)
    many_activity, many = publish_to_followers()

    assert Delivery.objects.filter(activity=few_activity).count() == 1 + 3
    assert Delivery.objects.filter(activity=many_activity).count() == 1 + 30
    assert len(many) == len(few), [q["sql"][:80] for q in many.captured_queries]
    assert a.requests() == []
    assert b.requests() == []


# --- 5. the retry policy, over real HTTP -------------------------------------


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


@pytest.mark.parametrize("status", [400, 403, 422, 501])
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


# --- 6. the circuit breaker --------------------------------------------------


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


# --- 7. a worker that dies mid-attempt ---------------------------------------


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


# --- 8. the address guard ----------------------------------------------------


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


# --- 9. commands and admin ---------------------------------------------------


def rotate(*args):
    out = io.StringIO()
    call_command("vox_activity_rotate_key", *args, stdout=out)
    return out.getvalue().strip()


def test_rotate_key_command(alice, ap_client, configure):
    def keys():
        return (
            ap_client.get("/~alice/").json()["publicKey"],
            ap_client.get("/activitypub/actor").json()["publicKey"],
        )

    alice_before, instance_before = keys()
    assert rotate("/~alice/") == (
        f"New key {ALICE_KEY} (public half in the actor document)."
    )
    alice_after, instance_after = keys()
    assert alice_after["id"] == ALICE_KEY
    assert alice_after["publicKeyPem"] != alice_before["publicKeyPem"]
    assert (
        public_key_pem(ActorKey.objects.for_actor(alice).private_key_pem)
        == (alice_after["publicKeyPem"])
    )
    assert instance_after == instance_before

    rotate(ALICE)  # by IRI
    assert keys()[0]["publicKeyPem"] != alice_after["publicKeyPem"]

    alice_now = keys()[0]
    assert rotate("--instance") == (
        f"New key {INSTANCE_KEY} (public half in the actor document)."
    )
    alice_last, instance_last = keys()
    assert instance_last["publicKeyPem"] != instance_before["publicKeyPem"]
    assert alice_last == alice_now
    assert ActorKey.objects.count() == 2

    with pytest.raises(CommandError, match="is not a local actor"):
        rotate("/~nobody/")
    with pytest.raises(CommandError, match="Name one actor"):
        rotate()
    with pytest.raises(CommandError, match="Name one actor"):
        rotate("/~alice/", "--instance")


def test_deliveries_after_a_rotation_are_signed_with_the_new_key(
    server, zed, alice_doc, trust, send
):
    old_pem = alice_doc["publicKey"]["publicKeyPem"]
    rotate("/~alice/")
    new_pem = trust("/~alice/")["publicKey"]["publicKeyPem"]
    send(note(), [zed])
    (post,) = server.posts()
    assert_signed_by(post, ALICE_KEY)
    assert server.verify(post, new_pem)
    assert not server.verify(post, old_pem)


def changelist_pks(response):
    return {obj.pk for obj in response.context["cl"].result_list}


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


# --- 10. deferred retries ----------------------------------------------------


@pytest.fixture
def dummy_tasks(settings):
    """A task backend that can defer, and runs nothing: it records."""
    tasks = tasks_module()
    settings.TASKS = {
        "default": {"BACKEND": f"{tasks.__name__}.backends.dummy.DummyBackend"}
    }
    backend = tasks.task_backends["default"]
    assert backend.supports_defer
    return backend


def test_backend_that_can_defer_gets_the_retry_from_the_sweep_chain(
    server, zed, alice_doc, send, dummy_tasks, configure
):
    """A retry waits on its row; the sweep task, deferred, queues it when due."""
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
