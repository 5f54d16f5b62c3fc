"""Senders' keys at the inbox: first contact, rotated keys, refetch limits.

An unknown sender's key is fetched once and cached; a signature that fails
with a cached key refetches it once a minute at most, and never when no new
key could help (a wrong Digest, a stale Date).  A Delete from an actor never
seen is acknowledged without any fetch.

Remote actors are cached rows (``tests/support/remote_actors.py``) whose
keys the tests hold, so verifying a request needs no network.  What a test
needs fetched, it serves with ``remote_web``; any other request fails the
test (``offline``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vox_activity.models import Activity, RemoteActor, StoredObject

from .support.inbox import ARTICLE, INBOXES, SHARED, error_of, post_ok
from .support.records import row_counts
from .support.remote_actors import (
    a_while_ago,
    make_remote,
    post_signed,
    private_key,
    public_key,
    uncached_remote,
)

#: Nothing reaches the network unless served; tasks are recorded, never run.
pytestmark = pytest.mark.usefixtures("offline", "dummy_tasks")


# --- unknown actors, first contact, rotated keys ---------------------------


@pytest.mark.parametrize("path", INBOXES)
def test_delete_from_an_actor_never_seen_is_acknowledged_without_a_fetch(
    client, alice, offline, received, path
):
    zed = uncached_remote("zed", "gone.example", key=4)
    before = row_counts()
    response = post_signed(client, path, zed.activity("Delete", zed.iri), zed)
    assert response.status_code == 202
    assert offline.requests == []
    assert row_counts() == before
    assert not RemoteActor.objects.exists()
    assert received.events == []


def test_first_contact_fetches_the_key_once_then_uses_the_cache(
    client, alice, remote_web
):
    zed = uncached_remote("zed", "new.example", key=4)
    remote_web.serve(zed.iri, zed.document)
    first = post_signed(client, SHARED, zed.activity("Like", ARTICLE), zed)
    assert first.status_code == 202
    assert remote_web.urls == [zed.iri]
    row = RemoteActor.objects.get(iri=zed.iri)
    assert [(k.key_id, k.public_key_pem) for k in row.keys.all()] == [
        (zed.key_id, public_key(4))
    ]
    second = post_signed(client, SHARED, zed.activity("Like", ARTICLE), zed)
    assert second.status_code == 202
    assert remote_web.urls == [zed.iri]


def test_unfetchable_key_is_401(client, alice, remote_web):
    zed = uncached_remote("zed", "down.example", key=4)
    remote_web.serve(zed.iri, status=404)
    before = row_counts()
    response = post_signed(client, SHARED, zed.activity("Like", ARTICLE), zed)
    assert response.status_code == 401
    assert "could not be fetched" in error_of(response)
    assert row_counts() == before


def test_rotated_key_is_refetched_once_then_rate_limited(client, alice, remote_web, db):
    carol = make_remote("carol", key=0, fetched_at=a_while_ago())
    rotated = {
        **carol.document,
        "publicKey": {**carol.document["publicKey"], "publicKeyPem": public_key(1)},
    }
    remote_web.serve(carol.iri, rotated)
    signed_anew = carol.activity("Like", ARTICLE)
    response = post_signed(
        client, SHARED, signed_anew, carol, private_key_pem=private_key(1)
    )
    assert response.status_code == 202, response.content
    assert remote_web.urls == [carol.iri]
    assert carol.refresh().row.main_key().public_key_pem == public_key(1)
    assert Activity.objects.filter(iri=signed_anew["id"]).exists()

    before = row_counts()
    bad = post_signed(
        client,
        SHARED,
        carol.activity("Like", ARTICLE),
        carol,
        private_key_pem=private_key(3),
    )
    assert bad.status_code == 401
    assert "signature does not verify" in error_of(bad)
    assert remote_web.urls == [carol.iri]  # not refetched within the minute
    assert row_counts() == before


def test_bad_signature_with_an_unchanged_key_is_401_after_one_refetch(
    client, alice, remote_web, db
):
    carol = make_remote("carol", key=0, fetched_at=a_while_ago())
    remote_web.serve(carol.iri, carol.document)
    before = row_counts()
    response = post_signed(
        client,
        SHARED,
        carol.activity("Like", ARTICLE),
        carol,
        private_key_pem=private_key(3),
    )
    assert response.status_code == 401
    assert remote_web.urls == [carol.iri]
    assert row_counts() == before


@pytest.mark.parametrize(
    "break_it",
    [
        {"send_body": b'{"type": "Like"}'},
        {"now": datetime.now(UTC) - timedelta(hours=2)},
    ],
    ids=["digest-mismatch", "stale-date"],
)
def test_failures_no_new_key_can_fix_do_not_refetch_the_key(
    client, alice, remote_web, db, break_it
):
    """A Digest that does not match the body, or a Date out of the window,
    fail whatever the key: refetching it only costs a signed fetch (and lets
    anyone replaying a captured request trigger one a minute)."""
    carol = make_remote("carol", key=0, fetched_at=a_while_ago())
    remote_web.serve(carol.iri, carol.document)
    response = post_signed(
        client, SHARED, carol.activity("Like", ARTICLE), carol, **break_it
    )
    assert response.status_code == 401
    assert remote_web.urls == []


def test_delete_signed_with_a_new_key_id_still_deletes(client, alice, remote_web, db):
    """The never-seen-Delete shortcut must not drop Deletes of actors we know
    whose key id changed (the check looks at key_id only)."""
    carol = make_remote("carol")
    note = carol.note()
    post_ok(client, carol.activity("Create", note), carol)
    new_key_id = f"{carol.iri}#key-2"
    remote_web.serve(
        carol.iri,
        {
            **carol.document,
            "publicKey": {
                "id": new_key_id,
                "owner": carol.iri,
                "publicKeyPem": public_key(1),
            },
        },
    )
    response = post_signed(
        client,
        SHARED,
        carol.activity("Delete", note["id"]),
        carol,
        key_id=new_key_id,
        private_key_pem=private_key(1),
    )
    assert response.status_code == 202
    stored = StoredObject.objects.get(iri=note["id"])
    assert stored.deleted_at is not None
    assert stored.data["type"] == "Tombstone"
