"""Keys belong to actors: no actor can "silence" another by claiming its key.

The attack (issue 8): actor Q publishes actor V's key id, with V's public
key, as its own.  Before the redesign, a key id mapped to whichever cached
actor last claimed it, so V's own correctly signed requests were taken for
Q's and refused ("signed by Q, not by the activity's actor"): V was silenced
on this server without Q ever holding V's private key.

Every test here runs over real HTTP: V and Q are served by fake servers on
loopback (``tests.fediverse``), and this site fetches their documents and
keys exactly as it would on the Fediverse (``ALLOW_PRIVATE_ADDRESSES``).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from vox_activity import follows
from vox_activity.exceptions import FollowError, RemoteActorError
from vox_activity.models import Activity, ActorKey, Follow, RemoteActor, RemoteKey
from vox_activity.net.remote_actors import ensure_actors
from vox_activity.protocol.actor_documents import KeyFields

from .fediverse import Fediverse, json_reply
from .settings import SUITE_VOX_ACTIVITY
from .support.constants import AS_CONTEXT, SECURITY_CONTEXT, SITE
from .support.records import table_counts
from .support.remote_actors import post_signed, public_key, served_actor

ALICE = f"{SITE}/~alice/"
SHARED = "/activitypub/inbox"


@pytest.fixture
def fediverse(httpsig, settings, db):
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "ALLOW_PRIVATE_ADDRESSES": True,
        "INBOX_RATE_LIMIT": None,
        "KEY_SIZE": 1024,
        "HTTP_CONNECT_TIMEOUT": 1.0,
        "HTTP_READ_TIMEOUT": 2.0,
        "HTTP_TOTAL_TIMEOUT": 3.0,
    }
    ActorKey.objects.for_actor(None)  # the instance actor's key, which signs fetches
    net = Fediverse(httpsig)
    yield net
    net.close()


@pytest.fixture
def victim_server(fediverse):
    return fediverse.server()


@pytest.fixture
def attacker_server(fediverse):
    return fediverse.server()


@pytest.fixture
def victim(victim_server):
    """V, on a server of its own, signing with test key 1."""
    return served_actor(victim_server, "victor", key=1)


def post(client, data, sender, **options):
    return post_signed(client, SHARED, data, sender, **options)


def follows_alice(client, sender) -> None:
    """``sender``'s signed Follow of alice is accepted and recorded as its."""
    response = post(client, sender.activity("Follow", ALICE), sender)
    assert response.status_code == 202, response.content
    assert Follow.objects.filter(actor_iri=sender.iri, object_iri=ALICE).exists()


def owner_of_key(key_id: str) -> str | None:
    key = RemoteKey.objects.filter(key_id=key_id).select_related("actor").first()
    return key.actor.iri if key else None


def claiming(victim, owner: str) -> dict:
    """A ``publicKey`` entry naming the victim's key id and PEM, owned by ``owner``."""
    return {
        "id": victim.key_id,
        "owner": owner,
        "publicKeyPem": victim.document["publicKey"]["publicKeyPem"],
    }


# --- through a signed Update of the attacker's own profile -----------------------


@pytest.mark.parametrize("victim_known_first", [True, False])
def test_update_claiming_anothers_key_is_400_and_the_victim_still_speaks(
    client, alice, victim, attacker_server, victim_known_first
):
    attacker = served_actor(attacker_server, "quentin", key=2)
    if victim_known_first:
        like = victim.activity("Like", ALICE)
        assert post(client, like, victim).status_code == 202
    profile = {
        **attacker.document,
        "publicKey": [attacker.document["publicKey"], claiming(victim, attacker.iri)],
    }
    update = attacker.activity("Update", profile)
    before = table_counts()

    response = post(client, update, attacker)

    assert response.status_code == 400, response.content
    assert "another server" in response.json()["error"]
    after = table_counts()
    assert not Activity.objects.filter(iri=update["id"]).exists()
    # The attacker was fetched to check its signature (a cached RemoteActor,
    # its own key, the signature scheme its server accepts); nothing else.
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "vox_activity.RemoteActor": 1,
        "vox_activity.RemoteKey": 1,
        "vox_activity.DomainHealth": 1,
    }
    assert RemoteActor.objects.get(iri=attacker.iri).data == attacker.document
    assert owner_of_key(victim.key_id) == (victim.iri if victim_known_first else None)

    follows_alice(client, victim)
    assert owner_of_key(victim.key_id) == victim.iri


def test_update_of_a_profile_with_anothers_key_as_its_only_key_is_400(
    client, alice, victim, attacker_server
):
    attacker = served_actor(attacker_server, "quentin", key=2)
    profile = {**attacker.document, "publicKey": claiming(victim, attacker.iri)}
    before = table_counts()
    response = post(client, attacker.activity("Update", profile), attacker)
    assert response.status_code == 400
    assert owner_of_key(victim.key_id) is None
    assert RemoteActor.objects.get(iri=attacker.iri).data == attacker.document
    assert table_counts()["vox_activity.Activity"] == before["vox_activity.Activity"]
    follows_alice(client, victim)


# --- through the attacker's served document ------------------------------------


def test_a_document_naming_anothers_key_is_unusable_and_the_victim_unaffected(
    client, alice, victim, attacker_server
):
    """Q's document lists its own key and V's: any fetch of Q refuses it."""
    attacker = served_actor(attacker_server, "quentin", key=2)
    attacker.document["publicKey"] = [
        attacker.document["publicKey"],
        claiming(victim, attacker.iri),
    ]

    response = post(client, attacker.activity("Like", ALICE), attacker)
    assert response.status_code == 401
    assert "another server" in response.json()["error"]
    # However the site meets Q (a local user follows it, a notification to
    # it), the document is refused and nothing of it is kept.
    with pytest.raises(FollowError):
        follows.follow(alice, attacker.iri)
    assert ensure_actors([attacker.iri]) == {}
    assert not RemoteActor.objects.filter(iri=attacker.iri).exists()
    assert owner_of_key(victim.key_id) is None

    follows_alice(client, victim)
    assert owner_of_key(victim.key_id) == victim.iri


def test_the_victim_known_first_keeps_its_key_when_the_attacker_is_fetched(
    client, alice, victim, attacker_server
):
    follows_alice(client, victim)
    claim = claiming(victim, attacker_server.iri("quentin"))
    attacker = served_actor(attacker_server, "quentin", key=2, publicKey=claim)
    assert ensure_actors([attacker.iri]) == {}
    assert owner_of_key(victim.key_id) == victim.iri
    assert post(client, victim.activity("Like", ALICE), victim).status_code == 202


# --- on one server: Q lists V's fragment key ------------------------------------


def test_a_key_listed_by_another_actor_of_the_same_server_is_never_its(
    client, alice, victim_server, victim
):
    """Q and V share a server; Q's document lists V's ``#main-key`` as well.

    A key is taken from a document only when the key id's document *is* that
    actor: V's key id points at V's document, so Q merely lists it.
    """
    attacker = served_actor(victim_server, "quentin", key=2)
    attacker.document["publicKey"] = [
        attacker.document["publicKey"],
        claiming(victim, attacker.iri),
    ]
    assert post(client, attacker.activity("Like", ALICE), attacker).status_code == 202
    assert owner_of_key(attacker.key_id) == attacker.iri
    assert owner_of_key(victim.key_id) is None
    # The same claim sent in a signed Update of Q's profile.
    update = attacker.activity("Update", attacker.document)
    assert post(client, update, attacker).status_code == 202
    assert list(
        RemoteKey.objects.filter(actor__iri=attacker.iri).values_list(
            "key_id", flat=True
        )
    ) == [attacker.key_id]

    follows_alice(client, victim)
    assert owner_of_key(victim.key_id) == victim.iri


def test_signing_with_anothers_key_id_is_checked_with_that_actors_key(
    client, alice, victim_server, victim
):
    """Q signs with its own private key but names V's key id: the key is
    fetched from V's document, which holds V's public key, so nothing verifies."""
    attacker = served_actor(victim_server, "quentin", key=2)
    attacker.document["publicKey"] = claiming(victim, attacker.iri)
    before = table_counts()
    like = attacker.activity("Like", ALICE)
    response = post(client, like, attacker, key_id=victim.key_id)
    assert response.status_code == 401
    assert not Activity.objects.filter(iri=like["id"]).exists()
    assert table_counts()["vox_activity.Activity"] == before["vox_activity.Activity"]
    assert owner_of_key(victim.key_id) == victim.iri
    follows_alice(client, victim)


# --- key documents (GoToSocial: <actor>/main-key) --------------------------------


def key_document(key_id: str, owner: str, pem: str) -> dict:
    """A key served as a document of its own (CryptographicKey)."""
    return {
        "@context": SECURITY_CONTEXT,
        "id": key_id,
        "type": "CryptographicKey",
        "owner": owner,
        "publicKeyPem": pem,
    }


def actor_stub(actor: str, key_id: str, pem: str) -> dict:
    """What GoToSocial serves at a key id: a stub of the actor with its key."""
    return {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": actor,
        "type": "Person",
        "publicKey": {"id": key_id, "owner": actor, "publicKeyPem": pem},
    }


@pytest.mark.parametrize("shape", [key_document, actor_stub])
def test_a_key_document_is_accepted_when_its_owner_lists_it(
    client, alice, victim_server, shape
):
    server = victim_server
    iri = server.iri("gary")
    key_id = f"{iri}/main-key"
    gary = served_actor(
        server,
        "gary",
        key=3,
        publicKey={"id": key_id, "owner": iri, "publicKeyPem": public_key(3)},
    )
    gary.key_id = key_id
    if shape is key_document:
        served = key_document(key_id, iri, public_key(3))
    else:
        served = actor_stub(iri, key_id, public_key(3))
    server.routes["/users/gary/main-key"] = json_reply(served)

    follows_alice(client, gary)

    assert owner_of_key(key_id) == iri
    assert [hit.path for hit in server.gets()] == [
        "/users/gary/main-key",
        "/users/gary",
    ]


def test_a_key_document_naming_an_owner_who_does_not_list_it_is_refused(
    client, alice, victim_server, victim
):
    """Q serves a key document saying V owns Q's key; V's document does not
    list that key, so the key is nobody's and Q's request is refused."""
    server = victim_server
    attacker = served_actor(server, "quentin", key=2)
    key_id = f"{attacker.iri}/main-key"
    server.routes["/users/quentin/main-key"] = json_reply(
        key_document(key_id, victim.iri, public_key(2))
    )
    before = table_counts()
    like = attacker.activity("Like", ALICE)
    like["actor"] = victim.iri
    like["id"] = victim.new_iri()
    response = post(client, like, attacker, key_id=key_id)
    assert response.status_code == 401
    assert "does not list the key" in response.json()["error"]
    assert owner_of_key(key_id) is None
    assert table_counts()["vox_activity.Activity"] == before["vox_activity.Activity"]
    follows_alice(client, victim)


def test_a_key_document_naming_an_owner_on_another_server_is_refused(
    client, alice, victim, attacker_server
):
    attacker = served_actor(attacker_server, "quentin", key=2)
    key_id = f"{attacker.iri}/main-key"
    attacker_server.routes["/users/quentin/main-key"] = json_reply(
        key_document(key_id, victim.iri, public_key(2))
    )
    like = victim.activity("Like", ALICE)
    response = post(client, like, attacker, key_id=key_id)
    assert response.status_code == 401
    assert "another server" in response.json()["error"]
    assert owner_of_key(key_id) is None
    assert not Activity.objects.filter(iri=like["id"]).exists()


# --- the database: one key, one owner --------------------------------------------


@pytest.fixture
def two_actors(db):
    def make(name: str, key: int) -> RemoteActor:
        iri = f"https://{name}.example/users/{name}"
        return RemoteActor.objects.create(
            iri=iri, domain=f"{name}.example", inbox=f"{iri}/inbox", data={"id": iri}
        )

    return make("victor", 1), make("quentin", 2)


def test_a_key_id_is_unique_in_the_database(two_actors):
    victor, quentin = two_actors
    key_id = f"{victor.iri}#main-key"
    RemoteKey.objects.create(key_id=key_id, actor=victor, public_key_pem="pem")
    with pytest.raises(IntegrityError), transaction.atomic():
        RemoteKey.objects.create(key_id=key_id, actor=quentin, public_key_pem="pem")
    assert owner_of_key(key_id) == victor.iri


def test_add_key_refuses_a_key_held_by_another_actor(two_actors):
    victor, quentin = two_actors
    key = KeyFields(f"{victor.iri}#main-key", "rsa", public_key(1))
    victor.add_key(key)
    with pytest.raises(RemoteActorError) as refused:
        quentin.add_key(key)
    assert refused.value.code == "actor.key.taken"
    assert owner_of_key(key.key_id) == victor.iri
    # Its owner may record it again (a refetch): same row, same owner.
    assert victor.add_key(key).actor == victor
    assert RemoteKey.objects.filter(key_id=key.key_id).count() == 1
