"""The missing verbs (issue 9 G): local follows, C2S Undo of reactions, local
blocks and reports, blocked servers, authorized fetch."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from testsite.blog.vox import AuthorVox
from vox_activity import follows, moderation
from vox_activity.exceptions import RemoteActorError
from vox_activity.models import (
    Activity,
    Block,
    Delivery,
    DomainBlock,
    Follow,
    InboxItem,
    StoredObject,
)
from vox_activity.net.remote_actors import fetch_document
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.cavage import sign_request
from vox_activity.protocol.vocabulary import PUBLIC

from .settings import SUITE_VOX_ACTIVITY
from .support.constants import AP, SITE
from .support.records import row_counts
from .support.remote_actors import post_signed

ALICE = f"{SITE}/~alice/"
BOB = f"{SITE}/~bob/"
SHARED = "/activitypub/inbox"


#: Any outbound request fails the test: everything here is local or cached.
pytestmark = pytest.mark.usefixtures("offline")


def inbox_types(owner) -> list[str]:
    return list(
        InboxItem.objects.for_owner(owner)
        .order_by("id")
        .values_list("activity__type", flat=True)
    )


def follow(actor_iri, object_iri, remote, **extra):
    return Follow.objects.create(
        actor_iri=actor_iri,
        object_iri=object_iri,
        remote_actor=remote.row,
        state=Follow.State.ACCEPTED,
        **extra,
    )


def delivered(activity_type: str) -> set[str]:
    return set(
        Delivery.objects.filter(activity__type=activity_type).values_list(
            "inbox", flat=True
        )
    )


# --- follows between local actors -----------------------------------------------


def test_a_local_follow_is_accepted_without_http(alice, bob):
    row = follows.follow(bob, ALICE)
    assert (row.state, row.remote_actor) == (Follow.State.ACCEPTED, None)
    assert inbox_types(alice) == ["Follow"]
    assert inbox_types(bob) == ["Accept"]
    assert not Delivery.objects.exists()
    assert list(
        Follow.objects.followers_of(ALICE).values_list("actor_iri", flat=True)
    ) == [BOB]


def test_a_local_follow_by_acct_and_with_manual_approval(alice, bob, monkeypatch):
    monkeypatch.setattr(AuthorVox, "manually_approves_followers", lambda s, i: True)
    row = follows.follow(bob, "@alice@testserver")
    assert row.state == Follow.State.PENDING
    follows.accept(row)
    row.refresh_from_db()
    assert row.state == Follow.State.ACCEPTED
    assert inbox_types(bob) == ["Accept"]


def test_local_followers_get_what_is_addressed_to_the_followers(alice, bob):
    follows.follow(bob, ALICE)
    activity = publish(
        {
            "type": "Create",
            "actor": ALICE,
            "object": {"type": "Note"},
            "to": [PUBLIC],
            "cc": [ALICE + "followers"],
        }
    )
    assert InboxItem.objects.for_owner(bob).filter(activity=activity).exists()


def test_unfollowing_a_local_actor(alice, bob):
    follows.follow(bob, ALICE)
    assert follows.unfollow(bob, ALICE) is True
    assert not Follow.objects.exists()
    assert inbox_types(alice) == ["Follow", "Undo"]


def test_c2s_follow_of_a_local_actor(alice, bob, client):
    client.force_login(bob)
    response = client.post(
        "/~bob/outbox",
        json.dumps({"type": "Follow", "object": ALICE}),
        content_type=AP,
    )
    assert response.status_code == 201, response.content
    assert Follow.objects.get().state == Follow.State.ACCEPTED


def test_an_actor_cannot_follow_itself(alice):
    with pytest.raises(follows.FollowError):
        follows.follow(alice, ALICE)


# --- C2S Undo of likes and boosts ---------------------------------------------------


def test_c2s_undo_of_a_like_tells_the_author(alice, carol, client):
    note = carol.note()
    StoredObject.objects.store_remote(note, carol.iri)
    client.force_login(alice)

    def outbox(data):
        return client.post("/~alice/outbox", json.dumps(data), content_type=AP)

    liked = outbox({"type": "Like", "object": note["id"]})
    assert liked.status_code == 201
    like = Activity.objects.get(iri=liked["Location"])
    undo = outbox({"type": "Undo", "object": like.iri})
    assert undo.status_code == 201, undo.content
    like.refresh_from_db()
    assert like.undone_at is not None
    sent = Activity.objects.get(iri=undo["Location"])
    assert sent.data["object"]["id"] == like.iri
    assert delivered("Undo") == {"https://remote.example/inbox"}
    assert outbox({"type": "Undo", "object": like.iri}).status_code == 404


# --- blocks and reports by local actors -----------------------------------------------


def test_a_local_block_ends_follows_and_stops_everything(alice, carol, client):
    follow(carol.iri, ALICE, carol)
    follow(ALICE, carol.iri, carol, activity_iri=f"{SITE}/activitypub/activities/x")
    moderation.block(alice, carol.iri)
    assert not Follow.objects.exists()
    assert Block.objects.filter(actor_iri=ALICE, object_iri=carol.iri).exists()
    for kind in ("Block", "Undo", "Reject"):
        assert delivered(kind) == {"https://remote.example/inbox"}, kind
    # Nothing of carol reaches alice; nothing of alice is delivered to carol.
    like = carol.activity("Like", ALICE, to=[ALICE])
    assert post_signed(client, SHARED, like, carol).status_code == 202
    assert "Like" not in inbox_types(alice)
    publish({"type": "Create", "actor": ALICE, "object": {"type": "Note"}}, [carol.iri])
    assert delivered("Create") == set()

    assert moderation.unblock(alice, carol.iri) is True
    assert not Block.objects.exists()
    undo = Activity.objects.filter(type="Undo", local=True).order_by("-id").first()
    assert undo.data["object"]["type"] == "Block"
    assert Delivery.objects.filter(activity=undo).exists()


def test_unblock_takes_the_acct_address_block_takes(alice, carol):
    """What ``block`` accepts, ``unblock`` accepts: no network for an actor
    we know, and another local actor's block is not lifted."""
    moderation.block(alice, carol.iri)
    assert moderation.unblock(alice, "@carol@remote.example") is True
    assert not Block.objects.exists()
    assert moderation.unblock(alice, "acct:carol@remote.example") is False


def test_a_report_is_a_flag_by_the_instance_actor(alice, carol):
    note = carol.note()
    flag = moderation.report(alice, carol.iri, [note["id"]], "spam")
    assert flag.data["actor"] == f"{SITE}/activitypub/actor"
    assert flag.data["object"] == [carol.iri, note["id"]]
    assert flag.data["content"] == "spam"
    assert delivered("Flag") == {"https://remote.example/inbox"}


# --- blocked servers ------------------------------------------------------------------


def test_a_blocked_server_is_cut_off(alice, carol, client):
    follow(carol.iri, ALICE, carol)
    like = carol.activity("Like", ALICE, to=[ALICE])
    post_signed(client, SHARED, like, carol)
    assert inbox_types(alice) == ["Like"]
    pending = publish({"type": "Create", "actor": ALICE, "object": {}}, [carol.iri])

    moderation.block_server("remote.example", "spam")

    assert not Follow.objects.exists()
    assert set(pending.deliveries.values_list("state", flat=True)) == {"failed"}
    assert inbox_types(alice) == []  # hidden
    before = row_counts()
    response = post_signed(client, SHARED, carol.activity("Like", ALICE), carol)
    assert response.status_code == 403
    assert row_counts() == before
    publish({"type": "Create", "actor": ALICE, "object": {}}, [carol.iri])
    assert not Delivery.objects.filter(state="pending").exists()
    with pytest.raises(RemoteActorError, match="blocked"):
        fetch_document("https://remote.example/users/x")
    assert moderation.unblock_server("remote.example") is True
    assert not DomainBlock.objects.exists()


def test_the_admin_blocks_a_server(admin_client, carol):
    response = admin_client.post(
        "/admin/vox_activity/domainblock/add/",
        {"domain": "remote.example", "reason": "spam"},
    )
    assert response.status_code == 302
    assert DomainBlock.objects.get().domain == "remote.example"


# --- authorized fetch -----------------------------------------------------------------


def signed_get(path, remote):
    headers = sign_request(
        "GET",
        SITE + path,
        {"Accept": AP},
        None,
        key_id=remote.key_id,
        private_key_pem=remote.private_key_pem,
    )
    extras = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().get(path, **extras)


def test_authorized_fetch_serves_signed_requests_only(alice, carol, settings):
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "INBOX_RATE_LIMIT": None,
        "AUTHORIZED_FETCH": True,
    }
    anonymous = Client()
    for path in ("/~alice/", "/~alice/followers", "/~alice/outbox"):
        assert anonymous.get(path, HTTP_ACCEPT=AP).status_code == 401, path
        assert signed_get(path, carol).status_code == 200, path
    # The instance actor and discovery stay open, or two such servers deadlock.
    assert anonymous.get("/activitypub/actor", HTTP_ACCEPT=AP).status_code == 200
    finger = "/.well-known/webfinger?resource=acct:alice@testserver"
    assert anonymous.get(finger).status_code == 200
    activity = publish({"type": "Like", "actor": ALICE, "object": "x", "to": [PUBLIC]})
    path = activity.iri.removeprefix(SITE)
    assert anonymous.get(path, HTTP_ACCEPT=AP).status_code == 401
    assert signed_get(path, carol).status_code == 200
    moderation.block_server("remote.example")
    assert signed_get("/~alice/", carol).status_code == 403


def test_without_the_mode_documents_are_open(alice):
    assert Client().get("/~alice/", HTTP_ACCEPT=AP).status_code == 200
