"""What is posted, when, signed by whom, and to which inboxes.

A publication writes its Delivery rows with the activity and posts after the
commit; each POST is signed by its actor (or by the instance actor); followers
get one POST per shared inbox and one per own inbox, never the blocked ones,
and planning costs the same queries for 3 followers as for 30.

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

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from testsite.blog.models import Article
from vox_activity.models import Block, Delivery, Follow, RemoteActor
from vox_activity.net.remote_actors import fetch_actor
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.cavage import parse_signature_header
from vox_activity.protocol.vocabulary import PUBLIC, as_list

from .fediverse import Reply
from .support.constants import AP, AS_CONTEXT
from .support.local_site import notification
from .support.outbound import (
    ALICE,
    ALICE_FOLLOWERS,
    ALICE_KEY,
    BOB,
    DELIVERED,
    INSTANCE_KEY,
    PENDING,
    assert_signed_by,
    follow,
    note,
)

# --- sending -----------------------------------------------------------------


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


# --- followers and their inboxes ---------------------------------------------


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
