"""No input yields a 5xx: hostile IRIs, addressing and query parameters.

Every IRI that comes from outside goes through one parser
(:mod:`vox_activity.protocol.iri`), which answers 400 naming the field, and
code that only *looks* at an address (``to``, ``cc``, a tag) skips what it
cannot read.  Before the redesign, ``http://[broken/note`` made
``urlsplit`` raise inside the inbox, a port that is not a number raised
from ``.port``, and ``?max_id=²`` passed ``str.isdigit`` and then broke
``int()``: each a 500, which senders retry for days.

The first half names each field and what it must answer; the second half is
property-based (Hypothesis): generated IRIs, addressing lists and query
parameters against every public endpoint, each answer below 500 and no row
written anywhere when the answer is an error.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vox_activity.models import Activity, ActorKey, InboxItem, StoredObject
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.cavage import sign_request
from vox_activity.protocol.vocabulary import PUBLIC

from .support.constants import AP
from .support.records import table_counts
from .support.remote_actors import post_signed, private_key

SITE = "https://testserver"
ALICE = f"{SITE}/~alice/"
ARTICLE = f"{SITE}/articles/hello/"
SHARED = "/activitypub/inbox"
INBOXES = ["/~alice/inbox", SHARED]

#: IRIs that have each broken something, somewhere (and their kind).
HOSTILE_IRIS = {
    "broken-ipv6": "http://[broken/note",
    "nul": "https://remote.example/notes/\x00",
    "control": "https://remote.example/notes/\x07\x1b[2J",
    "newline": "https://remote.example/notes/1\r\nX-Injected: yes",
    "space": "https://remote.example/notes/a b",
    "bidi": "https://remote.example/notes/\u202egnp.exe",
    "too-long": "https://remote.example/notes/" + "a" * 2100,
    "user-info": "https://mastodon.social@remote.example/notes/1",
    "password": "https://carol:secret@remote.example/notes/1",
    "port-too-big": "https://remote.example:99999/notes/1",
    "port-zero": "https://remote.example:0/notes/1",
    "port-superscript": "https://remote.example:²/notes/1",
    "port-negative": "https://remote.example:-1/notes/1",
    "port-word": "https://remote.example:https/notes/1",
    "no-host": "https:///notes/1",
    "bad-label": "https://-bad-.example/notes/1",
    "javascript": "javascript:alert(1)",
    "relative": "/notes/1",
    "scheme-relative": "//remote.example/notes/1",
    "forbidden-chars": 'https://remote.example/<script>"',
    "not-a-string": 42,
}


#: The body reader refuses NUL anywhere, before any field is read.
NUL_REFUSED = "NUL characters"


#: Every outbound request fails, as when the network is down.
pytestmark = pytest.mark.usefixtures("unreachable")


def error_of(response) -> str:
    return json.loads(response.content)["error"]


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


def signature_with_key_id(key_id) -> str:
    """A Signature header naming ``key_id`` (its signature cannot verify)."""
    return (
        f'keyId="{key_id}",algorithm="rsa-sha256",'
        'headers="(request-target) host date digest",signature="AAAA"'
    )


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


# --- property-based: every public endpoint ---------------------------------------

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NUMBERISH = st.sampled_from(
    ["", "0", "1", "-1", "²", "٣", "\uff11", "1e3", " 1", "1.5", "0x10", "true",
     "9" * 30, "NaN", "\x00", "1\n"]
)  # fmt: skip
QUERY_VALUES = NUMBERISH | st.text(max_size=12)
QUERY_KEYS = st.sampled_from(
    ["limit", "max_id", "min_id", "page", "resource", "rel", "id"]
) | st.text(min_size=1, max_size=6)  # fmt: skip
#: Query strings as a client sends them (percent-encoded UTF-8), then some
#: that no well-behaved client sends.
QUERIES = st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=4).map(urlencode)
RAW_QUERIES = st.sampled_from(
    ["", "%ff%fe", "limit=%ff", "max_id=%00", "min_id=%", "&&&=", "limit",
     "page=true&page=false", "max_id=1;min_id=2", "limit=%C2%B2"]
)  # fmt: skip


def _compose(scheme, userinfo, host, port, path):
    return f"{scheme}{userinfo}{host}{port}{path}"


GENERATED_IRIS = (
    st.sampled_from([v for v in HOSTILE_IRIS.values() if isinstance(v, str)])
    | st.builds(
        _compose,
        st.sampled_from(
            [
                "https://",
                "http://",
                "HTTPS://",
                "ftp://",
                "",
                "https:/",
                "https:",
                "data:",
            ]
        ),
        st.sampled_from(["", "user@", "user:pw@", "@", "mastodon.social@"]),
        st.sampled_from(
            [
                "remote.example",
                "testserver",
                "[broken",
                "[::1]",
                "[::1",
                "[fe80::1%25eth0]",
                "exa mple.org",
                "例え.jp",
                "xn--.example",
                "a" * 64 + ".example",
                "127.0.0.1",
                "",
                ".",
                "-x.example",
            ]
        ),
        st.sampled_from(["", ":0", ":443", ":65535", ":99999", ":²", ":-1", ":x", ":"]),
        st.text(max_size=15).map(lambda text: "/" + text),
    )
    | st.text(max_size=20)
)
BROKEN = HOSTILE_IRIS["broken-ipv6"]
ADDRESSES = GENERATED_IRIS | st.just(ALICE) | st.just(PUBLIC)
ADDRESSING = st.lists(ADDRESSES, max_size=4) | ADDRESSES | st.none()

ACCEPTS = st.sampled_from(
    [AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
     "text/html", "*/*", "", "application/json;;q=x"]
)  # fmt: skip
GET_ENDPOINTS = [
    "/~alice/",
    "/~alice/inbox",
    "/~alice/outbox",
    "/~alice/followers",
    "/~alice/following",
    "ACTIVITY",
    "/activitypub/actor",
    "/activitypub/actor/outbox",
    "/.well-known/webfinger",
    "/.well-known/nodeinfo",
    "/nodeinfo/2.1",
    "/.well-known/host-meta",
]


@pytest.fixture
def site(client, alice, carol):
    """The public face of the site, every endpoint served once (keys made)."""
    activity = publish({"type": "Create", "actor": ALICE, "to": [PUBLIC],
                        "object": {"id": ARTICLE, "type": "Article"}})  # fmt: skip
    paths = {
        path: f"/activitypub/activities/{activity.uuid}" if path == "ACTIVITY" else path
        for path in GET_ENDPOINTS
    }
    for path in paths.values():
        assert client.get(path, HTTP_ACCEPT=AP).status_code < 500
    assert ActorKey.objects.count() == 2  # alice's and the instance actor's
    return paths


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
@PROPERTY
@given(
    query=QUERIES,
    raw=RAW_QUERIES,
    accept=ACCEPTS,
    method=st.sampled_from(["GET", "GET", "HEAD", "POST", "PUT", "DELETE"]),
    owner=st.booleans(),
)
def test_property_any_query_on_any_endpoint(
    client, alice, site, endpoint, query, raw, accept, method, owner
):
    if owner:
        client.force_login(alice)
    else:
        client.logout()
    before = table_counts()
    response = client.generic(
        method,
        site[endpoint],
        data=b"",
        QUERY_STRING="&".join(part for part in (query, raw) if part),
        HTTP_ACCEPT=accept,
    )
    assert response.status_code < 500, (response.status_code, response.content)
    assert table_counts() == before


@PROPERTY
@example(resource=BROKEN, rel=[])
@given(resource=GENERATED_IRIS | st.builds("acct:{}@{}".format, st.text(max_size=8),
                                            st.sampled_from(["testserver", "", "x"])),
       rel=st.lists(st.text(max_size=5), max_size=2))  # fmt: skip
def test_property_any_webfinger_resource(client, site, resource, rel):
    before = table_counts()
    response = client.get("/.well-known/webfinger", {"resource": resource, "rel": rel})
    assert response.status_code in (200, 400, 404), response.content
    assert table_counts() == before


FIELDS = ("id", "actor", "object", "object.id", "to", "cc", "target", "tag",
          "inReplyTo")  # fmt: skip
TYPES = st.sampled_from(["Create", "Update", "Delete", "Follow", "Accept", "Reject",
                         "Undo", "Like", "Announce", "Block", "Flag", "Move", "Add",
                         "Remove", "EmojiReact"])  # fmt: skip


def _activity(carol, kind, field, iri, to, cc):
    """A well-formed activity by carol with ``iri`` in ``field``."""
    note = carol.note()
    data = carol.activity(kind, note, to=to, cc=cc)
    if field == "object.id":
        note["id"] = iri
    elif field in ("tag", "inReplyTo"):
        note[field] = [{"id": iri, "content": "x"}, iri] if field == "tag" else iri
    elif field == "object":
        data["object"] = iri
    else:
        data[field] = iri
    return data


@pytest.mark.parametrize("path", INBOXES)
@PROPERTY
@given(
    kind=TYPES,
    field=st.sampled_from(FIELDS),
    iri=GENERATED_IRIS,
    to=ADDRESSING,
    cc=ADDRESSING,
)
@example(kind="EmojiReact", field="object", iri=BROKEN, to=None, cc=None)
@example(kind="Create", field="inReplyTo", iri=BROKEN, to=[BROKEN], cc=BROKEN)
def test_property_any_iri_in_a_signed_activity(
    client, site, carol, path, kind, field, iri, to, cc
):
    data = _activity(carol, kind, field, iri, to, cc)
    before = table_counts()
    response = post_signed(client, path, data, carol)
    status = response.status_code
    assert status == 202 or 400 <= status < 500, (status, response.content)
    if status != 202:
        assert table_counts() == before


@PROPERTY
@given(kind=TYPES, field=st.sampled_from(FIELDS), iri=GENERATED_IRIS, to=ADDRESSING)
def test_property_any_iri_in_an_unsigned_post_writes_nothing(
    client, site, carol, kind, field, iri, to
):
    data = _activity(carol, kind, field, iri, to, None)
    before = table_counts()
    response = client.post(SHARED, json.dumps(data), content_type=AP)
    assert response.status_code in (400, 401)  # the body is read first
    assert table_counts() == before


@PROPERTY
@given(key_id=GENERATED_IRIS)
@example(key_id=BROKEN)
def test_property_any_key_id(client, site, carol, key_id):
    body = json.dumps(carol.activity("Like", ARTICLE)).encode()
    try:
        headers = sign_request(
            "POST", SITE + SHARED, {"Content-Type": AP}, body,
            key_id=key_id, private_key_pem=private_key(0),
        )  # fmt: skip
        signature = headers["Signature"]
    except Exception:  # our signer refuses some: send a header by hand
        signature = signature_with_key_id(key_id.replace('"', ""))
    before = table_counts()
    response = client.generic(
        "POST", SHARED, body, content_type=AP, HTTP_SIGNATURE=signature
    )
    assert 400 <= response.status_code < 500, response.content
    assert table_counts() == before


@pytest.mark.parametrize("as_owner", [True, False])
@PROPERTY
@given(kind=TYPES | st.just("Read"), field=st.sampled_from(FIELDS),
       iri=GENERATED_IRIS, to=ADDRESSING)  # fmt: skip
@example(kind="Like", field="object", iri=BROKEN, to=None)
def test_property_any_iri_posted_to_an_outbox(
    client, alice, site, carol, as_owner, kind, field, iri, to
):
    if as_owner:
        client.force_login(alice)
    data = _activity(carol, kind, field, iri, to, None)
    data["actor"] = ALICE
    before = table_counts()
    response = client.post("/~alice/outbox", json.dumps(data), content_type=AP)
    status = response.status_code
    assert status < 500, (status, response.content)
    if not as_owner:
        assert status == 403
    if status >= 400:
        assert table_counts() == before


def test_the_activity_view_refuses_what_it_does_not_serve(client, site):
    missing = f"/activitypub/activities/{uuid.uuid4()}"
    assert client.get(missing, HTTP_ACCEPT=AP).status_code == 404
    assert client.get("/activitypub/activities/not-a-uuid").status_code == 404
