"""Our actors' keys: the public half in the actor documents, never the private
one (not even in the admin), and rotation with ``vox_activity_rotate_key``.

The rotation is checked end to end: deliveries after it verify with the new
key on a remote server, and no longer with the old one.

The remote servers are real HTTP servers on 127.0.0.1 (``tests/fediverse.py``)
that check each signed request with the independent ``httpsig`` package,
against the public key taken from *our* actor document, as a remote server
would; their fixtures (``fediverse``, ``server``, ``zed``, ``alice_doc``,
``send``, ``deliver``...) are in conftest, the shared vocabulary in
``tests/support/outbound.py``.
"""

from __future__ import annotations

from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management.base import CommandError

from vox_activity.models import ActorKey
from vox_activity.protocol.cavage import public_key_pem
from vox_activity.protocol.multikey import MULTIKEY_CONTEXT

from .support.constants import AP, AS_CONTEXT, LD, SECURITY_CONTEXT
from .support.outbound import (
    ALICE,
    ALICE_KEY,
    FAST,
    INSTANCE,
    INSTANCE_KEY,
    assert_signed_by,
    note,
    rotate,
)

# --- our actor documents -----------------------------------------------------


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


# --- rotating a key ----------------------------------------------------------


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
