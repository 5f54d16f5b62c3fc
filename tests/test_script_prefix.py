"""A site served under a URL prefix: ``FORCE_SCRIPT_NAME = "/blog"``.

Django then serves ``https://testserver/blog/~alice/`` with
``request.path_info == "/~alice/"``, and ``reverse()`` puts ``/blog`` in
front of every URL.  Actor IRIs must carry the prefix too, and IRIs that come
back (in WebFinger resources, activities, addresses) must be recognised with
it, and not without it.

Django sets the script prefix from ``FORCE_SCRIPT_NAME`` when a process starts
(``django.setup()``) and for every request of its WSGI handler; the test
client does neither, so the ``under_blog`` fixture does what they do.
"""

from __future__ import annotations

import json

import pytest
from django.urls import get_script_prefix, set_script_prefix

from testsite.blog.models import Article, Comment, Subscription
from vox_activity.models import Activity, Delivery, Follow, InboxItem
from vox_activity.registry import (
    actor_for_iri,
    actor_iri,
    instance_actor_iri,
    resolve_local_actors,
    shared_inbox_iri,
)
from vox_activity.site import local_path, script_prefix, url_path

from .support.constants import AP, SITE
from .support.local_site import notification
from .support.remote_actors import make_remote, signed_extras

BLOG = f"{SITE}/blog"
ALICE = f"{BLOG}/~alice/"


@pytest.fixture
def under_blog(settings):
    settings.FORCE_SCRIPT_NAME = "/blog"
    previous = get_script_prefix()
    set_script_prefix("/blog/")
    yield
    set_script_prefix(previous)


#: No test here may reach the network; deliveries are enqueued to a backend
#: that records and runs nothing.
pytestmark = pytest.mark.usefixtures("offline", "dummy_tasks")


def test_paths_and_iris_under_the_prefix(under_blog, alice):
    assert script_prefix() == "/blog/"
    assert url_path("/~alice/") == "/blog/~alice/"
    assert actor_iri(alice) == ALICE
    # The routed path (below the prefix) is what the registry matches.
    assert local_path(ALICE) == "/~alice/"
    assert local_path("/blog/~alice/inbox") == "/~alice/inbox"
    assert local_path(BLOG) == "/"
    assert actor_for_iri(ALICE) == alice
    # The same domain outside the prefix is not this site.
    assert local_path(f"{SITE}/~alice/") is None
    assert local_path(f"{SITE}/blogger/~alice/") is None
    assert actor_for_iri(f"{SITE}/~alice/") is None
    assert list(resolve_local_actors([ALICE, f"{SITE}/~alice/"])) == [ALICE]
    # vox_activity's own URLs come from reverse(): prefixed as well.
    assert shared_inbox_iri() == f"{BLOG}/activitypub/inbox"
    assert instance_actor_iri() == f"{BLOG}/activitypub/actor"


def test_without_a_prefix_nothing_changes(alice):
    assert script_prefix() == "/"
    assert actor_iri(alice) == f"{SITE}/~alice/"
    assert local_path(f"{SITE}/~alice/") == "/~alice/"
    assert local_path(f"{SITE}/blog/~alice/") == "/blog/~alice/"


def test_actor_document_under_the_prefix(under_blog, client, alice):
    response = client.get("/~alice/", HTTP_ACCEPT=AP)
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["id"] == ALICE
    assert document["url"] == ALICE
    for endpoint in ("inbox", "outbox", "followers", "following"):
        assert document[endpoint] == f"{ALICE}{endpoint}"
    assert document["endpoints"]["sharedInbox"] == f"{BLOG}/activitypub/inbox"
    assert document["publicKey"]["id"] == f"{ALICE}#main-key"
    assert document["publicKey"]["owner"] == ALICE
    # The browser's page is still the blog's.
    page = client.get("/~alice/", HTTP_ACCEPT="text/html")
    assert page["Content-Type"].startswith("text/html")


def test_webfinger_under_the_prefix(under_blog, client, alice):
    def finger(resource):
        return client.get("/.well-known/webfinger", {"resource": resource})

    found = finger("acct:alice@testserver")
    assert found.status_code == 200
    data = json.loads(found.content)
    (link,) = [link for link in data["links"] if link["rel"] == "self"]
    assert link["href"] == ALICE
    by_iri = finger(ALICE)
    assert by_iri.status_code == 200
    assert json.loads(by_iri.content)["subject"] == "acct:alice@testserver"
    assert finger(f"{SITE}/~alice/").status_code == 404  # outside the prefix
    instance = finger(f"{BLOG}/activitypub/actor")
    assert instance.status_code == 200
    assert json.loads(instance.content)["subject"] == "acct:testserver@testserver"


@pytest.mark.parametrize("inbox", ["/~alice/inbox", "/activitypub/inbox"])
def test_signed_inbox_post_under_the_prefix(
    under_blog, client, alice, inbox, django_capture_on_commit_callbacks
):
    """A follow of the prefixed IRI, posted to the prefixed URL and signed so."""
    carol = make_remote("carol")
    follow = carol.activity("Follow", ALICE)
    body = json.dumps(follow).encode()
    # The sender signs the path it requests (with /blog); Django routes the
    # rest (path_info) to the inbox.
    extras = signed_extras(carol, f"/blog{inbox}", body)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.generic("POST", inbox, body, content_type=AP, **extras)
    assert response.status_code == 202, response.content
    row = Follow.objects.get()
    assert (row.actor_iri, row.object_iri, row.state) == (
        carol.iri,
        ALICE,
        Follow.State.ACCEPTED,
    )
    accept = Activity.objects.get(type="Accept", local=True)
    assert accept.actor_iri == ALICE
    assert accept.iri.startswith(f"{BLOG}/activitypub/activities/")
    (delivery,) = Delivery.objects.all()
    assert delivery.inbox == "https://remote.example/inbox"


def test_a_signature_over_the_unprefixed_path_fails(under_blog, client, alice):
    carol = make_remote("carol")
    follow = carol.activity("Follow", ALICE)
    body = json.dumps(follow).encode()
    extras = signed_extras(carol, "/~alice/inbox", body)  # not what was requested
    response = client.generic("POST", "/~alice/inbox", body, content_type=AP, **extras)
    assert response.status_code == 401
    assert not Follow.objects.exists()


def test_publishing_under_the_prefix(
    under_blog,
    client,
    alice,
    bob,
    article_templates,
    django_capture_on_commit_callbacks,
):
    """A notification: local inboxes, remote followers, served activity."""
    carol = make_remote("carol")
    Follow.objects.create(
        actor_iri=carol.iri,
        object_iri=ALICE,
        remote_actor=carol.row,
        state=Follow.State.ACCEPTED,
    )
    Subscription.objects.create(subscriber=bob, author=alice)
    article = Article.objects.create(author=alice, title="Hi", slug="hi", body="Hi")
    with django_capture_on_commit_callbacks(execute=True):
        notification(Article, "created").issue(article)

    create = Activity.objects.get(type="Create")
    assert create.actor_iri == ALICE
    assert create.iri.startswith(f"{BLOG}/activitypub/activities/")
    assert create.data["object"]["id"] == f"{BLOG}/articles/hi/"
    assert create.data["object"]["attributedTo"] == ALICE
    assert create.data["cc"] == [f"{ALICE}followers"]
    # bob (a local subscriber, by his prefixed IRI) has it in his inbox...
    assert InboxItem.objects.for_owner(bob).filter(activity=create).exists()
    # ...and alice's followers collection reached carol's server.
    assert [d.inbox for d in Delivery.objects.filter(activity=create)] == [
        "https://remote.example/inbox"
    ]
    # The activity is served at its IRI, and listed in the outbox.
    path = create.iri.removeprefix(BLOG)
    served = client.get(path, HTTP_ACCEPT=AP)
    assert served.status_code == 200
    assert json.loads(served.content)["id"] == create.iri
    outbox = json.loads(client.get("/~alice/outbox?page=true", HTTP_ACCEPT=AP).content)
    assert [item["id"] for item in outbox["orderedItems"]] == [create.iri]
    assert outbox["id"].startswith(f"{ALICE}outbox")


def test_deleted_object_answers_410_under_the_prefix(
    under_blog, client, alice, bob, make_template
):
    make_template(Comment, "deleted", "c:article_author")
    article = Article.objects.create(author=alice, title="Hi", slug="hi", body="Hi")
    comment = Comment.objects.create(article=article, author=bob, body="Yes")
    assert comment.get_absolute_url() == f"/blog/comments/{comment.pk}/"
    notification(Comment, "deleted").issue(comment)
    gone = client.get(f"/comments/{comment.pk}/", HTTP_ACCEPT=AP)
    assert gone.status_code == 410
    assert json.loads(gone.content)["id"] == f"{BLOG}/comments/{comment.pk}/"
