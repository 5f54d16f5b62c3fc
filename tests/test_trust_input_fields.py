"""No input yields a 5xx: hostile IRIs, key ids and query parameters, by name.

Every IRI that comes from outside goes through one parser
(:mod:`vox_activity.protocol.iri`), which answers 400 naming the field, and
code that only *looks* at an address (``to``, ``cc``, a tag) skips what it
cannot read.  Before the redesign, ``http://[broken/note`` made
``urlsplit`` raise inside the inbox, a port that is not a number raised
from ``.port``, and ``?max_id=²`` passed ``str.isdigit`` and then broke
``int()``: each a 500, which senders retry for days.

Here each field is named with what it must answer; the property-based half
is ``test_trust_input_properties.py``.
"""

from __future__ import annotations

import json

import pytest

from vox_activity.models import Activity, InboxItem, StoredObject
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.vocabulary import PUBLIC

from .support.constants import AP
from .support.hostile_input import (
    ALICE,
    ARTICLE,
    HOSTILE_IRIS,
    INBOXES,
    NUL_REFUSED,
    SHARED,
    error_of,
    signature_with_key_id,
)
from .support.records import table_counts
from .support.remote_actors import post_signed

#: Every outbound request fails, as when the network is down.
pytestmark = pytest.mark.usefixtures("unreachable")


# --- each field, by name ------------------------------------------------------


def in_id(carol, iri):
    return {**carol.activity("Like", ARTICLE), "id": iri}


def in_actor(carol, iri):
    return {**carol.activity("Like", ARTICLE), "actor": iri}


def in_object(carol, iri):
    return carol.activity("Like", iri)


def in_object_id(carol, iri):
    return carol.activity("Create", carol.note(id=iri))


def in_listed_object(carol, iri):
    return carol.activity("Flag", [ALICE, iri])


def in_move_target(carol, iri):
    return carol.activity("Move", carol.iri, target=iri)


def in_add_target(carol, iri):
    return carol.activity("Add", carol.new_iri("notes"), target=iri)


def in_embedded_target(carol, iri):
    return carol.activity("Remove", carol.new_iri("notes"), target={"id": iri})


REFUSED_FIELDS = [
    (in_id, '"id"'),
    (in_actor, '"actor"'),
    (in_object, '"object"'),
    (in_object_id, '"object.id"'),
    (in_listed_object, '"object[1]"'),
    (in_move_target, '"target"'),
    (in_add_target, '"target"'),
    (in_embedded_target, '"target.id"'),
]


@pytest.mark.parametrize("kind", list(HOSTILE_IRIS))
@pytest.mark.parametrize(
    ("place", "field"), REFUSED_FIELDS, ids=[p.__name__ for p, _ in REFUSED_FIELDS]
)
def test_a_hostile_iri_is_400_naming_its_field(
    client, alice, carol, place, field, kind
):
    data = place(carol, HOSTILE_IRIS[kind])
    before = table_counts()
    response = post_signed(client, SHARED, data, carol)
    assert response.status_code == 400, response.content
    assert (NUL_REFUSED if kind == "nul" else field) in error_of(response)
    assert table_counts() == before


def in_addressing(carol, iri):
    return carol.activity("Like", ARTICLE, to=[iri, ALICE], cc=iri)


def in_tag(carol, iri):
    mention = {"type": "Mention", "href": iri, "name": "@x"}
    return carol.activity("Create", carol.note(tag=[mention, {"id": iri}, iri]))


def in_reply_to(carol, iri):
    return carol.activity("Create", carol.note(inReplyTo=iri))


def in_an_unknown_types_object(carol, iri):
    return carol.activity("EmojiReact", iri, content="x", to=[ALICE])


def in_an_unknown_types_target(carol, iri):
    return carol.activity("Offer", carol.note(), target={"id": iri})


SKIPPED_FIELDS = [
    in_addressing,
    in_tag,
    in_reply_to,
    in_an_unknown_types_object,
    in_an_unknown_types_target,
]


@pytest.mark.parametrize("kind", list(HOSTILE_IRIS))
@pytest.mark.parametrize("place", SKIPPED_FIELDS, ids=lambda p: p.__name__)
def test_a_hostile_iri_where_it_is_only_looked_at_is_skipped(
    client, alice, carol, place, kind
):
    """Addresses, tags and replies are read, never followed: what cannot be
    read names no one, and the activity is accepted for what it is."""
    data = place(carol, HOSTILE_IRIS[kind])
    response = post_signed(client, SHARED, data, carol)
    if kind == "nul":  # no JSON with NUL is stored, wherever it is
        assert response.status_code == 400
        assert NUL_REFUSED in error_of(response)
        return
    assert response.status_code == 202, response.content
    assert Activity.objects.filter(iri=data["id"]).exists()
    owners = set(InboxItem.objects.values_list("owner_id", flat=True))
    assert owners <= {str(alice.pk)}


@pytest.mark.parametrize(
    "kind", [k for k, v in HOSTILE_IRIS.items() if '"' not in str(v)]
)
def test_a_hostile_key_id_is_401_naming_it_and_fetches_nothing(
    client, alice, carol, unreachable, kind
):
    key_id = str(HOSTILE_IRIS[kind]).replace("\r\n", "")
    before = table_counts()
    response = post_signed(
        client,
        SHARED,
        carol.activity("Like", ARTICLE),
        carol,
        HTTP_SIGNATURE=signature_with_key_id(key_id),
    )
    assert response.status_code == 401, response.content
    assert "keyId" in error_of(response) or "Signature header" in error_of(response)
    assert unreachable.requests == []
    assert table_counts() == before


def test_a_key_id_that_is_not_an_iri_is_named_in_the_answer(client, alice, carol):
    response = post_signed(
        client,
        SHARED,
        carol.activity("Like", ARTICLE),
        carol,
        key_id="http://[broken/key",
    )
    assert response.status_code == 401
    assert "keyId 'http://[broken/key' is not an http(s) IRI" in error_of(response)


@pytest.mark.parametrize("kind", list(HOSTILE_IRIS))
def test_a_hostile_webfinger_resource_is_4xx(client, db, kind):
    value = str(HOSTILE_IRIS[kind])
    before = table_counts()
    response = client.get("/.well-known/webfinger", {"resource": value})
    assert response.status_code in (400, 404), response.content
    if value.startswith(("http://", "https://")):
        assert response.status_code == 400
        assert '"resource"' in error_of(response)
    assert table_counts() == before


# --- query parameters that look like numbers ------------------------------------


@pytest.fixture
def paged(client, alice, carol):
    """alice, logged in, with one published article (so pages have rows)."""
    client.force_login(alice)
    publish({"type": "Create", "actor": ALICE, "to": [PUBLIC],
             "object": {"id": ARTICLE, "type": "Article"}})  # fmt: skip
    return client


COLLECTIONS = [
    "/~alice/outbox",
    "/~alice/inbox",
    "/~alice/followers",
    "/~alice/following",
    "/activitypub/actor/outbox",
]


@pytest.mark.parametrize("path", COLLECTIONS)
@pytest.mark.parametrize(
    "query",
    ["limit=²", "max_id=²", "min_id=٣", "limit=\uff11", "max_id=-1", "min_id=0",
     "limit=1e3", "max_id=0x10", "limit= 5", "max_id=1&min_id=2"],
)  # fmt: skip
def test_a_page_parameter_that_is_not_a_positive_number_is_400(paged, path, query):
    before = table_counts()
    response = paged.get(f"{path}?{query}", HTTP_ACCEPT=AP)
    assert response.status_code == 400, response.content
    assert query.split("=")[0] in error_of(response)
    assert table_counts() == before


@pytest.mark.parametrize("path", COLLECTIONS)
def test_a_page_id_beyond_any_database_integer_is_an_empty_page(paged, path):
    """ASCII digits, but more than a 64-bit integer holds."""
    response = paged.get(f"{path}?max_id={'9' * 40}", HTTP_ACCEPT=AP)
    assert response.status_code == 200, response.content
    response = paged.get(f"{path}?min_id={'9' * 40}", HTTP_ACCEPT=AP)
    assert response.status_code == 200, response.content
    assert response.json()["orderedItems"] == []


# --- stored data from odd documents --------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (["Note", "ex:Thing"], "Note"),
        (["", "Article"], "Article"),
        ([], "Object"),
        ([None, 3], "Object"),
        (None, "Object"),
        (7, "Object"),
        ("N" * 100, "N" * 64),
        ("Question", "Question"),
    ],
)
def test_a_stored_objects_type_is_one_real_name(client, alice, carol, sent, stored):
    note = carol.note()
    if sent is None:
        del note["type"]
    else:
        note["type"] = sent
    response = post_signed(client, SHARED, carol.activity("Create", note), carol)
    assert response.status_code == 202
    assert StoredObject.objects.get(iri=note["id"]).type == stored


def test_an_update_to_a_list_type_keeps_a_real_name(client, alice, carol):
    note = carol.note()
    assert (
        post_signed(client, SHARED, carol.activity("Create", note), carol).status_code
        == 202
    )
    changed = {**note, "type": ["Article", "Note"], "content": "<p>edited</p>"}
    assert (
        post_signed(
            client, SHARED, carol.activity("Update", changed), carol
        ).status_code
        == 202
    )
    assert StoredObject.objects.get(iri=note["id"]).type == "Article"
    untyped = {k: v for k, v in note.items() if k != "type"}
    assert (
        post_signed(
            client, SHARED, carol.activity("Update", untyped), carol
        ).status_code
        == 202
    )
    assert StoredObject.objects.get(iri=note["id"]).type == "Article"


@pytest.mark.parametrize("path", INBOXES)
def test_202_answers_have_no_content_type(client, alice, carol, path):
    like = carol.activity("Like", ARTICLE)
    first = post_signed(client, path, like, carol)
    again = post_signed(client, path, like, carol)  # a duplicate: dropped
    for response in (first, again):
        assert response.status_code == 202
        assert "Content-Type" not in response
        assert response.content == b""


def test_204_answers_have_no_content_type(client, alice, carol):
    like = carol.activity("Like", ARTICLE, to=[ALICE])
    assert post_signed(client, SHARED, like, carol).status_code == 202
    client.force_login(alice)
    response = client.post(
        "/~alice/outbox",
        json.dumps({"type": "Read", "object": like["id"]}),
        content_type=AP,
    )
    assert response.status_code == 204, response.content
    assert "Content-Type" not in response
    assert response.content == b""
