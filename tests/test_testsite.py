"""The demo site: seed_demo, the blog_* commands, its pages, and ``demo.py``.

The two-instance scenario itself is tested over real HTTP in test_e2e.py;
here ``testsite/demo.py`` runs once as a user runs it (scenario, then
serving until Ctrl-C).
"""

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
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
    assert output.splitlines()[-1] == (
        "seed_demo: 5 users (5 new), 3 subscriptions (3 new), 5 templates (5 new), "
        "3 articles (3 new), 3 comments (3 new), 2 likes (2 new), "
        "9 notifications issued."
    )
    admin = user("admin")
    assert admin.is_superuser and admin.check_password("admin")
    assert user("bob").check_password("bob")
    # Demo users log in on the blog's page; only admin uses the admin.
    assert not user("bob").is_staff and not user("alice").is_staff
    assert set(
        Subscription.objects.values_list("subscriber__username", "author__username")
    ) == {("bob", "alice"), ("dave", "alice"), ("bob", "carol")}
    templates = Template.objects.select_related("notification")
    assert {(t.notification.codename, t.recipients) for t in templates} == {
        ("created", "c:subscribers"),
        ("updated", "c:subscribers"),
        ("created", "c:article_author"),
        ("deleted", "c:article_author"),
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
    assert output.splitlines()[-1] == (
        "seed_demo: 5 users, 3 subscriptions, 5 templates, 3 articles, 3 comments, "
        "2 likes, 0 notifications issued."
    )
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
    assert article.context["like_count"] == 1
    assert b"<span data-like-count>1</span> like\n" in article.content

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
    assert response["Location"] == "/accounts/login/?next=/inbox/"


def test_inbox_page_and_read_button(seeded):
    """The page lists the inbox; its button's request (a C2S Read) marks one read."""
    client = Client(enforce_csrf_checks=True)
    bob = user("bob")
    client.force_login(bob)
    page = client.get("/inbox/")
    assert page.status_code == 200
    assert page.context["unread_count"] == 4
    assert page.context["outbox_path"] == "/~bob/outbox"
    rows = page.context["rows"]
    assert [row.title for row in rows] == [  # newest first
        "@alice published \u2018Inboxes and outboxes\u2019",
        "@carol published \u2018Why notifications are activities\u2019",
        "@alice edited \u2018Hello, Fediverse\u2019",
        "@alice published \u2018Hello, Fediverse\u2019",
    ]
    assert page.content.count(b'class="mark-read"') == 4

    # Exactly what the page's fetch() sends.
    target = rows[-1].iri
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
    assert [row.iri for row in unread_page.context["rows"]] == [
        row.iri for row in rows[:-1]
    ]
    assert client.get("/inbox/").content.count(b'class="mark-read"') == 3


def test_seed_demo_instances(db):
    """``--instance``: alpha has alice (and her article), beta has bob."""
    out = io.StringIO()
    call_command("seed_demo", "--instance", "alpha", stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        "seed_demo (instance alpha): 2 users (2 new), 0 subscriptions, "
        "5 templates (5 new), 1 article (1 new), 0 comments, 0 likes, "
        "2 notifications issued."
    )
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == [
        "admin",
        "alice",
    ]
    assert list(Article.objects.values_list("slug", flat=True)) == ["hello-fediverse"]
    assert not Comment.objects.exists() and not Like.objects.exists()
    assert Template.objects.count() == 5
    # The article went out as a public Create by alice (nobody follows yet).
    create = Activity.objects.get(type="Create")
    assert create.actor_iri == "https://testserver/~alice/"
    assert create.public
    assert create.data["cc"] == ["https://testserver/~alice/followers"]


def test_seed_demo_instance_beta(db):
    call_command("seed_demo", "--instance", "beta", stdout=io.StringIO())
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == [
        "admin",
        "bob",
    ]
    assert not Article.objects.exists() and not Activity.objects.exists()


def blog(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_blog_commands_publish_edit_comment_and_delete(client, db):
    call_command("seed_demo", "--instance", "alpha", stdout=io.StringIO())
    alice = "https://testserver/~alice/"
    public = "https://www.w3.org/ns/activitystreams#Public"

    published = blog(
        "blog_publish", "--author=alice", "--title=On Tuesday", "--body=Hello."
    )
    article = "https://testserver/articles/on-tuesday/"
    assert published["slug"] == "on-tuesday"
    assert (published["object"], published["type"]) == (article, "Create")
    create = Activity.objects.get(iri=published["activity"])
    assert create.actor_iri == alice
    assert (create.data["to"], create.data["cc"]) == ([public], [alice + "followers"])
    assert create.data["object"]["type"] == "Article"

    # The article's IRI is its page, and its ActivityPub document.
    document = client.get("/articles/on-tuesday/", **AP)
    assert document["Content-Type"].startswith("application/activity+json")
    assert json.loads(document.content)["id"] == article
    assert "Accept" in document["Vary"]
    assert client.get("/articles/on-tuesday/")["Content-Type"].startswith("text/html")

    edited = blog("blog_edit", "--slug=on-tuesday", "--body=Hello again.")
    update = Activity.objects.get(iri=edited["activity"])
    assert update.type == "Update"
    assert update.data["object"]["content"] == "Hello again."

    commented = blog(
        "blog_comment", "--slug=on-tuesday", "--author=alice", "--body=PS."
    )
    note = f"https://testserver/comments/{commented['id']}/"
    assert commented["object"] == note
    create = Activity.objects.get(iri=commented["activity"])
    assert create.data["object"]["type"] == "Note"
    assert create.data["object"]["inReplyTo"] == article
    assert (create.data["to"], create.data["cc"]) == ([public], [alice + "followers"])
    # alice commented on her own article: nobody's inbox, herself included.
    assert not InboxItem.objects.filter(activity=create).exists()
    assert json.loads(client.get(note, **AP).content)["type"] == "Note"
    page = client.get(f"/comments/{commented['id']}/")
    assert page.status_code == 302
    assert page["Location"] == f"/articles/on-tuesday/#comment-{commented['id']}"

    deleted = blog("blog_delete_comment", str(commented["id"]))
    delete = Activity.objects.get(iri=deleted["activity"])
    assert (delete.type, delete.object_iri) == ("Delete", note)
    assert delete.data["object"] == {
        "id": note,
        "type": "Tombstone",
        "formerType": "Note",
    }
    assert (delete.data["to"], delete.data["cc"]) == ([public], [alice + "followers"])
    assert not Comment.objects.exists()
    gone = client.get(f"/comments/{commented['id']}/", **AP)
    assert gone.status_code == 410
    assert json.loads(gone.content)["type"] == "Tombstone"
    assert client.get(f"/comments/{commented['id']}/").status_code == 404


def test_blog_commands_explain_mistakes(db):
    call_command("seed_demo", "--instance", "alpha", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no user 'zoe'"):
        blog("blog_publish", "--author=zoe", "--title=T", "--body=B")
    with pytest.raises(CommandError, match="already an article 'hello-fediverse'"):
        blog("blog_publish", "--author=alice", "--title=Hello, Fediverse", "--body=B")
    with pytest.raises(CommandError, match="no article 'nope'"):
        blog("blog_edit", "--slug=nope", "--body=B")
    with pytest.raises(CommandError, match="no comment 42"):
        blog("blog_delete_comment", "42")


def test_demo_state_reports_what_the_e2e_tests_check(db):
    call_command("seed_demo", "--instance", "alpha", stdout=io.StringIO())
    state = blog("demo_state")
    assert state["origin"] == "https://testserver"
    assert [a["type"] for a in state["activities"]] == ["Create", "Update"]
    assert state["deliveries"] == [] and state["follows"] == []
    assert [o["type"] for o in state["objects"]] == ["Article"]
    assert state["inboxes"] == {"admin": [], "alice": []}


def demo_env(tmp_path) -> dict:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test_demo_refuses_bad_ports(tmp_path):
    for args, message in (
        (["--alpha-port", "9000", "--beta-port", "9000"], "need different ports"),
        (["--alpha-port", "0"], "between 1 and 65535"),
        (["--scenario-only", "--no-scenario"], "exclude each other"),
    ):
        result = subprocess.run(
            [sys.executable, "testsite/demo.py", *args],
            cwd=ROOT,
            env=demo_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert message in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "testsite/demo.py", "--alpha-port", str(port)],
            cwd=ROOT,
            env=demo_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} in use" in result.stderr


class LineReader:
    """A process's output read in a thread, so that waiting for a line ends.

    ``for line in process.stdout`` waits forever for a line that never comes
    (a demo that hangs would hang the suite); :meth:`until` gives up.
    """

    def __init__(self, stream, lines: list[str]) -> None:
        self.lines, self.arrived = lines, threading.Condition()
        self.seen = 0  # lines already looked at by until()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self.arrived:
                self.lines.append(line)
                self.arrived.notify_all()
        with self.arrived:
            self.lines.append("")  # end of output
            self.arrived.notify_all()

    def until(self, wanted, timeout: float = 60) -> None:
        """Wait for a line ``wanted(line)`` accepts; AssertionError if none."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                while self.seen < len(self.lines):
                    line = self.lines[self.seen]
                    self.seen += 1
                    if line and wanted(line):
                        return
                    if line == "":
                        raise AssertionError("the demo ended:\n" + "".join(self.lines))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no such line yet:\n" + "".join(self.lines))
                self.arrived.wait(left)


@pytest.mark.e2e
def test_demo_runs_the_scenario_then_serves_until_ctrl_c(tmp_path):
    """``python3 dev.py demo`` as a user runs it: scenario, banner, Ctrl-C."""
    from testsite.cluster import free_port, port_is_free

    stale = tmp_path / "demo-alpha.sqlite3"
    stale.write_text("not a database: --fresh must delete it")
    alpha, beta = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "testsite/demo.py",
            "--fresh",
            f"--alpha-port={alpha}",
            f"--beta-port={beta}",
        ],
        cwd=ROOT,
        env=demo_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = LineReader(process.stdout, lines)
    try:
        reader.until(lambda line: line.startswith("Requests to both servers"), 600)
        output = "".join(lines)
        assert "scenario passed: all 9 steps" in output, output
        # The servers' request logs follow the banner, even a request made the
        # moment it shows.
        with urllib.request.urlopen(f"http://127.0.0.1:{beta}/") as response:
            assert response.status == 200
        reader.until(lambda line: line.startswith("[beta]") and "GET / -> 200" in line)
        process.send_signal(signal.SIGINT)  # Ctrl-C
        process.wait(timeout=60)
        reader.thread.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines)
    assert process.returncode == 0, output
    origin_a, origin_b = f"http://127.0.0.1:{alpha}", f"http://127.0.0.1:{beta}"
    for expected in (
        f"==> deleted {stale}",
        f"==> alpha: {origin_a}/ (waitress",
        f"==> beta: {origin_b}/ (waitress",
        f"    GET {origin_a}/.well-known/webfinger?resource=acct:alice@127.0.0.1:"
        f"{alpha} -> 200",
        f"    POST {origin_b}/~bob/outbox -> 201",
        f"    alpha verified its signature, keyId={origin_b}/~bob/#main-key",
        f"    beta verified its signature, keyId={origin_a}/~alice/#main-key",
        "[PASS] 3. beta's Follow bob -> alice is accepted",
        f"[PASS] 4. Create of {origin_a}/articles/news-",
        "[PASS] 5. bob's Like of the article is in alice's inbox on alpha",
        "[PASS] 6. beta's stored article has the new text",
        "[PASS] 8. the comment is gone on both instances",
        "The two demo instances are running (Ctrl-C stops both)",
        f"Admin of alpha  {origin_a}/admin/   (user admin, password admin)",
        f"Bob's inbox     {origin_b}/inbox/   (log in as bob, password bob)",
        f"Deliveries      {origin_a}/admin/vox_activity/delivery/",
        "SIGINT received: stopping both instances...",
        "Stopped.",
    ):
        squeezed = re.sub(" +", " ", expected)  # the banner's columns vary
        assert squeezed in re.sub(" +", " ", output), f"{expected!r} missing:\n{output}"
    assert "[FAIL]" not in output
    # Every server and worker is gone: the ports are free again.
    assert port_is_free(alpha) and port_is_free(beta)
