"""Who speaks: RFC 9421 signatures, and forwarded activities with integrity proofs.

The inbox accepts the two HTTP signature schemes the Fediverse uses
(draft-cavage, as Mastodon sends; RFC 9421, as Fedify sends first), and an
activity whose ``actor`` is not the signer only with an Object Integrity
Proof (FEP-8b32, ``eddsa-jcs-2022``) by that actor, checked with a key from
the actor's own ``assertionMethod`` (fetched from the actor's server).  A
forwarder can carry an actor's words; it cannot change them or make them up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vox_activity.models import Activity, ActorKey, RemoteKey
from vox_activity.protocol import rfc9421
from vox_activity.protocol.multikey import multikey
from vox_activity.protocol.proofs import create_proof

from .fediverse import Fediverse
from .settings import SUITE_VOX_ACTIVITY
from .support.constants import AP, SITE
from .support.records import stored_counts, table_counts
from .support.remote_actors import body_of, make_remote, post_signed, served_actor

ALICE = f"{SITE}/~alice/"
SHARED = "/activitypub/inbox"


def rfc9421_post(client, path, data, sender, *, body=None, now=None):
    """POST ``data`` signed as ``sender`` with RFC 9421 (Content-Digest)."""
    signed_body = body_of(data)
    headers = rfc9421.sign_request(
        "POST",
        SITE + path,
        {"Content-Type": AP},
        signed_body,
        key_id=sender.key_id,
        private_key_pem=sender.private_key_pem,
        now=now,
    )
    extras = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in headers.items()
        if name.lower() != "content-type"
    }
    sent = signed_body if body is None else body
    return client.generic("POST", path, sent, content_type=AP, **extras)


# --- RFC 9421 ---------------------------------------------------------------------


def test_an_rfc9421_signed_post_is_accepted(client, alice):
    carol = make_remote("carol")
    data = carol.activity("Follow", ALICE)
    response = rfc9421_post(client, SHARED, data, carol)
    assert response.status_code == 202, response.content
    assert Activity.objects.get(iri=data["id"]).actor_iri == carol.iri


def test_an_rfc9421_post_with_another_body_is_401(client, alice):
    carol = make_remote("carol")
    data = carol.activity("Follow", ALICE)
    other = body_of({**data, "object": f"{SITE}/~bob/"})
    before = table_counts()
    response = rfc9421_post(client, SHARED, data, carol, body=other)
    assert response.status_code == 401
    assert "Content-Digest" in response.json()["error"]
    assert table_counts() == before


def test_an_old_rfc9421_signature_is_401(client, alice):
    """A captured request can be replayed only within the allowed skew."""
    carol = make_remote("carol")
    then = datetime.now(UTC) - timedelta(hours=2)
    before = table_counts()
    response = rfc9421_post(
        client, SHARED, carol.activity("Follow", ALICE), carol, now=then
    )
    assert response.status_code == 401
    assert table_counts() == before


# --- forwarded activities ---------------------------------------------------------


@pytest.fixture
def fediverse(httpsig, settings, db):
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "ALLOW_PRIVATE_ADDRESSES": True,
        "INBOX_RATE_LIMIT": None,
        "KEY_SIZE": 1024,
    }
    ActorKey.objects.for_actor(None)
    net = Fediverse(httpsig)
    yield net
    net.close()


@pytest.fixture
def proof_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def victor(fediverse, proof_key):
    """V, whose server publishes its Ed25519 proof key in ``assertionMethod``."""
    server = fediverse.server()
    iri = server.iri("victor")
    method = multikey(
        proof_key.public_key(), key_id=f"{iri}#ed25519-key", controller=iri
    )
    return served_actor(server, "victor", key=1, assertionMethod=[method])


@pytest.fixture
def forwarder(db):
    """Q, who relays V's activity and signs the POST itself."""
    return make_remote("quinn", "relay.example", key=2)


def reply_by(victor) -> dict:
    note = victor.note(content="<p>victor's reply</p>", to=[ALICE])
    return victor.activity("Create", note, to=[ALICE])


def test_a_forwarded_activity_proven_by_its_actor_is_accepted_as_its(
    client, alice, victor, forwarder, proof_key, received
):
    signed = create_proof(reply_by(victor), proof_key, f"{victor.iri}#ed25519-key")

    response = post_signed(client, SHARED, signed, forwarder)

    assert response.status_code == 202, response.content
    activity = Activity.objects.get(iri=signed["id"])
    assert activity.actor_iri == victor.iri
    (event,) = received.of("activity_received")
    assert event["actor"].iri == victor.iri
    key = RemoteKey.objects.get(key_id=f"{victor.iri}#ed25519-key")
    assert (key.actor.iri, key.purpose, key.kind) == (
        victor.iri, "assertionMethod", "ed25519"
    )  # fmt: skip


def test_a_forwarded_activity_without_a_proof_is_403(
    client, alice, victor, forwarder, received
):
    before = table_counts()
    response = post_signed(client, SHARED, reply_by(victor), forwarder)
    assert response.status_code == 403
    assert "no integrity proof" in response.json()["error"]
    assert table_counts() == before
    assert received.events == []


def test_a_proof_by_the_forwarder_is_403(client, alice, victor, forwarder, received):
    own_key = Ed25519PrivateKey.generate()
    signed = create_proof(reply_by(victor), own_key, f"{forwarder.iri}#ed25519-key")
    before = table_counts()
    response = post_signed(client, SHARED, signed, forwarder)
    assert response.status_code == 403
    assert "not by the activity's actor" in response.json()["error"]
    assert table_counts() == before


def test_words_changed_after_the_proof_are_401(
    client, alice, victor, forwarder, proof_key, received
):
    signed = create_proof(reply_by(victor), proof_key, f"{victor.iri}#ed25519-key")
    signed["object"]["content"] = "<p>words victor never wrote</p>"
    before = stored_counts()
    response = post_signed(client, SHARED, signed, forwarder)
    assert response.status_code == 401
    assert "does not verify" in response.json()["error"]
    assert stored_counts() == before
    assert received.events == []


def test_a_proof_with_a_key_the_actor_does_not_publish_is_401(
    client, alice, victor, forwarder, received
):
    made_up = Ed25519PrivateKey.generate()
    signed = create_proof(reply_by(victor), made_up, f"{victor.iri}#other-key")
    before = stored_counts()
    response = post_signed(client, SHARED, signed, forwarder)
    assert response.status_code == 401
    assert stored_counts() == before
    assert not RemoteKey.objects.filter(key_id=f"{victor.iri}#other-key").exists()


def test_a_proof_with_the_actors_key_but_a_forged_key_id_is_401(
    client, alice, victor, forwarder, received
):
    """The key must verify the proof: naming V's real key with another key's
    signature fails."""
    made_up = Ed25519PrivateKey.generate()
    signed = create_proof(reply_by(victor), made_up, f"{victor.iri}#ed25519-key")
    response = post_signed(client, SHARED, signed, forwarder)
    assert response.status_code == 401
    assert not Activity.objects.filter(iri=signed["id"]).exists()


def test_a_rotated_proof_key_is_fetched_again_and_then_verifies(
    client, alice, victor, forwarder, proof_key, received
):
    """The cached key fails the proof: fetched again (at most once a minute),
    the actor's new key verifies it; a proof the new key does not verify
    either is still 401."""
    method_id = f"{victor.iri}#ed25519-key"
    first = create_proof(reply_by(victor), proof_key, method_id)
    assert post_signed(client, SHARED, first, forwarder).status_code == 202
    # victor's server rotates the key; our copy is older than a minute.
    rotated = Ed25519PrivateKey.generate()
    victor.document["assertionMethod"] = [
        multikey(rotated.public_key(), key_id=method_id, controller=victor.iri)
    ]
    row = RemoteKey.objects.get(key_id=method_id).actor
    row.fetched_at = datetime.now(UTC) - timedelta(minutes=2)
    row.save(update_fields=["fetched_at"])

    second = create_proof(reply_by(victor), rotated, method_id)
    response = post_signed(client, SHARED, second, forwarder)
    assert response.status_code == 202, response.content
    assert Activity.objects.filter(iri=second["id"], actor_iri=victor.iri).exists()

    forged = create_proof(reply_by(victor), Ed25519PrivateKey.generate(), method_id)
    response = post_signed(client, SHARED, forged, forwarder)
    assert response.status_code == 401
    assert "does not verify" in response.json()["error"]
