"""The demo blog's pages as a federated blog: people, reactions, reader, inbox.

Remote activities arrive the real way, as signed POSTs through the inbox
pipeline (``tests/support/remote_actors.py``); nothing reaches the network,
and tasks (the Accept a follow answers with) are only recorded.  What other servers
sent is hostile here: names with markup, ``javascript:`` links, scripts and
event handlers in content.  The pages must show it as text or sanitised
HTML, never run it.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from testsite.blog import inbox_rows
from testsite.blog import views as blog_views
from testsite.blog.models import Article, Comment, Like, Subscription
from testsite.blog.people import web_url
from vox_activity.exceptions import FollowError
from vox_activity.models import Activity, Follow, InboxItem, StoredObject
from vox_activity.protocol.vocabulary import PUBLIC

from .support.constants import SITE
from .support.remote_actors import make_remote, post_signed

ALICE = f"{SITE}/~alice/"
BOB = f"{SITE}/~bob/"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HOSTILE = (
    "<p>Kind words.</p><script>window.__xss = 1</script>"
    '<img src="x" onerror="window.__xss = 2"><a href="javascript:alert(1)">link</a>'
)


#: Nothing reaches the network; tasks are recorded, never run.
pytestmark = pytest.mark.usefixtures("offline", "dummy_tasks")


def remote(username, domain="remote.example", key=0, **document):
    """A cached remote actor whose document has these fields too."""
    made = make_remote(username, domain, key=key)
    made.row.data.update(document)
    made.row.save(update_fields=["data"])
    made.document.update(document)
    return made


@pytest.fixture
def carol(db):
    """carol@remote.example: a display name with markup, an avatar, a profile."""
    return remote(
        "carol",
        name="Carol <b>Shaw</b>",
        icon={"type": "Image", "url": "https://remote.example/carol.png"},
        url="https://remote.example/@carol",
    )


@pytest.fixture
def eve(db):
    """eve@evil.example, whose links would run code if put in an href."""
    return remote(
        "eve",
        "evil.example",
        key=1,
        name="Eve",
        icon="javascript:alert(1)",
        url=["javascript:alert(2)", {"href": "data:text/html,x"}],
    )


def page(client, path):
    response = client.get(path, HTTP_ACCEPT=HTML)
    assert response.status_code == 200, (path, response.status_code)
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def received(client, path, data, remote):
    response = post_signed(client, path, data, remote)
    assert response.status_code == 202, response.content
    return data


def test_web_url_takes_only_http_links():
    assert web_url("https://a.example/x") == "https://a.example/x"
    assert web_url({"type": "Link", "href": "http://a.example/"}) == "http://a.example/"
    assert web_url({"type": "Image", "url": {"href": "https://a/i.png"}}) == (
        "https://a/i.png"
    )
    assert web_url(["javascript:x", "https://b/"]) == "https://b/"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//a/b", 42, None, {}):
        assert web_url(bad) == ""


def test_author_page_lists_followers_here_and_elsewhere(client, alice, bob, carol):
    Subscription.objects.create(subscriber=bob, author=alice)
    received(client, "/~alice/inbox", carol.activity("Follow", ALICE), carol)
    html = page(client, "/~alice/")
    assert "<span data-follower-count>2</span> followers" in html
    # carol: her handle, her name as text (markup escaped), avatar, profile.
    assert "@carol@remote.example" in html
    assert "Carol &lt;b&gt;Shaw&lt;/b&gt;" in html
    assert 'src="https://remote.example/carol.png"' in html
    assert 'href="https://remote.example/@carol"' in html
    # bob, a local subscriber, links to his page here.
    assert 'href="/~bob/"' in html
    followers = page(client, "/~alice/followers")
    assert "@carol@remote.example" in followers and 'href="/~bob/"' in followers


def test_hostile_profile_links_are_not_links(client, alice, eve):
    received(client, "/~alice/inbox", eve.activity("Follow", ALICE), eve)
    html = page(client, "/~alice/followers")
    assert "@eve@evil.example" in html
    assert "javascript:" not in html and "data:text" not in html
    # No profile URL of its own: the link goes to the actor's IRI.
    assert f'href="{eve.iri}"' in html


def test_following_shows_remote_follows_and_requests(client, alice, bob, carol):
    Subscription.objects.create(subscriber=bob, author=alice)
    Follow.objects.create(
        actor_iri=BOB, object_iri=carol.iri, remote_actor=carol.row, state="pending"
    )
    html = page(client, "/~bob/")
    assert "@carol@remote.example" in html and "requested" in html
    assert 'href="/~alice/"' in html
    following = page(client, "/~bob/following")
    assert "@carol@remote.example" in following


def test_endpoints_are_pages_for_browsers_and_collections_for_servers(
    client, alice, carol
):
    received(client, "/~alice/inbox", carol.activity("Follow", ALICE), carol)
    collection = client.get(
        "/~alice/followers?page=true", HTTP_ACCEPT="application/activity+json"
    )
    assert json.loads(collection.content)["orderedItems"] == [carol.iri]
    assert "@carol@remote.example" in page(client, "/~alice/followers?page=true")
    assert client.get("/~alice/outbox", HTTP_ACCEPT=HTML)["Location"] == "/~alice/"
    inbox = client.get("/~alice/inbox?page=true", HTTP_ACCEPT=HTML)
    assert (inbox.status_code, inbox["Location"]) == (302, "/inbox/")
    assert client.get("/~nobody/followers", HTTP_ACCEPT=HTML).status_code == 404
    assert client.delete("/~alice/outbox").status_code == 405


def test_article_counts_remote_likes_and_boosts_and_shows_replies(
    client, alice, bob, carol, eve
):
    article = Article.objects.create(author=alice, title="Hi", slug="hi", body="Hi")
    iri = f"{SITE}/articles/hi/"
    Like.objects.create(user=bob, article=article)  # a like here
    received(client, "/activitypub/inbox", carol.activity("Like", iri), carol)
    received(client, "/activitypub/inbox", eve.activity("Like", iri), eve)
    received(
        client,
        "/activitypub/inbox",
        carol.activity("Announce", iri, to=[PUBLIC]),
        carol,
    )
    reply = carol.note(inReplyTo=iri, content=HOSTILE, to=[PUBLIC])
    received(
        client,
        "/activitypub/inbox",
        carol.activity("Create", reply, to=[PUBLIC]),
        carol,
    )
    Comment.objects.create(article=article, author=bob, body="<b>Local</b> words")

    response = client.get("/articles/hi/", HTTP_ACCEPT=HTML)
    assert response.context["like_count"] == 3
    assert response.context["boost_count"] == 1
    html = response.content.decode()
    assert "<span data-like-count>3</span> likes" in html
    assert "<span data-boost-count>1</span> boost\n" in html
    # The reply: its words and safe markup, nothing that runs.
    assert "<p>Kind words.</p>" in html
    assert "<script>window.__xss" not in html and "onerror" not in html
    assert "javascript:" not in html
    assert "reply from another server" in html
    # The local comment is escaped, as before.
    assert "&lt;b&gt;Local&lt;/b&gt; words" in html
    responses = response.context["responses"]
    assert [r["remote"] for r in responses] == [True, False]  # oldest first


def test_a_deleted_reply_disappears(client, alice, carol):
    Article.objects.create(author=alice, title="Hi", slug="hi", body="Hi")
    iri = f"{SITE}/articles/hi/"
    reply = carol.note(inReplyTo=iri, content="<p>Soon gone</p>", to=[PUBLIC])
    received(client, "/activitypub/inbox", carol.activity("Create", reply), carol)
    assert "Soon gone" in page(client, "/articles/hi/")
    received(client, "/activitypub/inbox", carol.activity("Delete", reply["id"]), carol)
    assert "Soon gone" not in page(client, "/articles/hi/")


@pytest.fixture
def bob_follows_carol(client, bob, carol):
    Follow.objects.create(
        actor_iri=BOB, object_iri=carol.iri, remote_actor=carol.row, state="accepted"
    )
    return Client()


def test_reader_shows_what_bob_follows_in_its_latest_version(
    client, bob, carol, eve, bob_follows_carol
):
    article = {
        "id": f"{carol.origin}/articles/1",
        "type": "Article",
        "attributedTo": carol.iri,
        "name": "Carol's <i>post</i>",
        "content": "<p>First version.</p>",
        "url": f"{carol.origin}/@carol/1",
        "to": [PUBLIC],
        "cc": [BOB],
    }
    received(client, "/~bob/inbox", carol.activity("Create", article, cc=[BOB]), carol)
    edited = {**article, "content": "<p>Second version.</p>" + HOSTILE}
    received(client, "/~bob/inbox", carol.activity("Update", edited, cc=[BOB]), carol)
    # carol edits her profile: an Update of her actor, nothing to read.
    profile = {k: v for k, v in carol.document.items() if k != "@context"}
    renamed = {**profile, "name": "Carol, renamed"}
    received(client, "/~bob/inbox", carol.activity("Update", renamed, cc=[BOB]), carol)
    # Someone bob does not follow writes to him: inbox yes, reader no.
    note = eve.note(content="<p>Unasked</p>", to=[BOB])
    received(client, "/~bob/inbox", eve.activity("Create", note, to=[BOB]), eve)

    browser = bob_follows_carol
    assert browser.get("/reader/")["Location"] == "/accounts/login/?next=/reader/"
    browser.force_login(bob)
    response = browser.get("/reader/", HTTP_ACCEPT=HTML)
    (entry,) = response.context["entries"]
    assert (entry.iri, entry.title, entry.edited) == (
        article["id"],
        "Carol's <i>post</i>",
        True,
    )
    html = response.content.decode()
    assert "Second version." in html and "First version." not in html
    assert "Carol&#x27;s &lt;i&gt;post&lt;/i&gt;" in html
    assert "<script>window.__xss" not in html and "onerror" not in html
    assert "javascript:" not in html
    assert f'href="{carol.origin}/@carol/1"' in html  # the original
    assert "Unasked" not in html
    assert "@carol@remote.example" in html  # under "You follow"
    # In bob's inbox, the profile edit says so and links to no reader entry.
    rows = browser.get("/inbox/", HTTP_ACCEPT=HTML).context["rows"]
    (profile,) = [r for r in rows if r.item.activity.object_iri == carol.iri]
    assert profile.title == "@carol@remote.example updated their profile"
    assert not profile.in_reader
    updates = [r.in_reader for r in rows if r.item.activity.type == "Update"]
    assert updates == [False, True]  # newest first: the profile, the article


def published(article):
    """As if its Create had gone out: vox_activity knows alice made it."""
    iri = f"{SITE}{article.get_absolute_url()}"
    document = {"id": iri, "type": "Article", "name": article.title}
    StoredObject.objects.track_local(document, ALICE, timezone.now())
    return iri


def test_inbox_titles_in_words(client, alice, bob, carol):
    article = Article.objects.create(author=alice, title="Hi", slug="hi", body="Hi")
    iri = published(article)
    received(client, "/~alice/inbox", carol.activity("Follow", ALICE), carol)
    received(client, "/activitypub/inbox", carol.activity("Like", iri), carol)
    reply = carol.note(inReplyTo=iri, content=HOSTILE, to=[PUBLIC])
    received(client, "/activitypub/inbox", carol.activity("Create", reply), carol)
    Follow.objects.create(
        actor_iri=ALICE,
        object_iri=carol.iri,
        remote_actor=carol.row,
        activity_iri="https://testserver/activitypub/activities/1",
    )
    accept = carol.activity(
        "Accept",
        {
            "id": "https://testserver/activitypub/activities/1",
            "type": "Follow",
            "actor": ALICE,
            "object": carol.iri,
        },
    )
    received(client, "/~alice/inbox", accept, carol)

    browser = Client()
    browser.force_login(alice)
    response = browser.get("/inbox/", HTTP_ACCEPT=HTML)
    titles = [row.title for row in response.context["rows"]]
    assert "@carol@remote.example liked your article \u2018Hi\u2019" in titles
    assert "@carol@remote.example follows you" in titles
    assert "@carol@remote.example replied to your article \u2018Hi\u2019" in titles
    html = response.content.decode()
    assert "Kind words." in html
    assert "window.__xss" not in html and "onerror" not in html

    # Each item's page shows its activity as text: escaped, never run.
    reply_item = next(r for r in response.context["rows"] if "replied" in r.title)
    detail = browser.get(f"/inbox/{reply_item.item.pk}/", HTTP_ACCEPT=HTML)
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in text  # in the JSON
    assert "<script>window.__xss" not in text and 'onerror="' not in text
    others = Client()
    others.force_login(bob)
    assert others.get(f"/inbox/{reply_item.item.pk}/").status_code == 404


def test_accepted_follow_title(client, bob, carol):
    """An Accept in an inbox (this site files them with the Follow instead)."""
    follow = {"id": f"{SITE}/f/1", "type": "Follow", "actor": BOB, "object": carol.iri}
    accept = Activity.objects.store(carol.activity("Accept", follow), local=False)
    InboxItem.objects.fill(accept, [bob])
    item = InboxItem.objects.for_owner(bob).select_related("activity").get()
    (row,) = inbox_rows.rows([item], bob)
    assert row.title == "@carol@remote.example accepted your follow"
    assert row.link == ""


def test_mark_all_read(bob, alice, carol, client):
    received(client, "/~alice/inbox", carol.activity("Follow", ALICE), carol)
    received(client, "/~alice/inbox", carol.activity("Like", f"{SITE}/x"), carol)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page_ = browser.get("/inbox/")
    assert page_.context["unread_count"] == InboxItem.objects.count() > 0
    assert b'<span class="badge" data-unread-count>' in page_.content
    assert browser.post("/inbox/read-all/").status_code == 403  # CSRF
    token = browser.cookies["csrftoken"].value
    done = browser.post("/inbox/read-all/", {"csrfmiddlewaretoken": token})
    assert done["Location"] == "/inbox/"
    assert not InboxItem.objects.for_owner(alice).unread().exists()
    assert browser.get("/inbox/").context["unread_count"] == 0
    assert browser.get("/inbox/read-all/").status_code == 405


def test_login_and_logout_on_the_blog(client, db):
    get_user_model().objects.create_user("bob", password="bob")  # not staff
    form = page(client, "/accounts/login/?next=/reader/")
    assert 'name="username"' in form and 'name="next" value="/reader/"' in form
    bad = client.post(
        "/accounts/login/", {"username": "bob", "password": "no", "next": "/reader/"}
    )
    assert bad.status_code == 200 and b"didn't match" in bad.content
    good = client.post(
        "/accounts/login/", {"username": "bob", "password": "bob", "next": "/reader/"}
    )
    assert (good.status_code, good["Location"]) == (302, "/reader/")
    home = page(client, "/")
    assert 'action="/accounts/logout/"' in home and "/admin/" not in home
    out = client.post("/accounts/logout/")
    assert (out.status_code, out["Location"]) == (302, "/")
    assert "/accounts/login/" in page(client, "/")


def test_errors_are_the_blogs_pages(client, db):
    missing = client.get("/no/such/page/", HTTP_ACCEPT=HTML)
    assert missing.status_code == 404
    assert "404.html" in [t.name for t in missing.templates]
    assert b"There is nothing at" in missing.content
    activity = client.get(f"/activitypub/activities/{uuid.uuid4()}", HTTP_ACCEPT=HTML)
    assert activity.status_code == 404
    names = [t.name for t in activity.templates]
    assert names[:2] == ["vox_activity/error.html", "blog/base.html"]
    assert b"No such activity." in activity.content
    assert b"Vox blog" in activity.content  # the blog's look


def test_home_of_a_blog_of_readers(client, db, settings):
    settings.DEMO_FOLLOW_HINT = "alice@alpha.example"
    get_user_model().objects.create_user("bob", password="bob")
    html = page(client, "/")
    assert "Run <code>" not in html and "seed_demo" not in html
    assert "alice@alpha.example" in html
    assert 'href="/accounts/login/?next=/reader/"' in html
    assert "https://testserver/~bob/" in html  # the curl example is an actor


def test_home_of_a_blog_with_articles(client, alice, db):
    Article.objects.create(author=alice, title="Hi there", slug="hi", body="Hi")
    html = page(client, "/")
    assert "Hi there" in html and "https://testserver/~alice/" in html


def test_follow_form(client, bob, carol, monkeypatch):
    calls = []

    def follow(actor, address):
        calls.append((actor.get_username(), address))
        if address == "nobody@nowhere.example":
            raise FollowError("WebFinger lookup failed")
        return Follow.objects.create(
            actor_iri=BOB, object_iri=carol.iri, remote_actor=carol.row
        )

    monkeypatch.setattr(blog_views.follows, "follow", follow)
    client.force_login(bob)
    done = client.post("/reader/follow/", {"address": "carol@remote.example"})
    assert done["Location"] == "/reader/"
    html = page(client, "/reader/")
    assert "You follow carol@remote.example now (waiting for an answer)." in html
    client.post("/reader/follow/", {"address": "nobody@nowhere.example"})
    assert "Could not follow nobody@nowhere.example: WebFinger lookup failed" in page(
        client, "/reader/"
    )
    assert calls == [
        ("bob", "carol@remote.example"),
        ("bob", "nobody@nowhere.example"),
    ]
    assert StoredObject.objects.count() == 0
