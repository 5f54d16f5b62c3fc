"""HTTP surface: middleware routing, actor documents, inbox, outbox, activities."""

import pytest
from django.test import Client

from vox_activity.models import InboxItem
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.vocabulary import PUBLIC

from .settings import SUITE_VOX_ACTIVITY
from .support.constants import AP, LD

BOB = "https://testserver/~bob/"


def deliver_to_bob(count, **extra):
    return [
        publish({"type": "Create", "name": f"n{i}", **extra}, [BOB])
        for i in range(count)
    ]


# --- routing -----------------------------------------------------------------


@pytest.mark.parametrize("accept", [AP, LD, f"text/html;q=0.9, {AP}"])
def test_actor_document_for_both_accept_forms(alice, ap_client, accept):
    response = ap_client.get("/~alice/", accept=accept)
    assert response.status_code == 200
    expected = "application/ld+json" if accept == LD else AP
    assert response["Content-Type"].startswith(expected)
    assert "Accept" in response["Vary"]
    doc = response.json()
    assert doc["id"] == "https://testserver/~alice/"
    assert doc["type"] == "Person"
    assert doc["preferredUsername"] == "alice"
    assert doc["name"] == "Alice Liddell"  # the site's get_activity_name hook
    assert doc["url"] == "https://testserver/~alice/"
    for endpoint in ("inbox", "outbox", "followers", "following"):
        assert doc[endpoint] == f"https://testserver/~alice/{endpoint}"
    assert doc["endpoints"] == {"sharedInbox": "https://testserver/activitypub/inbox"}
    assert "https://www.w3.org/ns/activitystreams" in doc["@context"]


def test_html_get_of_the_same_path_reaches_the_site(alice, client):
    response = client.get("/~alice/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Accept" in response["Vary"]


def test_ld_json_without_the_activitystreams_profile_is_not_activitypub(alice, client):
    response = client.get("/~alice/", HTTP_ACCEPT="application/ld+json")
    assert response["Content-Type"].startswith("text/html")


def test_refused_activity_json_is_not_activitypub(alice, client):
    response = client.get("/~alice/", HTTP_ACCEPT=f"text/html, {AP};q=0")
    assert response["Content-Type"].startswith("text/html")


def test_unknown_actor_is_404_with_reason(db, ap_client):
    response = ap_client.get("/~nobody/")
    assert response.status_code == 404
    assert response.json() == {"error": "No such actor on this site."}
    assert ap_client.get("/~nobody/inbox").status_code == 404


def test_paths_that_are_no_actor_pass_through(alice, ap_client):
    assert ap_client.get("/no/such/page/").status_code == 404  # the site's 404
    assert ap_client.get("/").status_code == 200  # the site's home page


def test_actor_without_trailing_slash(alice, ap_client):
    assert ap_client.get("/~alice").status_code in (200, 301)
    assert ap_client.get("/~alice/outbox").status_code == 200


# --- inbox -------------------------------------------------------------------


def test_inbox_only_for_its_owner(alice, bob, client):
    deliver_to_bob(1)
    anonymous = client.get("/~bob/inbox", HTTP_ACCEPT=AP)
    assert anonymous.status_code == 403
    assert "owner" in anonymous.json()["error"]
    client.force_login(alice)
    assert client.get("/~bob/inbox", HTTP_ACCEPT=AP).status_code == 403
    client.force_login(bob)
    collection = client.get("/~bob/inbox", HTTP_ACCEPT=AP).json()
    assert collection["type"] == "OrderedCollection"
    assert collection["totalItems"] == 1
    assert collection["first"] == "https://testserver/~bob/inbox?page=true"


def test_inbox_pages_newest_first_with_keyset_links(bob, client, settings):
    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "PAGE_SIZE": 4}
    deliver_to_bob(10)
    client.force_login(bob)

    def page(url):
        response = client.get(url.removeprefix("https://testserver"), HTTP_ACCEPT=AP)
        assert response.status_code == 200, response.content
        return response.json()

    first = page("/~bob/inbox?page=true")
    assert first["type"] == "OrderedCollectionPage"
    assert first["partOf"] == "https://testserver/~bob/inbox"
    assert [i["name"] for i in first["orderedItems"]] == ["n9", "n8", "n7", "n6"]
    assert "prev" not in first
    second = page(first["next"])
    assert [i["name"] for i in second["orderedItems"]] == ["n5", "n4", "n3", "n2"]
    third = page(second["next"])
    assert [i["name"] for i in third["orderedItems"]] == ["n1", "n0"]
    assert "next" not in third
    back = page(third["prev"])
    assert [i["name"] for i in back["orderedItems"]] == ["n5", "n4", "n3", "n2"]
    assert [
        i["name"] for i in page("/~bob/inbox?page=true&limit=2")["orderedItems"]
    ] == [
        "n9",
        "n8",
    ]


def test_a_last_page_of_exactly_limit_items_links_no_further(bob, client, settings):
    """The boundary: 8 items in pages of 4 are two full pages, and no third;
    walking back from the oldest, the newest page has no ``prev``."""
    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "PAGE_SIZE": 4}
    deliver_to_bob(8)
    client.force_login(bob)

    def page(url):
        return client.get(url.removeprefix("https://testserver"), HTTP_ACCEPT=AP).json()

    first = page("/~bob/inbox?page=true")
    assert [i["name"] for i in first["orderedItems"]] == ["n7", "n6", "n5", "n4"]
    second = page(first["next"])
    assert [i["name"] for i in second["orderedItems"]] == ["n3", "n2", "n1", "n0"]
    assert "next" not in second
    back = page(second["prev"])
    assert [i["name"] for i in back["orderedItems"]] == ["n7", "n6", "n5", "n4"]
    assert "prev" not in back
    exactly = page("/~bob/inbox?page=true&limit=8")
    assert len(exactly["orderedItems"]) == 8
    assert "next" not in exactly and "prev" not in exactly


@pytest.mark.parametrize(
    "query", ["max_id=abc", "max_id=-1", "min_id=0", "limit=x", "max_id=5&min_id=2"]
)
def test_bad_paging_parameters_are_400(bob, client, query):
    client.force_login(bob)
    response = client.get(f"/~bob/inbox?{query}", HTTP_ACCEPT=AP)
    assert response.status_code == 400
    assert response.json()["error"]


def test_inbox_shows_read_state_and_hides_blind_recipients(bob, client):
    (activity,) = deliver_to_bob(1, bcc=["https://secret.example/x"])
    InboxItem.objects.for_owner(bob).mark_read()
    client.force_login(bob)
    item = client.get("/~bob/inbox?page=true", HTTP_ACCEPT=AP).json()["orderedItems"][0]
    assert item["id"] == activity.iri
    assert item["dateRead"]
    assert "bcc" not in item


# --- outbox ------------------------------------------------------------------


def test_outbox_lists_public_activities_only(alice, bob, ap_client):
    public = publish(
        {"type": "Create", "actor": "https://testserver/~alice/", "to": [PUBLIC]}
    )
    publish({"type": "Create", "actor": "https://testserver/~alice/"}, [BOB])
    publish({"type": "Create", "actor": "https://testserver/~bob/", "to": [PUBLIC]})
    collection = ap_client.get("/~alice/outbox").json()
    assert collection["totalItems"] == 1
    page = ap_client.get("/~alice/outbox?page=true").json()
    assert [i["id"] for i in page["orderedItems"]] == [public.iri]


def csrf_client(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")  # any page; sets no cookie by itself
    from django.middleware.csrf import _get_new_csrf_string

    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    return client, token


def test_read_marks_an_inbox_item_read_with_csrf(bob):
    (activity,) = deliver_to_bob(1)
    client, token = csrf_client(bob)
    body = {"type": "Read", "object": activity.iri}
    refused = client.post("/~bob/outbox", body, content_type=AP)
    assert refused.status_code == 403  # no CSRF token
    assert InboxItem.objects.for_owner(bob).unread().count() == 1
    accepted = client.post(
        "/~bob/outbox", body, content_type=AP, HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 204
    assert InboxItem.objects.for_owner(bob).unread().count() == 0


def test_outbox_post_only_by_owner(alice, bob, client):
    (activity,) = deliver_to_bob(1)
    client.force_login(alice)
    response = client.post(
        "/~bob/outbox", {"type": "Read", "object": activity.iri}, content_type=AP
    )
    assert response.status_code == 403
    assert InboxItem.objects.for_owner(bob).unread().count() == 1


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"object": "x"}', 400, '"type"'),
        (b'{"type": "Read"}', 400, '"object"'),
        (b'{"type": "Read", "object": "https://testserver/activitypub/x"}', 404,
         "not in this inbox"),
        (b'{"type": "Like", "object": "https://elsewhere.example/a"}', 404,
         "not an object this server has received"),
        (b'{"type": "Like", "object": "https://testserver/articles/hello/"}', 400,
         "activity_like"),
    ],
)  # fmt: skip
def test_outbox_post_errors(bob, article, client, body, status, reason):
    client.force_login(bob)
    response = client.post("/~bob/outbox", body, content_type=AP)
    assert response.status_code == status
    assert reason in response.json()["error"]


def test_outbox_post_body_limit(bob, client, settings):
    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "MAX_BODY_SIZE": 100}
    client.force_login(bob)
    body = b'{"type": "Read", "x": "' + b"a" * 200 + b'"}'
    response = client.post("/~bob/outbox", body, content_type=AP)
    assert response.status_code == 413


def test_outbox_post_hands_other_types_to_activity_method(
    bob, article, client, monkeypatch
):
    from testsite.blog.models import Article

    calls = []

    def activity_like(self, data, actor):
        calls.append((self, data, actor))

    monkeypatch.setattr(Article, "activity_like", activity_like, raising=False)
    client.force_login(bob)
    body = {"type": "Like", "object": "https://testserver/articles/hello/"}
    response = client.post("/~bob/outbox", body, content_type=AP)
    assert response.status_code == 200
    assert calls == [(article, body, bob)]


def test_outbox_rejects_other_methods(bob, client):
    client.force_login(bob)
    response = client.put("/~bob/outbox", b"{}", content_type=AP, HTTP_ACCEPT=AP)
    assert response.status_code in (404, 405)


# --- other collections and documents -----------------------------------------


@pytest.mark.parametrize("name", ["followers", "following"])
def test_followers_and_following_are_empty_paged_collections(alice, ap_client, name):
    collection = ap_client.get(f"/~alice/{name}").json()
    assert collection["totalItems"] == 0
    page = ap_client.get(f"/~alice/{name}?page=true").json()
    assert page["orderedItems"] == []
    assert page["type"] == "OrderedCollectionPage"


def test_private_activity_is_hidden_from_others(alice, bob, client):
    (activity,) = deliver_to_bob(1)
    path = activity.iri.removeprefix("https://testserver")
    assert client.get(path, HTTP_ACCEPT=AP).status_code == 404
    client.force_login(alice)
    assert client.get(path, HTTP_ACCEPT=AP).status_code == 404
    client.force_login(bob)
    assert client.get(path, HTTP_ACCEPT=AP).json()["id"] == activity.iri


def test_unknown_activity_is_404(db, ap_client):
    response = ap_client.get(
        "/activitypub/activities/00000000-0000-0000-0000-000000000000"
    )
    assert response.status_code == 404


def test_shared_inbox_refuses_unsigned_posts(db, ap_client):
    response = ap_client.post("/activitypub/inbox", {"type": "Create"})
    assert response.status_code == 401
    assert "not signed" in response.json()["error"]
