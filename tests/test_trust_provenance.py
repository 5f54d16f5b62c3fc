"""Provenance: content is trusted only from the server it lives on.

An actor's signature proves what *it* says, and its server speaks only for
what lives there.  So an object embedded in an activity whose ``id`` is on
another server is kept as its IRI only, at any depth, before any handler,
signal or row sees the activity; a boost (``Announce``) that needs the
object's content fetches it from its own server, signed, and is refused if
that fails.  Before the redesign, an ``Announce`` (or a ``Create`` whose
``object`` was a list) embedding a post "by" someone else was stored and
shown as sent: anyone could put words in anyone's mouth.

The announcing actors are cached rows (``tests/support/remote_actors.py``); the servers
whose posts are announced are fake servers on loopback, fetched over real
HTTP.
"""

from __future__ import annotations

import json

import pytest

from vox_activity.models import (
    Activity,
    ActorKey,
    Follow,
    InboxItem,
    StoredObject,
)
from vox_activity.outgoing.documents import key_id
from vox_activity.outgoing.publish import publish
from vox_activity.registry import instance_actor_iri

from .fediverse import Fediverse, closed_port, json_reply
from .settings import SUITE_VOX_ACTIVITY
from .support.constants import SITE
from .support.records import HandlerSpy, SignalLog, stored_counts, table_counts
from .support.remote_actors import make_remote, post_signed

ALICE = f"{SITE}/~alice/"
ARTICLE = f"{SITE}/articles/hello/"
SHARED = "/activitypub/inbox"
FORGED = "FORGED-WORDS"
#: A server none of the tests' actors live on.
ELSEWHERE = "https://elsewhere.example"


@pytest.fixture
def fediverse(httpsig, settings, db, client):
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "ALLOW_PRIVATE_ADDRESSES": True,
        "INBOX_RATE_LIMIT": None,
        "KEY_SIZE": 1024,
        "HTTP_CONNECT_TIMEOUT": 1.0,
        "HTTP_READ_TIMEOUT": 2.0,
        "HTTP_TOTAL_TIMEOUT": 3.0,
    }
    ActorKey.objects.for_actor(None)
    net = Fediverse(httpsig)
    # The fake servers check that our fetches are signed by the instance actor.
    net.trust(client.get("/activitypub/actor").json())
    yield net
    net.close()


@pytest.fixture
def victor_server(fediverse):
    """V's server: it serves V's genuine post at /notes/1."""
    server = fediverse.server()
    server.add_actor("victor")
    return server


@pytest.fixture
def quinn(db):
    """The announcer: an actor cached here, on another server than V."""
    return make_remote("quinn", "quinn.example")


@pytest.fixture
def spy(monkeypatch):
    return HandlerSpy(monkeypatch)


def genuine_note(server, path: str = "/notes/1", **changes) -> dict:
    note = {
        "id": server.url(path),
        "type": "Note",
        "attributedTo": server.iri("victor"),
        "content": "<p>What victor really wrote</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    note.update(changes)
    server.routes[path] = json_reply(note)
    return note


def forged_copy(note: dict) -> dict:
    return {**note, "content": f"<p>{FORGED}</p>"}


def nothing_mentions_the_forgery(received: SignalLog, spy: HandlerSpy) -> None:
    stored = [
        *Activity.objects.values_list("data", flat=True),
        *StoredObject.objects.values_list("data", flat=True),
    ]
    assert FORGED not in json.dumps(stored)
    assert FORGED not in json.dumps([event["data"] for event in received.of(
        "activity_received"
    )])  # fmt: skip
    assert FORGED not in spy.everything_seen()
    for item in InboxItem.objects.all():
        assert FORGED not in str(item.safe_content or "")


# --- a Create of a list of objects ------------------------------------------------


@pytest.mark.parametrize("kind", ["Create", "Update"])
def test_a_create_whose_object_is_a_list_is_refused(
    client, alice, quinn, received, kind
):
    victor = "https://victor.example/users/victor"
    note = {
        "id": "https://victor.example/notes/1",
        "type": "Note",
        "attributedTo": victor,
        "content": f"<p>{FORGED}</p>",
    }
    before = table_counts()
    response = post_signed(client, SHARED, quinn.activity(kind, [note]), quinn)
    assert response.status_code == 400
    assert "not a list" in response.json()["error"]
    assert table_counts() == before
    assert received.events == []


# --- Announce: the announced post comes from its own server --------------------


def test_an_announce_shows_what_the_posts_own_server_serves(
    client, alice, quinn, victor_server, received, spy
):
    note = genuine_note(victor_server)
    announce = quinn.activity("Announce", forged_copy(note), to=[ALICE])

    response = post_signed(client, SHARED, announce, quinn)

    assert response.status_code == 202, response.content
    activity = Activity.objects.get(iri=announce["id"])
    assert activity.data["object"] == note["id"]
    stored = StoredObject.objects.get(iri=note["id"])
    assert (stored.data, stored.owner_iri) == (note, victor_server.iri("victor"))
    assert InboxItem.objects.for_owner(alice).get().activity == activity
    (event,) = received.of("activity_received")
    assert event["data"]["object"] == note["id"]
    nothing_mentions_the_forgery(received, spy)
    # The post was fetched once, signed by this site's instance actor.
    (fetch,) = victor_server.gets("/notes/1")
    assert fetch.key_id == key_id(instance_actor_iri())
    assert fetch.verified is True, fetch.problem


def test_an_announce_whose_post_cannot_be_fetched_is_refused(
    client, alice, quinn, fediverse, received, spy
):
    origin = f"http://127.0.0.1:{closed_port()}"
    note = {
        "id": f"{origin}/notes/1",
        "type": "Note",
        "attributedTo": f"{origin}/users/victor",
        "content": f"<p>{FORGED}</p>",
    }
    before = table_counts()
    response = post_signed(client, SHARED, quinn.activity("Announce", note), quinn)
    assert response.status_code == 400
    assert "could not be fetched" in response.json()["error"]
    assert table_counts() == before
    assert received.events == []


def test_an_announced_post_attributed_to_another_server_is_refused(
    client, alice, quinn, victor_server, received
):
    """A server may only host posts of its own actors: otherwise one that
    serves a post "by" someone elsewhere could forge it with a real fetch."""
    note = genuine_note(victor_server, attributedTo=f"{ELSEWHERE}/users/victim")
    before = stored_counts()  # the fetch of quinn's server may be cached
    response = post_signed(
        client, SHARED, quinn.activity("Announce", note["id"]), quinn
    )
    assert response.status_code == 400
    assert "attributed to" in response.json()["error"]
    assert stored_counts() == before
    assert received.events == []


def test_an_announced_post_not_served_from_its_own_id_is_refused(
    client, alice, quinn, victor_server, received
):
    note = genuine_note(victor_server)
    victor_server.routes["/notes/1"] = json_reply(
        {**note, "id": victor_server.url("/notes/2")}
    )
    before = stored_counts()  # the fetch of quinn's server may be cached
    response = post_signed(
        client, SHARED, quinn.activity("Announce", note["id"]), quinn
    )
    assert response.status_code == 400
    assert "not served from its own id" in response.json()["error"]
    assert stored_counts() == before


def test_an_announce_of_the_announcers_own_post_needs_no_fetch(
    client, alice, quinn, victor_server
):
    """Positive control: content embedded by its own server is kept as sent."""
    own = quinn.note(content="<p>quinn's own words</p>")
    response = post_signed(client, SHARED, quinn.activity("Announce", own), quinn)
    assert response.status_code == 202
    assert StoredObject.objects.get(iri=own["id"]).data == own
    assert victor_server.gets() == []


# --- embedded objects at any depth: IRIs only --------------------------------------


def foreign(path: str, **fields) -> dict:
    """An object on another server than the sender's, with forged content."""
    return {"id": f"{ELSEWHERE}{path}", "content": FORGED, "name": FORGED, **fields}


def reply_with_embedded_parent(quinn):
    parent = foreign("/notes/9", type="Note", attributedTo=f"{ELSEWHERE}/users/v")
    note = quinn.note(inReplyTo=parent)
    return quinn.activity("Create", note), ("object", "inReplyTo"), parent["id"]


def note_with_foreign_tag(quinn):
    hashtag = foreign("/tags/news", type="Hashtag")
    mention = {"type": "Mention", "href": ALICE, "name": "@alice"}  # no id: kept
    note = quinn.note(tag=[mention, hashtag])
    return quinn.activity("Create", note), ("object", "tag", 1), hashtag["id"]


def undo_of_a_foreign_activity(quinn):
    like = foreign("/likes/1", type="Like", actor=f"{ELSEWHERE}/users/v", object=ALICE)
    return quinn.activity("Undo", like), ("object",), like["id"]


def accept_embedding_our_follow(quinn):
    """Our Follow of quinn, embedded with our id but made-up fields."""
    follow_iri = f"{SITE}/activitypub/activities/00000000-0000-0000-0000-000000000001"
    Follow.objects.create(
        actor_iri=ALICE,
        object_iri=quinn.iri,
        remote_actor=quinn.row,
        activity_iri=follow_iri,
        state=Follow.State.PENDING,
    )
    embedded = {"id": follow_iri, "type": "Follow", "actor": ALICE,
                "object": quinn.iri, "content": FORGED}  # fmt: skip
    return quinn.activity("Accept", embedded), ("object",), follow_iri


def reject_embedding_a_foreign_follow(quinn):
    follow = foreign("/follows/1", type="Follow", actor=ALICE, object=quinn.iri)
    return quinn.activity("Reject", follow), ("object",), follow["id"]


def add_to_a_foreign_target(quinn):
    target = foreign("/users/v/collections/featured", type="OrderedCollection")
    activity = quinn.activity("Add", quinn.new_iri("notes"), target=target)
    return activity, ("target",), target["id"]


def own_note_announced_replying_to_a_foreign_one(quinn):
    parent = foreign("/notes/7", type="Note", attributedTo=f"{ELSEWHERE}/users/v")
    own = quinn.note(inReplyTo=parent)
    return quinn.activity("Announce", own), ("object", "inReplyTo"), parent["id"]


def unknown_type_with_a_foreign_object(quinn):
    obj = foreign("/things/1", type="Thing")
    return quinn.activity("EmojiReact", obj, content="x"), ("object",), obj["id"]


@pytest.mark.parametrize(
    "make",
    [
        reply_with_embedded_parent,
        note_with_foreign_tag,
        undo_of_a_foreign_activity,
        accept_embedding_our_follow,
        reject_embedding_a_foreign_follow,
        add_to_a_foreign_target,
        own_note_announced_replying_to_a_foreign_one,
        unknown_type_with_a_foreign_object,
    ],
    ids=lambda make: make.__name__,
)
def test_embedded_objects_from_other_servers_arrive_as_iris_only(
    client, alice, quinn, received, spy, make
):
    data, path, iri = make(quinn)

    response = post_signed(client, SHARED, data, quinn)

    assert response.status_code == 202, response.content
    activity = Activity.objects.get(iri=data["id"])
    assert len(spy.data_seen_by("apply")) == 1
    views = {
        "Activity.data": activity.data,
        "signal data": received.of("activity_received")[0]["data"],
        **{f"{hook} hook": seen for hook in ("recipients", "apply")
           for seen in spy.data_seen_by(hook)},
    }  # fmt: skip
    for where, view in views.items():
        value = view
        for step in path:
            value = value[step]
        assert value == iri, where
    nothing_mentions_the_forgery(received, spy)


def test_an_accept_embedding_our_follow_still_completes_it(client, alice, quinn):
    """The Follow is ours: only its IRI is needed to find it."""
    data, _, follow_iri = accept_embedding_our_follow(quinn)
    assert post_signed(client, SHARED, data, quinn).status_code == 202
    assert Follow.objects.get(activity_iri=follow_iri).state == Follow.State.ACCEPTED


def test_the_senders_own_embedded_objects_are_kept_whole(client, alice, quinn, spy):
    """Positive control: the reduction touches only other servers' objects."""
    mention = {"type": "Mention", "href": ALICE, "name": "@alice"}
    note = quinn.note(tag=[mention], inReplyTo=quinn.note())
    data = quinn.activity("Create", note, to=[ALICE])
    assert post_signed(client, SHARED, data, quinn).status_code == 202
    assert Activity.objects.get(iri=data["id"]).data == data
    assert StoredObject.objects.get(iri=note["id"]).data == note
    assert spy.data_seen_by("apply") == [data]


def test_a_local_object_embedded_by_a_stranger_is_only_its_iri(
    client, alice, quinn, article, received, spy
):
    """An object of *this* site is not the sender's to describe either."""
    article_object = {"id": ARTICLE, "type": "Article", "attributedTo": ALICE}
    created = publish({"type": "Create", "actor": ALICE, "object": article_object})
    assert created.local
    embedded = {"id": ARTICLE, "type": "Article",
                "attributedTo": quinn.iri, "content": FORGED}  # fmt: skip
    data = quinn.activity("Like", embedded)
    assert post_signed(client, SHARED, data, quinn).status_code == 202
    assert Activity.objects.get(iri=data["id"]).data["object"] == embedded["id"]
    assert InboxItem.objects.for_owner(alice).filter(activity__iri=data["id"]).exists()
    nothing_mentions_the_forgery(received, spy)
