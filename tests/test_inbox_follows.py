"""Follows through the inbox, both ways.

Incoming: a Follow of a local actor is accepted (an Accept delivered) or held
for manual approval, undone, refused when its object is no local actor.
Outgoing: ``follows.follow`` publishes a Follow that the remote Accept or
Reject completes; ``unfollow`` and the client-to-server outbox undo it.

Remote actors are cached rows (``tests/support/remote_actors.py``) whose
keys the tests hold, so verifying a request needs no network, and the
``offline`` fixture fails the test if anything tries to reach one anyway.
Tasks go to the dummy backend, which records and runs nothing: deliveries
are asserted on their rows and on the enqueued results.
"""

from __future__ import annotations

import pytest

from testsite.blog.vox import AuthorVox
from vox_activity import follows
from vox_activity.models import Activity, Delivery, Follow

from .support.constants import AP, SITE
from .support.inbox import (
    ACCEPTED,
    ALICE,
    ALICE_FOLLOWERS,
    ALICE_INBOX,
    ARTICLE,
    BOB,
    PENDING,
    REJECTED,
    SHARED,
    error_of,
    inbox_iris,
    local_activities,
    post_ok,
)
from .support.records import row_counts
from .support.remote_actors import make_remote, post_signed

#: Nothing reaches the network unless served; tasks are recorded, never run.
pytestmark = pytest.mark.usefixtures("offline", "dummy_tasks")


# --- incoming follows -----------------------------------------------------


def test_follow_is_accepted_with_an_accept_delivered(
    client, alice, carol, received, dummy_tasks, django_capture_on_commit_callbacks
):
    data = carol.activity("Follow", ALICE)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(client, ALICE_INBOX, data, carol)
    assert response.status_code == 202
    row = Follow.objects.get()
    assert (row.actor_iri, row.object_iri, row.state) == (carol.iri, ALICE, ACCEPTED)
    assert row.remote_actor == carol.row
    assert row.activity_iri == data["id"]
    assert row.responded_at is not None
    (accept,) = local_activities("Accept")
    assert accept.actor_iri == ALICE
    assert accept.data["object"] == {
        "type": "Follow",
        "id": data["id"],
        "actor": carol.iri,
        "object": ALICE,
    }
    assert accept.object_iri == data["id"]
    assert carol.iri in accept.data["to"]
    (delivery,) = Delivery.objects.all()
    assert delivery.activity == accept
    assert delivery.inbox == "https://remote.example/inbox"  # carol's shared inbox
    assert delivery.state == Delivery.State.PENDING
    (task,) = dummy_tasks.results
    assert task.task.module_path == "vox_activity.outgoing.tasks.deliver"
    assert list(task.args) == [delivery.pk]
    assert [e["follow"] for e in received.of("follow_requested")] == [row]
    assert [e["follow"] for e in received.of("follow_accepted")] == [row]
    assert inbox_iris(alice) == [data["id"]]


def test_follow_delivers_accept_to_the_personal_inbox_without_shared_inbox(
    client, alice, db
):
    carol = make_remote("carol", shared_inbox=False)
    post_ok(client, carol.activity("Follow", ALICE), carol)
    (delivery,) = Delivery.objects.all()
    assert delivery.inbox == f"{carol.iri}/inbox"


@pytest.fixture
def manual(monkeypatch):
    monkeypatch.setattr(
        AuthorVox, "manually_approves_followers", lambda self, instance: True
    )


def test_manual_approval_holds_the_follow_until_accepted(
    client, ap_client, alice, carol, received, manual
):
    assert ap_client.get("/~alice/").json()["manuallyApprovesFollowers"] is True
    data = carol.activity("Follow", ALICE)
    post_ok(client, data, carol, path=ALICE_INBOX)
    row = Follow.objects.get()
    assert row.state == PENDING
    assert local_activities("Accept") == []
    assert not Delivery.objects.exists()
    assert [e["follow"] for e in received.of("follow_requested")] == [row]
    assert received.of("follow_accepted") == []
    followers = ap_client.get("/~alice/followers").json()
    assert followers["totalItems"] == 0

    follows.accept(row)

    row.refresh_from_db()
    assert row.state == ACCEPTED
    (accept,) = local_activities("Accept")
    assert accept.data["object"]["id"] == data["id"]
    assert Delivery.objects.get().activity == accept
    assert [e["follow"] for e in received.of("follow_accepted")] == [row]
    assert ap_client.get("/~alice/followers").json()["totalItems"] == 1


def test_manual_approval_reject_sends_reject(client, alice, carol, received, manual):
    data = carol.activity("Follow", ALICE)
    post_ok(client, data, carol, path=ALICE_INBOX)
    row = Follow.objects.get()

    follows.reject(row)

    row.refresh_from_db()
    assert row.state == REJECTED
    assert local_activities("Accept") == []
    (reject,) = local_activities("Reject")
    assert reject.actor_iri == ALICE
    assert reject.data["object"]["id"] == data["id"]
    assert Delivery.objects.get().activity == reject
    assert [e["follow"] for e in received.of("follow_rejected")] == [row]


def test_actor_document_says_followers_are_accepted_automatically_by_default(
    ap_client, alice
):
    assert ap_client.get("/~alice/").json()["manuallyApprovesFollowers"] is False


@pytest.mark.parametrize("form", ["embedded", "iri"])
def test_undo_follow_removes_the_follower(client, alice, carol, received, form):
    follow = carol.activity("Follow", ALICE)
    post_ok(client, follow, carol, path=ALICE_INBOX)
    row = Follow.objects.get()
    obj = follow if form == "embedded" else follow["id"]
    undo = carol.activity("Undo", obj)
    response = post_signed(client, ALICE_INBOX, undo, carol)
    assert response.status_code == 202
    assert not Follow.objects.exists()
    (removed,) = received.of("follow_removed")
    assert (removed["follow"].actor_iri, removed["follow"].object_iri) == (
        row.actor_iri,
        row.object_iri,
    )
    assert Activity.objects.get(iri=follow["id"]).undone_at is not None


def test_undo_of_an_activity_we_never_saw_is_acknowledged(client, alice, carol):
    """Undo{object: "<IRI>"} of an unknown activity: nothing to undo, no crash."""
    undo = carol.activity("Undo", carol.new_iri())
    response = post_signed(client, SHARED, undo, carol)
    assert response.status_code == 202
    assert Activity.objects.filter(iri=undo["id"]).exists()


def test_undo_of_an_embedded_follow_we_never_saw_is_acknowledged(client, alice, carol):
    undo = carol.activity(
        "Undo", {"type": "Follow", "actor": carol.iri, "object": ALICE}
    )
    post_ok(client, undo, carol)
    assert not Follow.objects.exists()


@pytest.mark.parametrize(
    "target",
    [f"{SITE}/~nobody/", ARTICLE, "https://elsewhere.example/users/x", f"{SITE}/"],
)
def test_follow_of_something_that_is_no_local_actor_is_400(
    client, alice, article, carol, received, target
):
    before = row_counts()
    response = post_signed(client, SHARED, carol.activity("Follow", target), carol)
    assert response.status_code == 400
    assert "not an actor on this site" in error_of(response)
    assert row_counts() == before
    assert received.events == []


def test_post_to_the_inbox_of_an_unknown_actor_is_404(client, alice, carol):
    before = row_counts()
    response = post_signed(
        client, "/~nobody/inbox", carol.activity("Follow", ALICE), carol
    )
    assert response.status_code == 404
    assert row_counts() == before


def test_followers_collection_lists_accepted_followers(
    client, ap_client, alice, carol, erin
):
    post_ok(client, carol.activity("Follow", ALICE), carol)
    post_ok(client, erin.activity("Follow", ALICE), erin)
    collection = ap_client.get("/~alice/followers").json()
    assert collection["id"] == ALICE_FOLLOWERS
    assert collection["type"] == "OrderedCollection"
    assert collection["totalItems"] == 2
    page = ap_client.get("/~alice/followers?page=true").json()
    assert page["orderedItems"] == [erin.iri, carol.iri]  # newest first


def test_follow_again_after_accept_is_answered_again(client, alice, carol):
    """A server that lost the Accept asks again: answer again, one row."""
    post_ok(client, carol.activity("Follow", ALICE), carol)
    again = carol.activity("Follow", ALICE)
    post_ok(client, again, carol)
    row = Follow.objects.get()
    assert (row.state, row.activity_iri) == (ACCEPTED, again["id"])
    assert len(local_activities("Accept")) == 2


# --- outgoing follows -----------------------------------------------------


def test_follow_publishes_a_follow_and_the_accept_completes_it(
    client, alice, carol, received, dummy_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = follows.follow(alice, carol.iri)
    assert (row.actor_iri, row.object_iri, row.state) == (ALICE, carol.iri, PENDING)
    assert row.remote_actor == carol.row
    (sent,) = local_activities("Follow")
    assert row.activity_iri == sent.iri
    assert (sent.actor_iri, sent.object_iri) == (ALICE, carol.iri)
    (delivery,) = Delivery.objects.all()
    assert (delivery.activity, delivery.inbox) == (sent, "https://remote.example/inbox")
    assert [list(r.args) for r in dummy_tasks.results] == [[delivery.pk]]

    accept = carol.activity("Accept", sent.iri)
    response = post_signed(client, ALICE_INBOX, accept, carol)
    assert response.status_code == 202
    row.refresh_from_db()
    assert row.state == ACCEPTED
    assert row.responded_at is not None
    assert [e["follow"] for e in received.of("follow_accepted")] == [row]
    assert inbox_iris(alice) == [accept["id"]]


@pytest.mark.parametrize("with_id", [True, False])
def test_accept_with_the_follow_embedded(client, alice, carol, with_id):
    row = follows.follow(alice, carol.iri)
    embedded = {"type": "Follow", "actor": ALICE, "object": carol.iri}
    if with_id:
        embedded["id"] = row.activity_iri
    response = post_signed(client, SHARED, carol.activity("Accept", embedded), carol)
    assert response.status_code == 202
    row.refresh_from_db()
    assert row.state == ACCEPTED


def test_reject_marks_our_follow_rejected(client, alice, carol, received):
    row = follows.follow(alice, carol.iri)
    reject = carol.activity("Reject", row.activity_iri)
    post_ok(client, reject, carol)
    row.refresh_from_db()
    assert row.state == REJECTED
    assert [e["follow"] for e in received.of("follow_rejected")] == [row]


def test_accept_from_someone_else_changes_nothing(client, alice, carol, dave):
    row = follows.follow(alice, carol.iri)
    response = post_signed(
        client, SHARED, dave.activity("Accept", row.activity_iri), dave
    )
    assert response.status_code == 202
    row.refresh_from_db()
    assert row.state == PENDING


def test_unfollow_publishes_undo_and_removes_the_row(client, alice, carol, received):
    row = follows.follow(alice, carol.iri)
    post_ok(client, carol.activity("Accept", row.activity_iri), carol)
    Delivery.objects.all().delete()

    assert follows.unfollow(alice, carol.iri) is True

    assert not Follow.objects.exists()
    (undo,) = local_activities("Undo")
    assert undo.actor_iri == ALICE
    assert undo.data["object"] == {
        "type": "Follow",
        "actor": ALICE,
        "object": carol.iri,
        "id": row.activity_iri,
    }
    assert Delivery.objects.get().activity == undo
    assert [e["follow"].object_iri for e in received.of("follow_removed")] == [
        carol.iri
    ]
    assert follows.unfollow(alice, carol.iri) is False


def test_client_to_server_follow_and_undo(client, ap_client, bob, carol):
    client.force_login(bob)
    response = client.post(
        "/~bob/outbox", {"type": "Follow", "object": carol.iri}, content_type=AP
    )
    assert response.status_code == 201, response.content
    row = Follow.objects.get()
    assert (row.actor_iri, row.object_iri, row.state) == (BOB, carol.iri, PENDING)
    assert response["Location"] == row.activity_iri
    assert Activity.objects.get(iri=row.activity_iri).type == "Follow"
    assert ap_client.get("/~bob/following").json()["totalItems"] == 0

    accept = carol.activity("Accept", row.activity_iri)
    assert post_signed(client, "/~bob/inbox", accept, carol).status_code == 202
    following = ap_client.get("/~bob/following").json()
    assert following["totalItems"] == 1
    page = ap_client.get("/~bob/following?page=true").json()
    assert page["orderedItems"] == [carol.iri]

    undo = {"type": "Undo", "object": {"type": "Follow", "object": carol.iri}}
    response = client.post("/~bob/outbox", undo, content_type=AP)
    assert response.status_code == 204
    assert not Follow.objects.exists()
    assert local_activities("Undo")[0].data["object"]["id"] == row.activity_iri
    assert ap_client.get("/~bob/following").json()["totalItems"] == 0
    again = client.post("/~bob/outbox", undo, content_type=AP)
    assert again.status_code == 404
