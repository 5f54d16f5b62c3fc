"""Discovery: WebFinger, NodeInfo and host-meta under /.well-known/."""

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from testsite.blog.models import Article
from testsite.blog.vox import AuthorVox
from vox_activity import __version__
from vox_activity.exceptions import Refused
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.acct import acct_uri
from vox_activity.protocol.vocabulary import PUBLIC
from vox_activity.registration import ActorRegistration
from vox_activity.registry import actor_for_username
from vox_activity.serving.discovery import webfinger

ALICE = "https://testserver/~alice/"
SELF_TYPE = "application/activity+json"
PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"


def finger(client, *resources, **params):
    query = [("resource", r) for r in resources] + list(params.items())
    return client.get(f"/.well-known/webfinger?{urlencode(query)}")


def links_by_rel(jrd):
    return {link["rel"]: link for link in jrd["links"]}


# --- WebFinger: the document -------------------------------------------------


def test_webfinger_jrd_for_a_user(alice, client):
    response = finger(client, "acct:alice@testserver")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/jrd+json")
    assert response["Access-Control-Allow-Origin"] == "*"
    jrd = response.json()
    assert jrd["subject"] == "acct:alice@testserver"
    assert jrd["aliases"] == [ALICE]  # url is the IRI: users have no own page
    links = links_by_rel(jrd)
    assert links["self"] == {"rel": "self", "type": SELF_TYPE, "href": ALICE}
    assert links[PROFILE_PAGE] == {
        "rel": PROFILE_PAGE,
        "type": "text/html",
        "href": ALICE,
    }
    assert len(jrd["links"]) == 2


def test_head_is_answered(alice, client):
    response = client.head("/.well-known/webfinger?resource=acct:alice@testserver")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_separate_profile_page_is_an_alias_and_the_profile_link(
    alice, register, client
):
    class WithPage(AuthorVox):
        def get_activity_url(self, instance):
            return f"https://testserver/people/{instance.username}"

    register(get_user_model(), WithPage, r"^~(?P<username>[\w.@+-]+)/$")
    jrd = finger(client, "acct:alice@testserver").json()
    page = "https://testserver/people/alice"
    assert jrd["aliases"] == [ALICE, page]
    assert links_by_rel(jrd)[PROFILE_PAGE]["href"] == page
    assert links_by_rel(jrd)["self"]["href"] == ALICE


@pytest.mark.parametrize(
    "resource",
    [
        "acct:alice@testserver",
        "ACCT:alice@testserver",
        "acct:alice@TestServer",
        "@alice@testserver",
        "alice@testserver",
        " acct:alice@testserver ",
        "acct:%61lice@testserver",  # percent-encoded name
        ALICE,
        "https://testserver/~alice",  # no trailing slash
        "http://testserver/~alice/",
    ],
)
def test_every_form_of_the_resource_finds_alice(alice, client, resource):
    response = finger(client, resource)
    assert response.status_code == 200, response.content
    jrd = response.json()
    assert jrd["subject"] == "acct:alice@testserver"  # normalised
    assert links_by_rel(jrd)["self"]["href"] == ALICE


def test_names_are_case_insensitive_and_the_subject_has_the_real_case(
    make_user, client
):
    make_user("Carol")
    jrd = finger(client, "acct:cAROL@testserver").json()
    assert jrd["subject"] == "acct:Carol@testserver"
    assert links_by_rel(jrd)["self"]["href"] == "https://testserver/~Carol/"


def test_exact_case_wins_and_two_case_variants_are_ambiguous(make_user, client):
    make_user("dave")
    make_user("Dave")
    assert finger(client, "acct:dave@testserver").json()["subject"] == (
        "acct:dave@testserver"
    )
    assert finger(client, "acct:Dave@testserver").json()["subject"] == (
        "acct:Dave@testserver"
    )
    response = finger(client, "acct:DAVE@testserver")
    assert response.status_code == 404


def test_rel_parameters_select_links(alice, client):
    jrd = finger(client, "acct:alice@testserver", rel="self").json()
    assert [link["rel"] for link in jrd["links"]] == ["self"]
    assert jrd["subject"] == "acct:alice@testserver"
    jrd = finger(client, "acct:alice@testserver", rel="http://example.com/x").json()
    assert jrd["links"] == []


# --- WebFinger: the name is preferredUsername ---------------------------------


@pytest.mark.parametrize("username", ["alice", "j.doe", "x-y_z.1"])
def test_preferred_username_is_the_webfinger_name(make_user, ap_client, username):
    make_user(username)
    response = finger(ap_client.raw, f"acct:{username}@testserver")
    assert response.status_code == 200, response.content
    jrd = response.json()
    assert jrd["subject"] == f"acct:{username}@testserver"
    iri = links_by_rel(jrd)["self"]["href"]
    assert iri == f"https://testserver/~{username}/"
    document = ap_client.get(iri.removeprefix("https://testserver")).json()
    assert document["id"] == iri
    assert document["preferredUsername"] == username
    assert f"acct:{document['preferredUsername']}@testserver" == jrd["subject"]


def test_a_name_other_servers_cannot_use_is_not_federated(make_user, client):
    """``a@b`` would read as user "a" on server "b" (issue: handles that
    impersonate): no WebFinger answer and no actor document, in any form."""
    make_user("admin@other.example")
    for resource in (
        "acct:admin%40other.example@testserver",
        "admin@other.example@testserver",
        "https://testserver/~admin@other.example/",
    ):
        response = finger(client, resource)
        assert response.status_code in (400, 404), resource
        assert "subject" not in response.json()
    document = client.get(
        "/~admin@other.example/", HTTP_ACCEPT="application/activity+json"
    )
    assert document.status_code == 404
    assert "not federated" in document.json()["error"]


def test_acct_uri_escapes_only_what_would_break_it(settings):
    assert acct_uri("alice", "testserver") == "acct:alice@testserver"
    assert acct_uri("a@b%c", "testserver") == "acct:a%40b%25c@testserver"
    assert acct_uri("zoë", "testserver") == "acct:zoë@testserver"


# --- WebFinger: the instance actor ---------------------------------------------


def test_the_instance_actor_is_acct_domain_at_domain(db, client):
    instance = "https://testserver/activitypub/actor"
    for resource in ("acct:testserver@testserver", instance):
        response = finger(client, resource)
        assert response.status_code == 200, response.content
        jrd = response.json()
        assert jrd["subject"] == "acct:testserver@testserver"
        assert jrd["aliases"] == [instance]
        assert jrd["links"] == [{"rel": "self", "type": SELF_TYPE, "href": instance}]
    document = client.get("/activitypub/actor").json()
    assert f"acct:{document['preferredUsername']}@testserver" == jrd["subject"]


# --- WebFinger: errors ---------------------------------------------------------


def assert_error(response, status, *words):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response["Access-Control-Allow-Origin"] == "*"
    error = response.json()["error"]
    for word in words:
        assert word in error
    return error


def test_unknown_user_is_404(alice, client):
    assert_error(finger(client, "acct:nobody@testserver"), 404, "nobody@testserver")


def test_another_domain_is_404_with_reason(alice, client):
    error = assert_error(finger(client, "acct:alice@example.com"), 404, "example.com")
    assert "not this site" in error
    assert_error(finger(client, "https://example.com/~alice/"), 404, "not on this")


def test_a_local_iri_that_is_no_actor_is_404(alice, client):
    assert_error(finger(client, "https://testserver/~nobody/"), 404, "No actor")
    assert_error(finger(client, "https://testserver/articles/x/"), 404, "No actor")


def test_missing_resource_is_400(db, client):
    error = assert_error(client.get("/.well-known/webfinger"), 400, "resource")
    assert "acct:name@testserver" in error


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "   ",
        "alice",
        "acct:alice",
        "acct:@testserver",
        "acct:alice@",
        "@",
        "acct:alice@testserver/x",
        "x" * 3000,
    ],
)
def test_malformed_resource_is_400(db, client, resource):
    assert_error(finger(client, resource), 400)


def test_two_resources_are_400(alice, client):
    response = finger(client, "acct:alice@testserver", "acct:bob@testserver")
    assert_error(response, 400, "one")


def test_other_uri_schemes_are_404(alice, client):
    assert_error(finger(client, "mailto:alice@testserver"), 404, "mailto:")


def test_other_methods_are_405(db, client):
    response = client.post("/.well-known/webfinger?resource=acct:alice@testserver")
    assert_error(response, 405)
    assert response["Allow"] == "GET"


def test_webfinger_function_raises_with_status(alice):
    assert webfinger("acct:alice@testserver")["subject"] == "acct:alice@testserver"
    with pytest.raises(Refused) as raised:
        webfinger("acct:alice@elsewhere.example")
    assert raised.value.status == 404


# --- actor_for_username --------------------------------------------------------


def test_actor_for_username_finds_users(alice, bob):
    assert actor_for_username("alice") == alice
    assert actor_for_username("ALICE") == alice
    assert actor_for_username("bob") == bob
    assert actor_for_username("carol") is None
    assert actor_for_username("") is None


def test_hidden_actors_are_not_found(make_user, register, client):
    class ActiveOnly(AuthorVox):
        def has_activity_endpoint(self, instance):
            return instance.is_active

    register(get_user_model(), ActiveOnly, r"^~(?P<username>[\w.@+-]+)/$")
    make_user("ghost", is_active=False)
    make_user("alice")
    assert actor_for_username("ghost") is None
    assert finger(client, "acct:ghost@testserver").status_code == 404
    assert finger(client, "https://testserver/~ghost/").status_code == 404
    assert finger(client, "acct:alice@testserver").status_code == 200


def test_models_that_are_no_actors_are_not_looked_at(article, client):
    # Articles are registered with a regex, but not as actors.
    assert actor_for_username("hello") is None
    assert finger(client, "acct:hello@testserver").status_code == 404


def test_the_regex_group_names_non_user_actors(article, register, client):
    class ArticleActor(ActorRegistration):
        activity_actor_type = "Service"

    register(Article, ArticleActor, r"^articles/(?P<slug>[-\w]+)/$")
    assert actor_for_username("hello") == article
    assert actor_for_username("HELLO") == article
    jrd = finger(client, "acct:hello@testserver").json()
    assert jrd["subject"] == "acct:hello@testserver"
    iri = "https://testserver/articles/hello/"
    assert links_by_rel(jrd)["self"]["href"] == iri
    assert jrd["aliases"] == [iri]  # get_absolute_url is the same page
    assert finger(client, iri).json()["subject"] == "acct:hello@testserver"


def test_a_registration_hook_finds_its_own_names(article, register, client):
    class ArticleActor(ActorRegistration):
        def get_activity_username(self, instance):
            return f"post.{instance.slug}"

        def get_activity_actor_by_username(self, name):
            return Article.objects.filter(slug=name.removeprefix("post.")).first()

    register(Article, ArticleActor, r"^articles/(?P<slug>[-\w]+)/$")
    assert actor_for_username("post.hello") == article
    jrd = finger(client, "acct:post.hello@testserver").json()
    assert jrd["subject"] == "acct:post.hello@testserver"
    # The hook found the article for "hello" too, but that is not its name.
    assert actor_for_username("hello") is None
    assert finger(client, "acct:hello@testserver").status_code == 404


def test_a_changed_username_without_the_lookup_hook_is_not_found(
    alice, register, client
):
    class Renamed(AuthorVox):
        def get_activity_username(self, instance):
            return f"user.{instance.username}"

    register(get_user_model(), Renamed, r"^~(?P<username>[\w.@+-]+)/$")
    assert actor_for_username("user.alice") is None  # USERNAME_FIELD is looked up
    assert actor_for_username("alice") is None  # found, but not its name
    # The IRI form still works, and the subject is the actor's name.
    jrd = finger(client, ALICE).json()
    assert jrd["subject"] == "acct:user.alice@testserver"


# --- NodeInfo ------------------------------------------------------------------


def test_nodeinfo_index(db, client):
    response = client.get("/.well-known/nodeinfo")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json() == {
        "links": [{"rel": NODEINFO_21, "href": "https://testserver/nodeinfo/2.1"}]
    }


def nodeinfo(client):
    response = client.get("/nodeinfo/2.1")
    assert response.status_code == 200
    assert response["Content-Type"] == f'application/json; profile="{NODEINFO_21}#"'
    assert response["Access-Control-Allow-Origin"] == "*"
    return response.json()


def test_nodeinfo_document_has_the_2_1_shape(alice, client):
    doc = nodeinfo(client)
    assert set(doc) == {
        "version",
        "software",
        "protocols",
        "services",
        "openRegistrations",
        "usage",
        "metadata",
    }
    assert doc["version"] == "2.1"
    assert doc["software"]["name"] == "vox-activity"
    assert re.fullmatch(r"[a-z0-9-]+", doc["software"]["name"])
    assert doc["software"]["version"] == __version__
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert doc["openRegistrations"] is False
    assert isinstance(doc["usage"]["users"]["total"], int)
    assert isinstance(doc["usage"]["localPosts"], int)
    assert doc["usage"]["users"]["total"] >= 0
    assert doc["usage"]["localPosts"] >= 0
    assert doc["metadata"] == {"nodeName": "testserver"}


def test_nodeinfo_counts_actors_and_public_local_activities(alice, make_user, client):
    before = nodeinfo(client)["usage"]
    assert before == {"users": {"total": 1}, "localPosts": 0}
    make_user("zed")
    publish({"type": "Create", "to": [PUBLIC]}, [])
    publish({"type": "Create", "name": "private"}, ["https://testserver/~zed/"])
    after = nodeinfo(client)["usage"]
    assert after == {"users": {"total": 2}, "localPosts": 1}


def test_nodeinfo_counts_every_actor_model(alice, article, register, client):
    register(Article, ActorRegistration, r"^articles/(?P<slug>[-\w]+)/$")
    assert nodeinfo(client)["usage"]["users"]["total"] == 2


def test_nodeinfo_endpoints_take_only_get(db, client):
    assert client.post("/.well-known/nodeinfo").status_code == 405
    assert client.post("/nodeinfo/2.1").status_code == 405


# --- host-meta -----------------------------------------------------------------


def test_host_meta_points_at_webfinger(db, client):
    response = client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xrd+xml")
    assert response["Access-Control-Allow-Origin"] == "*"
    root = ET.fromstring(response.content)  # noqa: S314 (our own output)
    ns = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"
    assert root.tag == f"{ns}XRD"
    (link,) = root.findall(f"{ns}Link")
    assert link.get("rel") == "lrdd"
    template = link.get("template")
    assert template == "https://testserver/.well-known/webfinger?resource={uri}"
    # The template, filled in, is a working WebFinger query.
    filled = template.replace("{uri}", "acct:testserver@testserver")
    assert client.get(filled.removeprefix("https://testserver")).status_code == 200
