"""No input yields a 5xx: generated IRIs, addressing and queries (Hypothesis).

Generated IRIs, addressing lists and query parameters against every public
endpoint: each answer below 500, and no row written anywhere when the answer
is an error.  The same hostile input, field by field, is in
``test_trust_input_fields.py``.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vox_activity.models import ActorKey
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.cavage import sign_request
from vox_activity.protocol.vocabulary import PUBLIC

from .support.constants import AP
from .support.hostile_input import (
    ALICE,
    ARTICLE,
    HOSTILE_IRIS,
    INBOXES,
    SHARED,
    SITE,
    signature_with_key_id,
)
from .support.records import table_counts
from .support.remote_actors import post_signed, private_key

#: Every outbound request fails, as when the network is down.
pytestmark = pytest.mark.usefixtures("unreachable")


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
