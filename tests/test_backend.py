"""Notifications become activities: type, name, summary, object, actor, target."""

import json

import pytest
from django.contrib.auth import get_user_model
from django_vox.models import Notification

from testsite.blog.models import Article, Comment, Like, Subscription
from vox_activity.models import Activity, InboxItem
from vox_activity.outgoing.backend import Backend

from .support.local_site import notification


def only_activity():
    assert Activity.objects.count() == 1
    return Activity.objects.get()


def test_created_article_becomes_create_with_embedded_object(
    alice, bob, article, make_template
):
    Subscription.objects.create(subscriber=bob, author=alice)
    make_template(
        Article,
        "created",
        "c:subscribers",
        subject="New: {{ object.title }}",
        content="<p>{{ object.body }}</p>",
    )
    notification(Article, "created").issue(article)
    data = only_activity().data
    assert data["type"] == "Create"
    assert data["name"] == "New: Hello"
    assert data["summary"] == "<p>Hi</p>"
    # The object is embedded whole, as the old backend did, not reduced to its IRI.
    assert data["object"] == {
        "type": "Article",
        "id": "https://testserver/articles/hello/",
        "name": "Hello",
        "content": "Hi",
        "url": "https://testserver/articles/hello/",
        "attributedTo": "https://testserver/~alice/",
        "published": data["object"]["published"],
        # The activity's audience, copied onto the object (ActivityPub 6.2).
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": ["https://testserver/~alice/followers"],
    }
    assert data["id"].startswith("https://testserver/activitypub/activities/")
    assert "https://www.w3.org/ns/activitystreams" in json.dumps(data["@context"])


def test_liked_codename_gives_like_with_actor_iri(alice, bob, article, make_template):
    make_template(Like, "liked", "c:article_author", subject="{{ actor }} likes it")
    like = Like.objects.create(user=bob, article=article)
    notification(Like, "liked").issue(like, actor=bob)
    data = only_activity().data
    assert data["type"] == "Like"
    # A registered actor appears as its actor IRI...
    assert data["actor"] == "https://testserver/~bob/"
    # ...and the registration's get_activity_object gives the liked article.
    assert data["object"]["id"] == "https://testserver/articles/hello/"
    assert data["name"] == "bob likes it"
    assert InboxItem.objects.for_owner(alice).count() == 1


def test_explicit_activity_type_beats_codename(alice, bob, article, make_template):
    make_template(Like, "liked", "c:article_author")
    row = notification(Like, "liked")
    row.activity_type = "https://www.w3.org/ns/activitystreams#Announce"
    row.save()
    like = Like.objects.create(user=bob, article=article)
    row.issue(like, actor=bob)
    assert only_activity().type == "Announce"


def test_unmatched_codename_and_target_object(alice, bob, article, make_template):
    """A codename naming no activity gives Create; target resolves like objects."""
    user = get_user_model()
    row = Notification.objects.create(
        codename="shared",
        object_type=notification(Article, "created").object_type,
        description="shared",
        target_type=notification(Like, "liked").actor_type,
    )
    from django_vox.models import Template

    Template.objects.create(
        notification=row, backend="activity", recipients="re", content="x"
    )
    row.issue(article, target=user.objects.get(username="bob"))
    data = only_activity().data
    assert data["type"] == "Create"
    assert data["target"] == "https://testserver/~bob/"
    assert InboxItem.objects.for_owner(bob).count() == 1


def test_comment_by_actor_lands_with_article_author(alice, bob, article, make_template):
    make_template(Comment, "created", "c:article_author", subject="{{ actor }} said")
    comment = Comment.objects.create(article=article, author=bob, body="Nice")
    notification(Comment, "created").issue(comment, actor=bob)
    data = only_activity().data
    assert data["object"]["type"] == "Note"
    assert data["object"]["inReplyTo"] == "https://testserver/articles/hello/"
    assert data["actor"] == "https://testserver/~bob/"
    assert [i.activity.iri for i in InboxItem.objects.for_owner(alice)] == [data["id"]]


def test_build_message_returns_json_string_without_id():
    class Row:
        codename = "updated"
        activity_type = ""

    message = Backend.build_message("S", "B", {"notification": Row()}, [])
    assert json.loads(message) == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Update",
        "name": "S",
        "summary": "B",
    }


@pytest.mark.django_db
def test_preview_in_django_vox_admin(admin_client, alice, article):
    row = notification(Article, "created")
    response = admin_client.post(
        f"/admin/django_vox/notification/{row.pk}/preview/activity/",
        {"body": "Wrote <b>{{ object.title }}</b>"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="vox-activity-preview"' in html
    assert "Wrote <b>Hello</b>" in html


def test_name_is_plain_text_and_summary_is_escaped_html(alice, bob, make_template):
    from testsite.blog.models import Article

    make_template(
        Article, "created", "c:subscribers", subject="{{ object.title }}",
        content="<p>{{ object.title }}</p>",
    )  # fmt: skip
    Subscription.objects.create(subscriber=bob, author=alice)
    article = Article.objects.create(
        author=alice, title="Tom & <Jerry>", slug="tj", body="x"
    )
    notification(Article, "created").issue(article)
    data = only_activity().data
    assert data["name"] == "Tom & <Jerry>"
    assert data["summary"] == "<p>Tom &amp; &lt;Jerry&gt;</p>"


def test_hidden_actors_yield_no_contact(alice, monkeypatch):
    from testsite.blog.vox import AuthorVox

    registration = AuthorVox(type(alice))
    assert list(registration.activity_contacts(alice, None)) == [
        "https://testserver/~alice/"
    ]
    monkeypatch.setattr(AuthorVox, "has_activity_endpoint", lambda self, i: False)
    assert list(registration.activity_contacts(alice, None)) == []
