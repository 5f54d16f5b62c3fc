"""What the objects we publish carry: audience, dates, mentions, hooks (issue 9 A).

Mastodon reads a post's visibility from the object it fetches by IRI, and
applies an edit only when ``updated`` is newer; Fedify-based servers read the
object's own addressing.  See ``vox_activity.outgoing.objects``.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from testsite.blog.models import Article
from testsite.blog.vox import ArticleVox
from vox_activity.models import RemoteActor, StoredObject
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.vocabulary import PUBLIC

from .support.local_site import notification
from .support.remote_actors import make_remote

ALICE = "https://testserver/~alice/"
BOB = "https://testserver/~bob/"
FOLLOWERS = ALICE + "followers"


def note(**extra):
    return {"id": "https://testserver/notes/1", "type": "Note", **extra}


def test_the_object_gets_the_activitys_audience_never_blind_recipients(alice, bob):
    activity = publish(
        {
            "type": "Create",
            "actor": ALICE,
            "object": note(content="hi"),
            "to": [PUBLIC],
            "cc": [FOLLOWERS],
            "bcc": [BOB],
        }
    )
    obj = activity.to_ap()["object"]
    assert obj["to"] == [PUBLIC]
    assert obj["cc"] == [FOLLOWERS]
    assert "bcc" not in obj and "bto" not in obj
    assert obj["attributedTo"] == ALICE
    assert obj["url"] == obj["id"]
    assert datetime.fromisoformat(obj["published"].replace("Z", "+00:00"))
    # The local object is remembered with its audience (it is served so).
    assert StoredObject.objects.get(iri=obj["id"]).data["to"] == [PUBLIC]


def test_an_object_with_its_own_audience_keeps_it(alice):
    activity = publish(
        {
            "type": "Create",
            "actor": ALICE,
            "object": note(to=[FOLLOWERS]),
            "to": [PUBLIC],
        }
    )
    assert activity.data["object"]["to"] == [FOLLOWERS]
    assert "cc" not in activity.data["object"]


def test_an_update_says_when_the_object_was_updated(alice):
    created = publish({"type": "Create", "actor": ALICE, "object": note()})
    published = created.data["object"]["published"]
    updated = publish(
        {
            "type": "Update",
            "actor": ALICE,
            "object": note(published=published, content="edited"),
        }
    )
    obj = updated.data["object"]
    assert obj["published"] == published
    assert obj["updated"] >= published
    assert "updated" not in created.data["object"]


def test_addressed_actors_are_mentioned(alice, bob, db):
    zed = make_remote("zed", "remote.example")
    activity = publish(
        {
            "type": "Create",
            "actor": ALICE,
            "object": note(content="psst"),
            "to": [zed.iri, BOB],
        }
    )
    tags = activity.data["object"]["tag"]
    assert {"type": "Mention", "href": zed.iri, "name": "@zed@remote.example"} in tags
    assert {"type": "Mention", "href": BOB, "name": "@bob@testserver"} in tags
    assert RemoteActor.objects.filter(iri=zed.iri).exists()


def test_mentions_are_not_repeated_and_collections_are_not_mentioned(alice, bob):
    mention = {"type": "Mention", "href": BOB, "name": "@bob@testserver"}
    activity = publish(
        {
            "type": "Create",
            "actor": ALICE,
            "object": note(tag=[mention]),
            "to": [BOB, PUBLIC],
            "cc": [FOLLOWERS],
        }
    )
    assert activity.data["object"]["tag"] == [mention]


def test_objects_other_than_content_are_left_alone(alice):
    activity = publish({"type": "Like", "actor": ALICE, "object": note(), "to": [BOB]})
    assert activity.data["object"] == note()


@pytest.fixture
def hooks(monkeypatch):
    monkeypatch.setattr(
        ArticleVox, "get_activity_tags", lambda self, i, n: ["django", "#Fediverse"]
    )
    monkeypatch.setattr(
        ArticleVox,
        "get_activity_in_reply_to",
        lambda self, i, n: "https://remote.example/notes/9",
    )
    monkeypatch.setattr(
        ArticleVox, "get_activity_content_warning", lambda self, i, n: "spoilers"
    )


def test_registration_hooks_add_hashtags_a_reply_and_a_content_warning(
    alice, article, make_template, hooks
):
    make_template(Article, "created", "c:author", subject="x")
    notification(Article, "created").issue(article)
    (stored,) = StoredObject.objects.filter(local=True)
    obj = stored.data
    assert {"type": "Hashtag", "name": "#django"} in obj["tag"]
    assert {"type": "Hashtag", "name": "#Fediverse"} in obj["tag"]
    assert obj["inReplyTo"] == "https://remote.example/notes/9"
    assert (obj["summary"], obj["sensitive"]) == ("spoilers", True)
