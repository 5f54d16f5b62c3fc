"""Local objects served by the package (issue 9 B) and remote objects by
reference (issue 9 F): content negotiation, access by addressing, replies.

Remote actors are cached rows whose keys the tests hold
(``tests/support/remote_actors.py``); documents "on other servers" are
served by ``remote_web``, which answers 404 for the rest.
"""

from __future__ import annotations

import pytest

from testsite.blog.models import Article
from testsite.blog.vox import ArticleVox
from vox_activity.models import Activity, Follow, InboxItem, StoredObject
from vox_activity.outgoing.publish import publish
from vox_activity.protocol import rfc9421
from vox_activity.protocol.cavage import sign_request
from vox_activity.protocol.vocabulary import PUBLIC, to_json

from .support.constants import AP, SITE
from .support.local_site import notification
from .support.records import row_counts
from .support.remote_actors import make_remote, post_signed

ALICE = f"{SITE}/~alice/"
ARTICLE = f"{SITE}/articles/hello/"
SHARED = "/activitypub/inbox"


def ap_get(client, path, **extra):
    return client.get(path, HTTP_ACCEPT=AP, **extra)


def signed_get(client, path, remote, scheme=sign_request):
    headers = scheme(
        "GET",
        SITE + path,
        {"Accept": AP},
        None,
        key_id=remote.key_id,
        private_key_pem=remote.private_key_pem,
    )
    extras = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in headers.items()
    }
    return client.get(path, **extras)


# --- 9 B: objects served by the package ---------------------------------------


def test_a_published_article_is_served_with_its_audience(
    client, alice, article, make_template
):
    make_template(Article, "created", "c:author", subject="x")
    notification(Article, "created").issue(article)
    response = ap_get(client, "/articles/hello/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(AP)
    assert "Accept" in response["Vary"]
    document = response.json()
    assert document["@context"] == "https://www.w3.org/ns/activitystreams"
    assert (document["id"], document["type"]) == (ARTICLE, "Article")
    assert document["to"] == [PUBLIC]
    assert document["cc"] == [ALICE + "followers"]
    assert document["replies"] == ARTICLE.rstrip("/") + "/replies"
    # A browser still gets the site's own page.
    page = client.get("/articles/hello/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "Accept" in page["Vary"]  # a URL-keyed cache keeps them apart


def test_a_served_object_has_the_fields_its_delivered_copy_had(
    client, alice, article, make_template, monkeypatch
):
    """A site document without ``url`` and dates is completed from the copy
    that was delivered, so a fetched copy shows as the delivered one did."""
    make_template(Article, "created", "c:author", subject="x")
    notification(Article, "created").issue(article)
    delivered = StoredObject.objects.get(iri=ARTICLE, local=True).data
    original = Article.__activity__

    def without_url(self):
        document = to_json(original(self))
        return {k: v for k, v in document.items() if k not in ("url", "published")}

    monkeypatch.setattr(Article, "__activity__", without_url)
    document = ap_get(client, "/articles/hello/").json()
    assert document["url"] == delivered["url"] == ARTICLE
    assert document["published"] == delivered["published"]


def test_an_unpublished_object_is_addressed_by_its_registration(client, article):
    document = ap_get(client, "/articles/hello/").json()
    assert document["to"] == [PUBLIC]


@pytest.fixture
def followers_only(alice, article):
    """alice's article, published to her followers only."""
    publish(
        {
            "type": "Update",
            "actor": ALICE,
            "object": {**article_object(article), "to": [ALICE + "followers"]},
        }
    )


def article_object(article):
    return {"id": ARTICLE, "type": "Article", "attributedTo": ALICE}


def test_a_followers_only_object_is_served_to_signed_followers_alone(
    client, followers_only, carol, db
):
    stranger = make_remote("erin", "other.example", key=2)
    Follow.objects.create(
        actor_iri=carol.iri,
        object_iri=ALICE,
        remote_actor=carol.row,
        state=Follow.State.ACCEPTED,
    )
    assert ap_get(client, "/articles/hello/").status_code == 404
    assert signed_get(client, "/articles/hello/", stranger).status_code == 404
    allowed = signed_get(client, "/articles/hello/", carol)
    assert allowed.status_code == 200
    assert allowed.json()["to"] == [ALICE + "followers"]
    # Signed with RFC 9421 (as Fedify fetches first): the same answer.
    fedify_style = signed_get(client, "/articles/hello/", carol, rfc9421.sign_request)
    assert fedify_style.status_code == 200
    assert fedify_style.json()["id"] == ARTICLE


def test_a_bad_signature_on_a_private_fetch_is_the_same_404(
    client, followers_only, carol
):
    """A forged signature cannot tell a private object from a missing one."""
    Follow.objects.create(
        actor_iri=carol.iri,
        object_iri=ALICE,
        remote_actor=carol.row,
        state=Follow.State.ACCEPTED,
    )
    assert signed_get(client, "/articles/hello/", carol).status_code == 200
    tampered = {"HTTP_SIGNATURE": f'keyId="{carol.key_id}",signature="AAAA"'}
    refused = ap_get(client, "/articles/hello/", **tampered)
    unsigned = ap_get(client, "/articles/hello/")
    assert refused.status_code == unsigned.status_code == 404
    assert refused.json() == unsigned.json()


def test_replies_collection_lists_public_replies(client, alice, article, carol):
    reply = carol.note(inReplyTo=ARTICLE, to=[PUBLIC])
    hidden = carol.note(inReplyTo=ARTICLE, to=[carol.iri + "/followers"])
    for note in (reply, hidden):
        post_signed(client, SHARED, carol.activity("Create", note), carol)
    collection = ap_get(client, "/articles/hello/replies").json()
    assert (collection["type"], collection["totalItems"]) == ("OrderedCollection", 1)
    page = ap_get(client, "/articles/hello/replies?page=true").json()
    assert page["orderedItems"] == [reply["id"]]


# --- 9 F: remote objects by reference, replies routed -----------------------------


def test_a_create_by_reference_is_fetched_from_its_server(
    client, alice, carol, remote_web
):
    note = carol.note(content="<p>fetched</p>")
    remote_web.serve(note["id"], note)
    response = post_signed(client, SHARED, carol.activity("Create", note["id"]), carol)
    assert response.status_code == 202, response.content
    stored = StoredObject.objects.get(iri=note["id"])
    assert (stored.owner_iri, stored.data["content"]) == (carol.iri, "<p>fetched</p>")


def test_a_create_by_reference_that_cannot_be_fetched_is_refused(
    client, alice, carol, remote_web
):
    before = row_counts()
    activity = carol.activity("Create", carol.new_iri("notes"))
    response = post_signed(client, SHARED, activity, carol)
    assert response.status_code == 400
    assert "could not be fetched" in response.json()["error"]
    assert row_counts() == before


def test_a_create_by_reference_of_someone_elses_object_is_refused(
    client, alice, carol, remote_web
):
    foreign = "https://other.example/notes/1"
    remote_web.serve(foreign, {"id": foreign, "type": "Note", "attributedTo": foreign})
    before = row_counts()
    response = post_signed(client, SHARED, carol.activity("Create", foreign), carol)
    assert response.status_code == 400
    assert row_counts() == before


def test_a_fetched_object_attributed_to_someone_else_is_refused(
    client, alice, carol, remote_web
):
    note = carol.note(attributedTo="https://remote.example/users/dave")
    remote_web.serve(note["id"], note)
    response = post_signed(client, SHARED, carol.activity("Create", note["id"]), carol)
    assert response.status_code == 400
    assert not StoredObject.objects.exists()


def test_a_reply_reaches_the_author_of_the_local_object(
    client, alice, article, carol, make_template
):
    make_template(Article, "created", "c:author", subject="x")
    notification(Article, "created").issue(article)
    reply = carol.note(inReplyTo=ARTICLE, to=[PUBLIC])
    create = carol.activity("Create", reply, to=[PUBLIC])
    assert post_signed(client, SHARED, create, carol).status_code == 202
    received = Activity.objects.get(iri=create["id"])
    assert InboxItem.objects.for_owner(alice).filter(activity=received).exists()
    assert StoredObject.objects.get(iri=reply["id"]).in_reply_to == ARTICLE


def test_a_followers_only_activity_follows_the_same_rule(client, followers_only, carol):
    """Activities at /activities/<uuid> are served as their objects are."""
    update = Activity.objects.get(local=True, type="Update")
    path = update.iri.removeprefix(SITE)
    assert signed_get(client, path, carol).status_code == 404  # not a follower
    Follow.objects.create(
        actor_iri=carol.iri,
        object_iri=ALICE,
        remote_actor=carol.row,
        state=Follow.State.ACCEPTED,
    )
    assert signed_get(client, path, carol).json()["id"] == update.iri
    tampered = {"HTTP_SIGNATURE": f'keyId="{carol.key_id}",signature="AAAA"'}
    refused = ap_get(client, path, **tampered)
    assert refused.status_code == ap_get(client, path).status_code == 404
    assert refused.json() == ap_get(client, path).json()


def test_an_addressing_hook_that_needs_a_notification_hides_the_object(
    client, article, monkeypatch, caplog
):
    """Never published, and the hook fails without a notification: 404 (not
    public by accident, not a 500), and the site's error is logged."""

    def needs_notification(self, instance, notification):
        return {"to": [notification.recipient_iri]}  # AttributeError on None

    monkeypatch.setattr(ArticleVox, "get_activity_addressing", needs_notification)
    response = ap_get(client, "/articles/hello/")
    assert response.status_code == 404
    assert "get_activity_addressing" in caplog.text
