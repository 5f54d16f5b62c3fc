"""A local actor's lifecycle (issue 9 E): profile Updates and account Deletes."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models.signals import pre_delete
from django.test import Client
from django.test.utils import CaptureQueriesContext

from testsite.blog.models import Article
from testsite.blog.vox import AuthorVox
from vox_activity.models import (
    Activity,
    ActorKey,
    Delivery,
    DomainBlock,
    Follow,
    InboxItem,
    StoredObject,
)
from vox_activity.net.signing import signing_key_for
from vox_activity.outgoing.publish import publish
from vox_activity.profiles import actor_updated, profile_changed
from vox_activity.protocol.vocabulary import PUBLIC
from vox_activity.registration import ActorRegistration
from vox_activity.registry import is_actor

from .support.constants import AP
from .support.inbox import stored_create
from .support.remote_actors import make_remote

ALICE = "https://testserver/~alice/"


def follower(remote, local=ALICE):
    return Follow.objects.create(
        actor_iri=remote.iri,
        object_iri=local,
        remote_actor=remote.row,
        state=Follow.State.ACCEPTED,
    )


def deliveries_of(activity_type: str) -> set[str]:
    return set(
        Delivery.objects.filter(activity__type=activity_type).values_list(
            "inbox", flat=True
        )
    )


def test_a_changed_profile_is_sent_to_the_followers(alice, db):
    carol = make_remote("carol", "remote.example")
    follower(carol)
    alice.first_name = "Alicia"
    alice.save()
    profile_changed(alice)
    (update,) = Activity.objects.filter(type="Update", local=True)
    assert update.data["object"]["id"] == ALICE
    assert update.data["object"]["name"] == "Alicia Liddell"
    assert update.data["object"]["publicKey"]["id"] == ALICE + "#main-key"
    assert deliveries_of("Update") == {"https://remote.example/inbox"}


def test_the_signal_sends_the_update_too(alice, db):
    follower(make_remote("carol", "remote.example"))
    actor_updated.send(sender=type(alice), instance=alice)
    assert Activity.objects.filter(type="Update", local=True).count() == 1


def test_a_key_rotation_is_announced(alice, db):
    follower(make_remote("carol", "remote.example"))
    before = ActorKey.objects.for_actor(alice).public_key_pem
    call_command("vox_activity_rotate_key", "/~alice/", stdout=None)
    (update,) = Activity.objects.filter(type="Update", local=True)
    announced = update.data["object"]["publicKey"]["publicKeyPem"]
    assert announced == ActorKey.objects.for_actor(alice).public_key_pem != before


def test_a_deleted_actor_says_so_to_everyone_who_knows_it(alice, db):
    carol = make_remote("carol", "remote.example")
    dave = make_remote("dave", "elsewhere.example", key=1, shared_inbox=False)
    erin = make_remote("erin", "third.example", key=2)
    follower(carol)  # carol follows alice
    Follow.objects.create(  # alice follows dave
        actor_iri=ALICE,
        object_iri=dave.iri,
        remote_actor=dave.row,
        state=Follow.State.ACCEPTED,
    )
    publish({"type": "Like", "actor": ALICE, "object": "x", "to": [erin.iri]})
    key = ActorKey.objects.for_actor(alice).private_key_pem

    alice.delete()

    (delete,) = Activity.objects.filter(type="Delete", local=True)
    assert (delete.data["actor"], delete.data["object"]) == (ALICE, ALICE)
    assert delete.data["to"] == [PUBLIC]
    assert deliveries_of("Delete") == {
        "https://remote.example/inbox",
        dave.document["inbox"],
        "https://third.example/inbox",
    }
    # Signed with her own key, though her row is gone.
    signing = signing_key_for(ALICE)
    assert (signing.key_id, signing.private_key_pem) == (ALICE + "#main-key", key)
    assert not Follow.objects.exists()
    tombstone = StoredObject.objects.get(iri=ALICE)
    assert (tombstone.type, tombstone.deleted_at is not None) == ("Person", True)


def test_a_deleted_actor_answers_410_with_a_tombstone(alice, db):
    alice.delete()
    response = Client().get("/~alice/", HTTP_ACCEPT=AP)
    assert response.status_code == 410
    document = response.json()
    assert (document["type"], document["formerType"]) == ("Tombstone", "Person")
    finger = Client().get("/.well-known/webfinger?resource=acct:alice@testserver")
    assert finger.status_code == 404


def test_deleting_other_rows_sends_nothing(alice, article, db):
    article.delete()
    assert not Activity.objects.filter(type="Delete").exists()


def test_a_deleted_actor_says_nothing_to_a_blocked_server(alice, db):
    carol = make_remote("carol", "remote.example")
    erin = make_remote("erin", "third.example", key=2)
    publish({"type": "Like", "actor": ALICE, "object": "x", "to": [carol.iri]})
    publish({"type": "Like", "actor": ALICE, "object": "y", "to": [erin.iri]})
    DomainBlock.objects.create(domain="third.example")

    alice.delete()

    assert deliveries_of("Delete") == {"https://remote.example/inbox"}


def test_a_deleted_actor_takes_its_inbox_along(alice, bob, db):
    """Every item goes, hidden ones too; bob's inbox stays; a rollback keeps it."""
    for origin in ("https://remote.example", "https://blocked.example"):
        InboxItem.objects.fill(stored_create(origin=origin), [alice, bob])
    DomainBlock.objects.create(domain="blocked.example")
    assert InboxItem.objects.for_owner(alice).count() == 1  # one is hidden
    assert InboxItem.objects.all_of(alice).count() == 2

    pk = alice.pk
    with pytest.raises(RuntimeError), transaction.atomic():
        alice.delete()
        alice.pk = pk  # delete() clears it
        assert not InboxItem.objects.all_of(alice).exists()
        raise RuntimeError("roll back")
    assert InboxItem.objects.all_of(alice).count() == 2

    alice.delete()

    alice.pk = pk  # the same key, as a new row could be given
    assert not InboxItem.objects.all_of(alice).exists()
    assert InboxItem.objects.all_of(bob).count() == 2


def test_a_row_that_is_no_actor_takes_its_inbox_along(alice, db, monkeypatch):
    """A row the registration hides is no actor; its items from before go."""
    InboxItem.objects.fill(stored_create(), [alice])
    monkeypatch.setattr(AuthorVox, "has_activity_endpoint", lambda self, row: False)
    assert not is_actor(alice)

    alice.delete()

    assert not InboxItem.objects.exists()
    assert not Activity.objects.filter(type="Delete").exists()


def test_an_actor_model_registered_after_startup_is_watched(register, article, db):
    """The receiver is connected for models registered after ``ready()`` too."""
    register(Article, ActorRegistration, r"^articles/(?P<slug>[-\w]+)/$")
    InboxItem.objects.fill(stored_create(), [article])

    article.delete()

    (delete,) = Activity.objects.filter(type="Delete", local=True)
    assert delete.data["object"] == "https://testserver/articles/hello/"
    assert not InboxItem.objects.exists()


def test_a_fanned_out_activity_is_deleted_without_loading_its_inbox_items(alice, db):
    """No receiver for every model: Django deletes the items in one statement.

    A ``pre_delete`` receiver for every model would make Django load each
    inbox item of a deleted activity (100,000 after a large fan-out), and
    each row a site deletes of any model, to send it the signal.
    """
    activity = stored_create()
    owners = {get_user_model(): list(range(10**6, 10**6 + 500))}
    assert InboxItem.objects.fill_by_model(activity, owners) == 500
    table = InboxItem._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        activity.delete()

    on_items = [q["sql"] for q in queries if table in q["sql"]]
    assert len(on_items) == 1, on_items
    assert on_items[0].startswith("DELETE"), on_items
    assert not InboxItem.objects.exists()
    assert not pre_delete.has_listeners(InboxItem)
    assert not pre_delete.has_listeners(Activity)
