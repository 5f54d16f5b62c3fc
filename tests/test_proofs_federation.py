"""Object Integrity Proofs in federation: what we publish carries one, and a
forwarded activity is accepted on its author's proof (FEP-8b32).

Outgoing proofs are checked with the key our actor document publishes in
``assertionMethod``, by our verifier and by an independent one (apsig).
Incoming: an activity by carol, delivered (HTTP-signed) by dave, a relay on
another server, is carol's only if it carries a valid proof by carol's
Ed25519 key, which her document lists as a ``Multikey``.
"""

from __future__ import annotations

import copy
import json

import pytest
from apsig import ProofVerifier
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vox_activity.models import Activity, RemoteKey
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.actor_documents import KeyFields
from vox_activity.protocol.multikey import (
    assertion_method_key,
    encode_public_key,
    multikey,
)
from vox_activity.protocol.proofs import create_proof, verify_proof

from .settings import SUITE_VOX_ACTIVITY
from .support.records import row_counts
from .support.remote_actors import make_remote, post_signed

ALICE = "https://testserver/~alice/"
SHARED = "/activitypub/inbox"


def actor_doc(ap_client, path="/~alice/"):
    return ap_client.get(path).json()


def test_our_actor_documents_publish_an_ed25519_multikey(alice, ap_client):
    for path in ("/~alice/", "/activitypub/actor"):
        document = actor_doc(ap_client, path)
        (method,) = document["assertionMethod"]
        assert method["type"] == "Multikey"
        assert method["controller"] == document["id"]
        assert method["id"] == document["id"] + "#ed25519-key"
        assert method["publicKeyMultibase"].startswith("z6Mk")
        assert "https://w3id.org/security/multikey/v1" in document["@context"]


def test_published_activities_carry_a_proof_by_their_actor(alice, ap_client, bob):
    activity = publish(
        {
            "type": "Create",
            "actor": ALICE,
            "object": {"id": "https://testserver/notes/1", "type": "Note"},
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "bcc": ["https://testserver/~bob/"],
        }
    )
    served = activity.to_ap()
    assert "bcc" not in served
    assert served["proof"]["verificationMethod"] == ALICE + "#ed25519-key"
    document = actor_doc(ap_client)
    key = assertion_method_key(document, ALICE + "#ed25519-key")
    assert verify_proof(served, key).verification_method == ALICE + "#ed25519-key"
    # An independent implementation agrees.
    verifier = ProofVerifier(document["assertionMethod"][0]["publicKeyMultibase"])
    assert verifier.verify_proof(copy.deepcopy(served), raise_on_fail=True)
    # What is served at the activity's IRI is what was signed.
    assert ap_client.get(activity.iri.removeprefix("https://testserver")).json() == (
        served
    )


def test_proofs_can_be_turned_off(alice, settings):
    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "OBJECT_PROOFS": False}
    activity = publish({"type": "Like", "actor": ALICE, "object": ALICE})
    assert "proof" not in activity.data


# --- incoming: forwarded activities -------------------------------------------


@pytest.fixture
def carol(db):
    """carol, cached with an Ed25519 proof key in her assertionMethod."""
    remote = make_remote("carol", "carol.example")
    private = Ed25519PrivateKey.generate()
    method = remote.iri + "#ed25519-key"
    remote.document["assertionMethod"] = [
        multikey(private.public_key(), key_id=method, controller=remote.iri)
    ]
    remote.row.data = remote.document
    remote.row.save()
    pem = (
        private.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    remote.row.add_key(KeyFields(method, "ed25519", pem, "assertionMethod"))
    remote.proof_key = private
    remote.proof_method = method
    return remote


@pytest.fixture
def relay(db):
    """dave, on another server, who forwards what carol wrote."""
    return make_remote("dave", "relay.example", key=1)


def carols_note(carol, alice):
    return carol.activity(
        "Create",
        carol.note(content="<p>by carol</p>", to=[ALICE]),
        to=[ALICE],
        **{"@context": "https://www.w3.org/ns/activitystreams"},
    )


def test_a_forwarded_activity_with_its_authors_proof_is_accepted(
    client, alice, carol, relay
):
    signed = create_proof(
        carols_note(carol, alice), carol.proof_key, carol.proof_method
    )
    response = post_signed(client, SHARED, signed, relay)
    assert response.status_code == 202, response.content
    stored = Activity.objects.get(iri=signed["id"])
    assert stored.actor_iri == carol.iri
    assert "by carol" in stored.safe_content


def test_a_forwarded_activity_without_a_proof_is_403(client, alice, carol, relay):
    before = row_counts()
    response = post_signed(client, SHARED, carols_note(carol, alice), relay)
    assert response.status_code == 403
    assert "no integrity proof" in response.json()["error"]
    assert row_counts() == before


def test_a_forged_or_tampered_proof_is_refused(client, alice, carol, relay):
    note = carols_note(carol, alice)
    before = row_counts()
    # Signed by a key that is not carol's.
    forged = create_proof(note, Ed25519PrivateKey.generate(), carol.proof_method)
    assert post_signed(client, SHARED, forged, relay).status_code == 401
    # Carol's proof, then the content changed on the way.
    tampered = create_proof(note, carol.proof_key, carol.proof_method)
    tampered = json.loads(json.dumps(tampered).replace("by carol", "by mallory"))
    assert post_signed(client, SHARED, tampered, relay).status_code == 401
    # A proof by the relay's own key cannot speak for carol.
    relays = create_proof(note, carol.proof_key, relay.iri + "#ed25519-key")
    assert post_signed(client, SHARED, relays, relay).status_code == 403
    assert row_counts() == before


def test_an_rsa_key_cannot_verify_a_proof(client, alice, carol, relay):
    """Keys have a purpose: the HTTP-signature key is not a proof key."""
    note = carols_note(carol, alice)
    signed = create_proof(note, carol.proof_key, carol.key_id)
    response = post_signed(client, SHARED, signed, relay)
    assert response.status_code == 401
    assert RemoteKey.objects.get(key_id=carol.key_id).purpose == "publicKey"


def test_encode_roundtrip_of_the_fixture_key(carol):
    method = carol.document["assertionMethod"][0]
    assert method["publicKeyMultibase"] == encode_public_key(
        carol.proof_key.public_key()
    )
