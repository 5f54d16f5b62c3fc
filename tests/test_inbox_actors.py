"""Activities about actors: profile updates, account deletes, moves, blocks, reports.

A profile Update applies the signed document (or refetches it, once a minute
at most); an account Delete ends its follows; a Move is followed only to an
account that names the old one in ``alsoKnownAs``, and moves local followers
along; a Block ends follows and stops deliveries to the blocker; a Flag is
for moderators, never shown to the reported actor.  No database transaction
is open while the inbox fetches.

Remote actors are cached rows (``tests/support/remote_actors.py``) whose
keys the tests hold, so verifying a request needs no network.  What a test
needs fetched, it serves with ``remote_web``; any other request fails the
test (``offline``).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from vox_activity.models import Activity, Block, Delivery, Follow
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.vocabulary import PUBLIC

from .support.constants import SITE
from .support.inbox import (
    ACCEPTED,
    ALICE,
    ALICE_FOLLOWERS,
    ALICE_INBOX,
    ARTICLE,
    BOB,
    SHARED,
    error_of,
    follow_from,
    follow_of,
    inbox_iris,
    local_activities,
    post_ok,
)
from .support.records import row_counts
from .support.remote_actors import Remote, a_while_ago, make_remote, post_signed

#: Nothing reaches the network unless served; tasks are recorded, never run.
pytestmark = pytest.mark.usefixtures("offline", "dummy_tasks")


# --- profiles and accounts -------------------------------------------------


def test_profile_update_applies_the_signed_document(client, alice, carol, remote_web):
    """The actor signed its own new profile: applied as is, no fetch needed."""
    update = carol.activity("Update", {**carol.document, "name": "Carol, renamed"})
    post_ok(client, update, carol)
    assert remote_web.urls == []
    assert carol.refresh().row.data["name"] == "Carol, renamed"


def test_profile_update_by_reference_refetches_at_most_once_a_minute(
    client, alice, remote_web, db
):
    carol = make_remote("carol", fetched_at=a_while_ago())
    remote_web.serve(carol.iri, {**carol.document, "name": "Carol, renamed"})
    post_ok(client, carol.activity("Update", carol.iri), carol)
    assert remote_web.urls == [carol.iri]
    assert carol.refresh().row.data["name"] == "Carol, renamed"
    post_ok(client, carol.activity("Update", carol.iri), carol)
    assert remote_web.urls == [carol.iri]  # just fetched: not again


def test_profile_update_with_a_bad_document_is_400(client, alice, carol):
    before = row_counts()
    bad = {**carol.document, "inbox": None}
    response = post_signed(client, SHARED, carol.activity("Update", bad), carol)
    assert response.status_code == 400
    assert "inbox" in error_of(response)
    assert row_counts() == before


def test_account_delete_marks_the_actor_gone_and_ends_its_follows(
    client, alice, bob, carol, received
):
    follow_from(carol, ALICE)
    follow_of(carol, BOB)
    response = post_signed(client, SHARED, carol.activity("Delete", carol.iri), carol)
    assert response.status_code == 202
    assert carol.refresh().row.gone_at is not None
    assert not Follow.objects.exists()
    assert len(received.of("follow_removed")) == 2


# --- blocks and flags ------------------------------------------------------


def test_block_ends_follows_and_stops_deliveries_to_the_blocker(
    client, alice, carol, erin, received
):
    follow_from(carol, ALICE)
    follow_of(carol, ALICE)
    follow_from(erin, ALICE)
    block = carol.activity("Block", ALICE)
    response = post_signed(client, SHARED, block, carol)
    assert response.status_code == 202
    row = Block.objects.get()
    assert (row.actor_iri, row.object_iri, row.activity_iri) == (
        carol.iri,
        ALICE,
        block["id"],
    )
    assert list(Follow.objects.values_list("actor_iri", flat=True)) == [erin.iri]
    assert len(received.of("follow_removed")) == 2

    # Even with a follow back in place, and addressed directly, nothing goes
    # from alice to the server of whoever blocked her.
    follow_from(carol, ALICE)
    post = publish(
        {
            "type": "Create",
            "actor": ALICE,
            "to": [PUBLIC],
            "cc": [ALICE_FOLLOWERS, carol.iri],
            "object": {"id": f"{SITE}/articles/new/", "type": "Article"},
        }
    )
    inboxes = set(
        Delivery.objects.filter(activity=post).values_list("inbox", flat=True)
    )
    assert inboxes == {"https://other.example/inbox"}


def test_undo_block_removes_the_block(client, alice, carol):
    block = carol.activity("Block", ALICE)
    post_ok(client, block, carol)
    post_ok(client, carol.activity("Undo", block), carol)
    assert not Block.objects.exists()


def test_block_of_a_non_actor_is_400(client, alice, article, carol):
    before = row_counts()
    response = post_signed(client, SHARED, carol.activity("Block", ARTICLE), carol)
    assert response.status_code == 400
    assert row_counts() == before


def test_flag_is_stored_and_listed_in_the_admin(
    client, admin_client, alice, article, carol
):
    flag = carol.activity("Flag", [ALICE, ARTICLE], content="Spam, from a bot")
    like = carol.activity("Like", ARTICLE)
    post_ok(client, flag, carol)
    post_ok(client, like, carol)
    stored = Activity.objects.get(iri=flag["id"])
    assert (stored.type, stored.local, stored.actor_iri) == ("Flag", False, carol.iri)
    listing = admin_client.get("/admin/vox_activity/activity/?type__exact=Flag")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert flag["id"] in html
    assert like["id"] not in html


@pytest.mark.parametrize("reported", [ALICE, [ALICE, ARTICLE]])
def test_a_report_is_not_shown_to_the_reported_actor(
    client, alice, article, carol, reported
):
    """A Flag is for moderators: it must not land in the reported actor's
    inbox, where alice could read who reported her and why."""
    flag = carol.activity("Flag", reported, content="Spam, from a bot")
    post_ok(client, flag, carol, path=ALICE_INBOX)
    assert Activity.objects.filter(iri=flag["id"], type="Flag").exists()
    assert inbox_iris(alice) == []


# --- moves ---------------------------------------------------------------


def _move(old: Remote, new: Remote) -> dict:
    return old.activity("Move", old.iri, target=new.iri)


def test_move_leaves_the_moved_accounts_own_follows_alone(
    client, alice, carol, db, remote_web
):
    """carol followed alice; the new account erin did not, so erin does not
    start receiving alice's posts (only followers of carol move)."""
    new = make_remote("erin", "other.example", key=2, alsoKnownAs=[carol.iri])
    row = follow_from(carol, ALICE)
    response = post_signed(client, SHARED, _move(carol, new), carol)
    assert response.status_code == 202
    row.refresh_from_db()
    assert (row.actor_iri, row.state) == (carol.iri, ACCEPTED)
    assert not Follow.objects.filter(actor_iri=new.iri).exists()
    assert remote_web.urls == []  # both cached, the alias already there


def test_move_refetches_a_target_whose_alias_is_new(
    client, alice, carol, db, remote_web
):
    new = make_remote("erin", "other.example", key=2)
    remote_web.serve(new.iri, {**new.document, "alsoKnownAs": [carol.iri]})
    follow_of(carol, ALICE)
    post_ok(client, _move(carol, new), carol)
    assert remote_web.urls == [new.iri]
    assert Follow.objects.filter(actor_iri=ALICE, object_iri=new.iri).exists()
    assert not Follow.objects.filter(actor_iri=ALICE, object_iri=carol.iri).exists()


def test_move_to_an_account_without_the_alias_is_400(
    client, alice, carol, erin, remote_web, received
):
    remote_web.serve(erin.iri, erin.document)  # refetched, still no alsoKnownAs
    row = follow_from(carol, ALICE)
    before = row_counts()
    response = post_signed(client, SHARED, _move(carol, erin), carol)
    assert response.status_code == 400
    assert "alsoKnownAs" in error_of(response)
    assert remote_web.urls == [erin.iri]
    assert row_counts() == before
    row.refresh_from_db()
    assert row.actor_iri == carol.iri
    assert received.events == []


def test_move_of_someone_else_is_403(client, alice, carol, dave, erin):
    before = row_counts()
    response = post_signed(
        client, SHARED, carol.activity("Move", dave.iri, target=erin.iri), carol
    )
    assert response.status_code == 403
    assert row_counts() == before


def test_move_makes_local_followers_follow_the_new_account(
    client, alice, bob, carol, db, remote_web
):
    """Mastodon's (and FEP-7628's) meaning of Move: the followers of the old
    account follow the new one.  bob followed carol; after carol's Move to
    erin, bob has a follow of erin, and erin was sent a Follow."""
    new = make_remote("erin", "other.example", key=2, alsoKnownAs=[carol.iri])
    follow_of(carol, BOB)
    post_ok(client, _move(carol, new), carol)
    assert Follow.objects.filter(actor_iri=BOB, object_iri=new.iri).exists()
    sent = [a for a in local_activities("Follow") if a.object_iri == new.iri]
    assert len(sent) == 1
    assert Delivery.objects.filter(activity=sent[0]).exists()


@pytest.mark.parametrize("kind", ["move", "profile-update"])
def test_no_database_transaction_is_open_while_fetching(
    transactional_db, alice, remote_web, kind
):
    """publish.py's rule: network I/O must not hold a transaction open.  The
    inbox's side effects fetch actors inside the storing transaction."""
    carol = make_remote("carol", fetched_at=a_while_ago())
    new = make_remote("erin", "other.example", key=2)
    in_transaction = []
    remote_web.on_request(
        lambda sent: in_transaction.append(connection.in_atomic_block)
    )
    for remote in (carol, new):
        remote_web.serve(remote.iri, {**remote.document, "alsoKnownAs": [carol.iri]})
    # A profile Update by reference (not embedded) is what needs a refetch.
    update = carol.activity("Update", carol.iri)
    data = _move(carol, new) if kind == "move" else update
    response = post_signed(Client(), SHARED, data, carol)
    assert response.status_code == 202
    assert in_transaction == [False]
