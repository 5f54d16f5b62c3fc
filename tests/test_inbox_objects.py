"""Objects through the inbox: Create, Update and Delete of notes, reactions.

Only an object's owner may update or delete it; a deleted local object
answers 410 with a Tombstone; Likes and Announces of a local article reach
its author and may be undone by their actor alone; a remote activity calls
the object's ``activity_<type>`` method the django-vox way, never for a
stranger's Delete.

Remote actors are cached rows (``tests/support/remote_actors.py``) whose
keys the tests hold, so verifying a request needs no network, and the
``offline`` fixture fails the test if anything tries to reach one anyway.
"""

from __future__ import annotations

import pytest

from testsite.blog.models import Article
from vox_activity.models import Activity, RemoteActor, StoredObject
from vox_activity.outgoing.publish import publish

from .support.constants import AP, SITE
from .support.inbox import (
    ALICE,
    ARTICLE,
    SHARED,
    error_of,
    inbox_iris,
    post_ok,
    publish_article,
)
from .support.records import row_counts
from .support.remote_actors import post_signed

#: Nothing reaches the network unless served; tasks are recorded, never run.
pytestmark = pytest.mark.usefixtures("offline", "dummy_tasks")


# --- objects --------------------------------------------------------------


def test_create_update_delete_of_a_remote_note(client, alice, carol):
    note = carol.note(content="v1")
    post_ok(client, carol.activity("Create", note), carol)
    stored = StoredObject.objects.get(iri=note["id"])
    assert (stored.owner_iri, stored.type, stored.data, stored.local) == (
        carol.iri,
        "Note",
        note,
        False,
    )

    changed = {**note, "content": "v2"}
    response = post_signed(client, SHARED, carol.activity("Update", changed), carol)
    assert response.status_code == 202
    stored.refresh_from_db()
    assert stored.data["content"] == "v2"

    response = post_signed(client, SHARED, carol.activity("Delete", note["id"]), carol)
    assert response.status_code == 202
    stored.refresh_from_db()
    assert stored.deleted_at is not None
    assert stored.data["type"] == "Tombstone"
    assert (stored.data["id"], stored.data["formerType"]) == (note["id"], "Note")

    late = post_signed(client, SHARED, carol.activity("Update", changed), carol)
    assert late.status_code == 410


def test_delete_with_an_embedded_tombstone(client, alice, carol):
    note = carol.note()
    post_ok(client, carol.activity("Create", note), carol)
    tombstone = {"id": note["id"], "type": "Tombstone"}
    response = post_signed(client, SHARED, carol.activity("Delete", tombstone), carol)
    assert response.status_code == 202
    assert StoredObject.objects.get().deleted_at is not None


@pytest.mark.parametrize("verb", ["Update", "Delete"])
def test_only_the_owner_may_update_or_delete(
    client, alice, carol, dave, received, verb
):
    note = carol.note(content="mine")
    post_ok(client, carol.activity("Create", note), carol)
    before = row_counts()
    received.events.clear()
    obj = {**note, "content": "hijacked"} if verb == "Update" else note["id"]
    response = post_signed(client, SHARED, dave.activity(verb, obj), dave)
    assert response.status_code == 403
    assert "owner" in error_of(response)
    assert row_counts() == before
    stored = StoredObject.objects.get()
    assert (stored.data["content"], stored.deleted_at) == ("mine", None)
    assert received.events == []


def test_update_of_an_object_on_another_server_is_400(client, alice, carol, erin):
    note = carol.note()
    post_ok(client, carol.activity("Create", note), carol)
    before = row_counts()
    response = post_signed(client, SHARED, erin.activity("Update", note), erin)
    assert response.status_code == 400
    assert '"object.id"' in error_of(response)
    assert row_counts() == before


def test_create_of_an_object_someone_else_created_is_403(client, alice, carol, dave):
    note = carol.note()
    post_ok(client, carol.activity("Create", note), carol)
    before = row_counts()
    stolen = {**note, "attributedTo": dave.iri}
    response = post_signed(client, SHARED, dave.activity("Create", stolen), dave)
    assert response.status_code == 403
    assert row_counts() == before
    assert StoredObject.objects.get().owner_iri == carol.iri


def test_deleted_local_object_answers_410_with_a_tombstone(
    client, ap_client, alice, article
):
    publish_article("hello")
    assert StoredObject.objects.get(iri=ARTICLE).local is True
    assert ap_client.get("/articles/hello/").status_code != 410

    publish({"type": "Delete", "actor": ALICE, "object": ARTICLE})

    response = ap_client.get("/articles/hello/")
    assert response.status_code == 410
    assert response["Content-Type"].startswith(AP)
    tombstone = response.json()
    assert (tombstone["id"], tombstone["type"], tombstone["formerType"]) == (
        ARTICLE,
        "Tombstone",
        "Article",
    )
    assert tombstone["deleted"]
    html = client.get("/articles/hello/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")


def test_deleted_local_object_without_a_row_answers_410(ap_client, client, alice):
    publish_article("gone")
    publish({"type": "Delete", "actor": ALICE, "object": f"{SITE}/articles/gone/"})
    assert ap_client.get("/articles/gone/").status_code == 410
    assert client.get("/articles/gone/", HTTP_ACCEPT="text/html").status_code == 404


# --- likes, announces and undo -------------------------------------------


@pytest.mark.parametrize("verb", ["Like", "Announce"])
def test_like_or_announce_of_a_local_article_reaches_its_author(
    client, alice, bob, article, carol, verb
):
    publish_article()
    data = carol.activity(verb, ARTICLE)
    assert "to" not in data and "cc" not in data
    response = post_signed(client, SHARED, data, carol)
    assert response.status_code == 202
    assert inbox_iris(alice) == [data["id"]]
    assert inbox_iris(bob) == []


def test_undo_like_marks_it_undone(client, alice, article, carol):
    publish_article()
    like = carol.activity("Like", ARTICLE)
    post_ok(client, like, carol)
    response = post_signed(client, SHARED, carol.activity("Undo", like), carol)
    assert response.status_code == 202
    assert Activity.objects.get(iri=like["id"]).undone_at is not None


def test_undo_by_another_actor_is_403(client, alice, article, carol, dave, received):
    publish_article()
    like = carol.activity("Like", ARTICLE)
    post_ok(client, like, carol)
    before = row_counts()
    received.events.clear()
    response = post_signed(client, SHARED, dave.activity("Undo", like["id"]), dave)
    assert response.status_code == 403
    assert "Only the actor" in error_of(response)
    assert row_counts() == before
    assert Activity.objects.get(iri=like["id"]).undone_at is None
    assert received.events == []


# --- the django-vox convention: activity_<type> on the object ------------


def test_remote_like_calls_the_objects_activity_like(
    client, alice, article, carol, monkeypatch
):
    calls = []

    def activity_like(self, data, actor):
        calls.append((self, data, actor))

    monkeypatch.setattr(Article, "activity_like", activity_like, raising=False)
    like = carol.activity("Like", ARTICLE)
    post_ok(client, like, carol)
    assert len(calls) == 1
    (target, data, actor) = calls[0]
    assert target == article
    assert data == like
    assert isinstance(actor, RemoteActor)
    assert actor == carol.row


def test_a_remote_delete_of_a_local_object_never_reaches_its_method(
    client, alice, article, carol, monkeypatch
):
    """The outbox calls activity_<type> only for the object's owner, so a site
    may trust its caller there; the inbox calls the same method for anyone.
    A Delete of alice's article by a stranger (no StoredObject says who owns
    it: the article was never published as an activity) must not be handed on."""
    calls = []
    monkeypatch.setattr(
        Article,
        "activity_delete",
        lambda self, data, actor: calls.append(actor),
        raising=False,
    )
    response = post_signed(client, SHARED, carol.activity("Delete", ARTICLE), carol)
    assert calls == []
    assert response.status_code in (202, 403)
    assert Article.objects.filter(pk=article.pk).exists()
