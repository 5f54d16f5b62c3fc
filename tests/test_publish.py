"""Publishing: one activity, one inbox item per local recipient, one transaction."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from testsite.blog.models import Article, Subscription
from vox_activity.models import Activity, InboxItem
from vox_activity.outgoing import publish as publish_module
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.vocabulary import PUBLIC

from .support.local_site import notification

User = get_user_model()


def subscribers(author, count, start=0):
    users = User.objects.bulk_create(
        [User(username=f"reader{start + i}") for i in range(count)]
    )
    Subscription.objects.bulk_create(
        [Subscription(subscriber=u, author=author) for u in users]
    )
    return users


def issue_article(author, slug):
    article = Article.objects.create(author=author, title=slug, slug=slug, body="b")
    notification(Article, "created").issue(article)
    return article


@pytest.fixture
def subscriber_template(make_template):
    return make_template(Article, "created", "c:subscribers", subject="{{ object }}")


def test_walkthrough_from_notification_to_inbox_listing(
    alice, bob, subscriber_template, client
):
    """A subscriber reads the new article's activity in their inbox, over HTTP."""
    Subscription.objects.create(subscriber=bob, author=alice)
    issue_article(alice, "first")
    issue_article(alice, "second")

    assert InboxItem.objects.for_owner(bob).unread().count() == 2
    client.force_login(bob)
    page = client.get(
        "/~bob/inbox?page=true", HTTP_ACCEPT="application/activity+json"
    ).json()
    assert [item["name"] for item in page["orderedItems"]] == ["second", "first"]
    assert all(item["dateRead"] is None for item in page["orderedItems"])
    assert page["orderedItems"][0]["object"]["id"] == (
        "https://testserver/articles/second/"
    )


def test_queries_do_not_grow_with_recipients(alice, subscriber_template):
    """Same number of SQL queries for 3 recipients as for 150."""
    subscribers(alice, 3)
    issue_article(alice, "warm-up")  # caches content types and the like
    with CaptureQueriesContext(connection) as few:
        issue_article(alice, "few")
    subscribers(alice, 147, start=3)
    with CaptureQueriesContext(connection) as many:
        issue_article(alice, "many")
    assert InboxItem.objects.filter(activity__iri__contains="activities").count() == (
        3 + 3 + 150
    )
    assert len(many) == len(few), [q["sql"][:80] for q in many.captured_queries]


def test_local_recipients_stay_out_of_the_json_others_go_to(alice, bob, caplog):
    remote = "https://remote.example/users/zed"
    followers = "https://testserver/~alice/followers"
    with caplog.at_level(logging.INFO, logger="vox_activity.outgoing.delivery"):
        activity = publish(
            {"type": "Create", "object": {"type": "Note", "content": "x"}},
            ["https://testserver/~bob/", remote, followers, "as:Public"],
        )
    assert activity.data["to"] == [remote, followers, PUBLIC]
    assert activity.public is True
    assert InboxItem.objects.for_owner(bob).get().activity == activity
    assert remote in caplog.text  # handed to delivery, logged, not an error


def test_duplicate_and_unknown_addresses(alice, bob):
    activity = publish(
        {"type": "Create"},
        [
            "https://testserver/~bob/",
            "https://testserver/~bob/",
            "/~bob/",
            "https://testserver/~nobody/",
            "https://testserver/articles/not-an-actor/",
        ],
    )
    assert InboxItem.objects.filter(activity=activity).count() == 1
    assert "https://testserver/~nobody/" in activity.data["to"]


def test_publishing_is_one_transaction(alice, bob, monkeypatch):
    def explode(activity, addresses, known=None, extra_inboxes=()):
        raise RuntimeError("delivery scheduling failed")

    monkeypatch.setattr(publish_module, "schedule_remote_delivery", explode)
    with pytest.raises(RuntimeError):
        publish({"type": "Create"}, ["https://testserver/~bob/"])
    assert Activity.objects.count() == 0
    assert InboxItem.objects.count() == 0


def test_activity_ids_are_unique_and_fetchable(alice, bob, ap_client):
    first = publish({"type": "Create", "to": [PUBLIC]}, [])
    second = publish({"type": "Create", "to": [PUBLIC]}, [])
    assert first.iri != second.iri
    response = ap_client.get(first.iri.removeprefix("https://testserver"))
    assert response.status_code == 200
    assert response.json()["id"] == first.iri
