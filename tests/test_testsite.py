"""The demo site: seed_demo, its HTML pages, and ``testsite/demo.py --check``."""

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.test import Client
from django_vox.models import Notification, Template

from testsite.blog.models import Article, Comment, Like, Subscription
from vox_activity.models import Activity, InboxItem

ROOT = Path(__file__).resolve().parent.parent
AP = {"HTTP_ACCEPT": "application/activity+json"}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def user(username):
    return get_user_model().objects.get(username=username)


def inbox_types(username):
    items = InboxItem.objects.for_owner(user(username)).select_related("activity")
    return sorted(item.activity.type for item in items)


@pytest.fixture
def seeded(db):
    seed()


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            get_user_model(),
            Subscription,
            Template,
            Article,
            Comment,
            Like,
            Activity,
            InboxItem,
        )
    }


def test_seed_demo_creates_the_demo(db):
    output = seed()
    assert "'admin' with password 'admin'" in output
    admin = user("admin")
    assert admin.is_superuser and admin.check_password("admin")
    assert user("bob").check_password("bob")
    assert set(
        Subscription.objects.values_list("subscriber__username", "author__username")
    ) == {("bob", "alice"), ("dave", "alice"), ("bob", "carol")}
    templates = Template.objects.select_related("notification")
    assert {(t.notification.codename, t.recipients) for t in templates} == {
        ("created", "c:subscribers"),
        ("updated", "c:subscribers"),
        ("created", "c:article_author"),
        ("liked", "c:article_author"),
    }
    assert all(t.backend == "activity" and t.bulk and t.enabled for t in templates)

    # The notifications went through django-vox into the inboxes.
    assert inbox_types("bob") == ["Create", "Create", "Create", "Update"]
    assert inbox_types("dave") == ["Create", "Create", "Update"]
    assert inbox_types("alice") == ["Create", "Create", "Like"]  # 2 comments, 1 like
    assert inbox_types("carol") == ["Create", "Like"]
    assert InboxItem.objects.for_owner(user("bob")).unread().count() == 4
    newest = InboxItem.objects.for_owner(user("bob")).newest_first().first()
    assert newest.activity.data["name"] == "New article: Inboxes and outboxes"
    like = InboxItem.objects.for_owner(user("alice")).get(activity__type="Like")
    assert like.activity.data["actor"] == "https://testserver/~bob/"
    assert like.activity.data["name"] == "bob liked Hello, Fediverse"


def test_seed_demo_is_idempotent(db):
    seed()
    before = counts()
    output = seed()
    assert counts() == before
    assert "0 new template(s), 0 notification(s) issued" in output
    assert "with password" not in output


def test_seed_demo_says_to_migrate_when_notifications_are_missing(db):
    article_type = ContentType.objects.get_for_model(Article)
    Notification.objects.filter(object_type=article_type).delete()
    with pytest.raises(CommandError, match="run migrate first"):
        seed()
    assert not get_user_model().objects.exists()


def test_pages_render(client, seeded):
    home = client.get("/")
    assert home.status_code == 200
    assert b"Hello, Fediverse" in home.content
    assert b'href="/~alice/"' in home.content

    page = client.get("/~alice/")
    assert page.status_code == 200
    assert b"Alice Liddell" in page.content
    assert b"Inboxes and outboxes" in page.content
    assert (
        b"curl -H 'Accept: application/activity+json' https://testserver/~alice/"
        in page.content
    )

    article = client.get("/articles/hello-fediverse/")
    assert article.status_code == 200
    assert b"Welcome aboard!" in article.content  # bob's comment
    assert b"1 like" in article.content

    assert client.get("/articles/nothing-here/").status_code == 404
    assert client.get("/~nobody/").status_code == 404


def test_actor_path_serves_html_or_activitypub(client, seeded):
    html = client.get("/~alice/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")
    assert "blog/author.html" in [t.name for t in html.templates]
    assert "Accept" in html["Vary"]

    actor = client.get("/~alice/", **AP)
    assert actor.status_code == 200
    assert actor["Content-Type"].startswith("application/activity+json")
    assert not actor.templates  # vox_activity answered, not the blog's view
    data = json.loads(actor.content)
    assert data["type"] == "Person"
    assert data["id"] == "https://testserver/~alice/"
    assert data["name"] == "Alice Liddell"
    assert data["outbox"] == "https://testserver/~alice/outbox"


def test_inbox_page_requires_login(client, seeded):
    response = client.get("/inbox/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/inbox/"


def test_inbox_page_and_read_button(seeded):
    """The page lists the inbox; its button's request (a C2S Read) marks one read."""
    client = Client(enforce_csrf_checks=True)
    bob = user("bob")
    client.force_login(bob)
    page = client.get("/inbox/")
    assert page.status_code == 200
    assert page.context["unread_count"] == 4
    assert page.context["outbox_path"] == "/~bob/outbox"
    rows = page.context["items"]
    assert rows[0]["name"] == "New article: Inboxes and outboxes"  # newest first
    assert page.content.count(b'class="mark-read"') == 4

    # Exactly what the page's fetch() sends.
    target = rows[-1]["iri"]
    body = json.dumps({"type": "Read", "object": target})
    post = {"data": body, "content_type": "application/activity+json"}
    assert client.post("/~bob/outbox", **post).status_code == 403  # no CSRF token
    token = client.cookies["csrftoken"].value
    response = client.post("/~bob/outbox", HTTP_X_CSRFTOKEN=token, **post)
    assert response.status_code == 204

    items = InboxItem.objects.for_owner(bob)
    assert items.unread().count() == 3
    assert items.get(activity__iri=target).is_read
    unread_page = client.get("/inbox/?show=unread")
    assert [row["iri"] for row in unread_page.context["items"]] == [
        row["iri"] for row in rows[:-1]
    ]
    assert client.get("/inbox/").content.count(b'class="mark-read"') == 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_check_runs_against_a_real_server(tmp_path):
    database = tmp_path / "demo.sqlite3"
    database.write_text("not a database: --fresh must delete it")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "testsite/demo.py", "--check", "--fresh", "--port", str(port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    origin = f"http://127.0.0.1:{port}"
    for line in (
        f"==> deleted {database}",
        "==> seed_demo",
        f"[PASS] actor document (application/activity+json): GET /~alice/ -> 200 "
        f"(application/activity+json, Person {origin}/~alice/)",
        "[PASS] actor document (application/ld+json; profile=AS): GET /~alice/ -> 200",
        "[PASS] HTML page on the actor's path: GET /~alice/ -> 200 (text/html",
        "[PASS] outbox: GET /~alice/outbox -> 200 (OrderedCollection",
        "[PASS] inbox, anonymous: GET /~bob/inbox -> 403",
        "[PASS] inbox page, anonymous: GET /inbox/ -> 302",
        "[PASS] bob's inbox (owner): GET /~bob/inbox?page=true -> 200 "
        "(4 item(s), 4 unread)",
        "[PASS] Read posted to bob's outbox (C2S): POST /~bob/outbox -> 204",
        "[PASS] the item is read now:",
        "==> server stopped",
        "check passed: all 14 steps",
    ):
        assert line in output, f"{line!r} missing from:\n{output}"
    assert "[FAIL]" not in output
