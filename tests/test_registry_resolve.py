"""``resolve_local_actors``: recipient IRIs to local actors, in bulk.

The fan-out's hot loop (one pass over every recipient IRI, one query per
model): what it keeps, what it leaves out, and what stands for a row; and
``local_actor_keys``, its keys-only twin for fan-outs, which must name the
same actors.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vox_activity.registry import (
    ActorRef,
    RouteMatch,
    _unique_lookup,
    first_row,
    local_actor_keys,
    resolve_local_actors,
)

from .support.constants import SITE

User = get_user_model()


def iri(name: str) -> str:
    return f"{SITE}/~{name}/"


def test_local_users_become_keys_only(alice, bob):
    found = resolve_local_actors([iri("alice"), iri("bob")])
    assert found == {
        iri("alice"): ActorRef(User, alice.pk),
        iri("bob"): ActorRef(User, bob.pk),
    }


def test_what_is_not_a_local_actor_is_left_out(alice):
    found = resolve_local_actors(
        [
            iri("nobody"),  # matches the route, no such row
            "https://remote.example/~alice/",  # another server
            f"{SITE}/articles/hello/",  # a local object's route, not an actor
            f"{SITE}/elsewhere/alice/",  # no route at all
            "http://[broken/~alice/",  # not even an IRI
            iri("alice"),
        ]
    )
    assert list(found) == [iri("alice")]


def test_duplicates_and_query_strings_name_the_same_row(alice):
    addresses = [iri("alice"), iri("alice"), iri("alice") + "?x=1#top"]
    found = resolve_local_actors(addresses)
    assert set(found) == {iri("alice"), iri("alice") + "?x=1#top"}
    assert set(found.values()) == {ActorRef(User, alice.pk)}


def test_one_query_however_many_iris(make_user):
    users = [make_user(f"u{n}") for n in range(30)]
    with CaptureQueriesContext(connection) as queries:
        found = resolve_local_actors([iri(u.username) for u in users])
    assert len(queries) == 1
    assert sorted(ref.pk for ref in found.values()) == sorted(u.pk for u in users)


def test_a_registration_that_hides_rows_gets_instances_checked(alice, bob, monkeypatch):
    """Overriding ``has_activity_endpoint`` means rows are loaded and asked."""
    from testsite.blog.vox import AuthorVox

    monkeypatch.setattr(
        AuthorVox, "has_activity_endpoint", lambda self, user: user.username != "bob"
    )
    found = resolve_local_actors([iri("alice"), iri("bob")])
    assert list(found) == [iri("alice")]
    assert found[iri("alice")] == alice  # the instance, not a reference
    assert not isinstance(found[iri("alice")], ActorRef)


@pytest.mark.parametrize("value", ["", "~", "~/"])
def test_empty_usernames_match_nothing(alice, value):
    assert resolve_local_actors([f"{SITE}/{value}"]) == {}


def test_unique_lookups_skip_the_ordering():
    assert _unique_lookup(User, ("username",))
    assert _unique_lookup(User, ("pk",))
    assert _unique_lookup(User, ("username", "first_name"))
    assert not _unique_lookup(User, ("first_name",))
    assert not _unique_lookup(User, ("groups__name",))


def test_first_row_by_a_field_that_is_not_unique_is_the_lowest_pk(make_user):
    first = make_user("first", first_name="Same")
    make_user("second", first_name="Same")
    assert first_row(RouteMatch(User, {"first_name": "Same"})) == first
    assert first_row(RouteMatch(User, {"username": "second"})).username == "second"
    assert first_row(RouteMatch(User, {"username": "nobody"})) is None
    assert first_row(RouteMatch(User, {"pk": "not a number"})) is None


# --- the short paths of the hot loop ------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "http://testserver/~alice/",  # the other scheme
        "https://TESTSERVER/~alice/",  # the host in capitals: the slow path
        "https://testserver/~alice/#main",  # a fragment: the slow path
    ],
)
def test_every_spelling_local_path_accepts_resolves(alice, address):
    assert resolve_local_actors([address]) == {address: ActorRef(User, alice.pk)}


def test_routes_of_models_that_cannot_be_actors_cost_no_query(alice):
    with CaptureQueriesContext(connection) as queries:
        found = resolve_local_actors([f"{SITE}/articles/hello/", f"{SITE}/comments/1/"])
    assert found == {}
    assert len(queries) == 0


def test_a_value_the_key_cannot_hold_leaves_the_others_resolved(alice, bob, register):
    """``abc`` for an integer key names no row; it must not sink its chunk."""
    from testsite.blog.vox import AuthorVox

    register(User, AuthorVox, r"^people/(?P<pk>\w+)/$")
    addresses = [f"{SITE}/people/{alice.pk}/", f"{SITE}/people/abc/"]
    addresses += [f"{SITE}/people/{bob.pk:03d}/"]  # 007 is 7, as the ORM reads it
    found = resolve_local_actors(addresses)
    assert found == {
        addresses[0]: ActorRef(User, alice.pk),
        addresses[2]: ActorRef(User, bob.pk),
    }


def test_routes_with_several_groups_match_all_of_them(alice, bob, register):
    from testsite.blog.vox import AuthorVox

    register(User, AuthorVox, r"^people/(?P<pk>\d+)/(?P<username>\w+)/$")
    right = f"{SITE}/people/{alice.pk}/alice/"
    wrong = f"{SITE}/people/{alice.pk}/bob/"  # both exist, not as one row
    assert resolve_local_actors([right, wrong]) == {right: ActorRef(User, alice.pk)}


def test_an_unnamed_group_beside_the_named_one_takes_the_general_path(alice, register):
    from testsite.blog.vox import AuthorVox

    register(User, AuthorVox, r"^(people|folk)/(?P<username>\w+)/$")
    addresses = [f"{SITE}/people/alice/", f"{SITE}/folk/alice/", f"{SITE}/folk/x/"]
    found = resolve_local_actors(addresses)
    assert found == {a: ActorRef(User, alice.pk) for a in addresses[:2]}


def test_an_optional_group_that_took_nothing_names_no_one(alice, register):
    from testsite.blog.vox import AuthorVox

    register(User, AuthorVox, r"^people/(?P<username>\w+)?/?$")
    assert resolve_local_actors([f"{SITE}/people/"]) == {}
    assert list(resolve_local_actors([f"{SITE}/people/alice"])) == [
        f"{SITE}/people/alice"
    ]


# --- local_actor_keys: the same actors, as keys -------------------------------


def keys_as_resolved(iris: list[str]) -> tuple[dict, list[str]]:
    """What ``local_actor_keys`` must answer, derived from resolve_local_actors."""
    resolved = resolve_local_actors(iris)
    keys: dict = {}
    for actor in dict.fromkeys(resolved.values()):
        model = actor.model if isinstance(actor, ActorRef) else actor.__class__
        keys.setdefault(model, []).append(actor.pk)
    return keys, [a for a in dict.fromkeys(iris) if a not in resolved]


def sorted_keys(keys: dict) -> dict:
    return {model: sorted(pks) for model, pks in keys.items() if pks}


def test_keys_are_the_resolved_actors_and_the_rest_keep_their_order(alice, bob):
    addresses = [
        "https://remote.example/~zed/",
        iri("bob"),
        iri("nobody"),
        iri("alice"),
        iri("bob"),  # twice
        iri("alice") + "?x=1",  # another spelling of the same actor
        "https://www.w3.org/ns/activitystreams#Public",
        f"{SITE}/articles/hello/",
    ]
    keys, others = local_actor_keys(addresses)
    assert sorted_keys(keys) == {User: sorted([alice.pk, bob.pk])}
    assert others == [
        "https://remote.example/~zed/",
        iri("nobody"),
        "https://www.w3.org/ns/activitystreams#Public",
        f"{SITE}/articles/hello/",
    ]
    expected_keys, expected_others = keys_as_resolved(addresses)
    assert sorted_keys(keys) == sorted_keys(expected_keys)
    assert others == expected_others


def test_keys_with_a_registration_that_hides_rows(alice, bob, monkeypatch):
    from testsite.blog.vox import AuthorVox

    monkeypatch.setattr(
        AuthorVox, "has_activity_endpoint", lambda self, user: user.username != "bob"
    )
    keys, others = local_actor_keys([iri("alice"), iri("bob")])
    assert sorted_keys(keys) == {User: [alice.pk]}
    assert others == [iri("bob")]


def test_keys_of_an_actor_address_need_no_query(alice):
    from vox_activity.registration import ActorAddress

    address = ActorAddress(iri("alice"), alice)
    with CaptureQueriesContext(connection) as queries:
        keys, others = local_actor_keys([address, "https://remote.example/~x/"])
    assert len(queries) == 0
    assert sorted_keys(keys) == {User: [alice.pk]}
    assert others == ["https://remote.example/~x/"]


def test_keys_through_a_route_with_several_groups(alice, bob, register):
    from testsite.blog.vox import AuthorVox

    register(User, AuthorVox, r"^people/(?P<pk>\d+)/(?P<username>\w+)/$")
    addresses = [
        f"{SITE}/people/{alice.pk}/alice/",
        f"{SITE}/people/{bob.pk}/alice/",  # no such row
        f"{SITE}/people/{bob.pk}/bob/",
    ]
    keys, others = local_actor_keys(addresses)
    assert sorted_keys(keys) == {User: sorted([alice.pk, bob.pk])}
    assert others == [addresses[1]]
    expected_keys, expected_others = keys_as_resolved(addresses)
    assert sorted_keys(keys) == sorted_keys(expected_keys)
    assert others == expected_others


def test_keys_cost_one_query_however_many_iris(make_user):
    users = [make_user(f"k{n}") for n in range(30)]
    with CaptureQueriesContext(connection) as queries:
        keys, others = local_actor_keys([iri(u.username) for u in users])
    assert len(queries) == 1
    assert sorted(keys[User]) == sorted(u.pk for u in users)
    assert others == []


def test_an_iri_that_two_rows_answer_gives_one_of_them(make_user, register):
    """A route on a field that is not unique: one actor per IRI, as resolved."""
    from testsite.blog.vox import AuthorVox

    register(User, AuthorVox, r"^named/(?P<first_name>\w+)/$")
    same = {
        make_user("one", first_name="Same").pk,
        make_user("two", first_name="Same").pk,
    }
    keys, others = local_actor_keys([f"{SITE}/named/Same/"])
    assert len(keys[User]) == 1
    assert set(keys[User]) <= same
    assert others == []
