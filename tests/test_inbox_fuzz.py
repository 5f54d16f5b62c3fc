"""Property-based: whatever arrives at an inbox, no 5xx and nothing written.

Hypothesis generates bodies, headers and media types (unsigned or garbage),
then activity-shaped JSON validly signed by a known actor: each answer is a
202, or a 4xx with no row written.  Fetches of unknown keys fail, as when
their servers are down (``unreachable``).
"""

from __future__ import annotations

import base64
import json
from email.utils import formatdate

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vox_activity.protocol.vocabulary import PUBLIC

from .support.constants import AP
from .support.inbox import ALICE, ARTICLE, BOB, INBOXES, SHARED
from .support.records import row_counts
from .support.remote_actors import post_signed

#: Every fetch of an unknown key fails, as when its server is down.
pytestmark = pytest.mark.usefixtures("unreachable", "dummy_tasks")

# --- property-based: whatever arrives, no 5xx, nothing written ----------

JSON_KEYS = st.sampled_from(
    ["id", "type", "actor", "object", "to", "cc", "target", "attributedTo",
     "@context", "content"]
) | st.text(max_size=8)  # fmt: skip
IRIS = st.sampled_from(
    [ALICE, BOB, ARTICLE, SHARED, "https://remote.example/users/carol",
     "https://remote.example/users/carol#main-key",
     "https://remote.example/notes/1", "https://elsewhere.example/x", "/relative",
     "", "not an iri", PUBLIC]
)  # fmt: skip
TYPES = st.sampled_from(
    ["Create", "Update", "Delete", "Follow", "Accept", "Reject", "Undo", "Like",
     "Announce", "Block", "Flag", "Move", "Add", "Question", "Two words", ""]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | IRIS
    | TYPES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(JSON_KEYS, children, max_size=6)
    ),
    max_leaves=25,
)
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
B64 = st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
SIGNATURES = HEADER_TEXT | st.builds(
    '{}="{}",algorithm="{}",headers="{}",signature="{}"'.format,
    st.sampled_from(["keyId", "keyid", "kid"]),
    st.sampled_from(
        [
            "https://remote.example/users/carol#main-key",
            "https://unknown.example/users/x#main-key",
            "nope",
            "",
        ]
    ),
    st.sampled_from(["rsa-sha256", "hs2019", "hmac-sha256", ""]),
    st.sampled_from(["(request-target) host date digest content-type", "date", ""]),
    B64,
)
DIGESTS = HEADER_TEXT | B64.map("SHA-256={}".format)
DATES = HEADER_TEXT | st.just(formatdate(usegmt=True))
CONTENT_TYPES = st.sampled_from(
    [AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
     "application/json", "text/plain", "application/x-www-form-urlencoded", ""]
) | HEADER_TEXT  # fmt: skip
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_SIGNATURE": SIGNATURES,
        "HTTP_DATE": DATES,
        "HTTP_DIGEST": DIGESTS,
        "HTTP_HOST": st.sampled_from(["testserver", "evil.example"]) | HEADER_TEXT,
        "HTTP_AUTHORIZATION": HEADER_TEXT,
    },
)
BODIES = JSON_VALUES.map(lambda value: json.dumps(value).encode()) | st.binary(
    max_size=200
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(
    path=st.sampled_from(INBOXES),
    body=BODIES,
    headers=HEADERS,
    content_type=CONTENT_TYPES,
)
def test_fuzz_unsigned_or_garbage_input_is_4xx_and_writes_nothing(
    client, alice, carol, path, body, headers, content_type
):
    before = row_counts()
    response = client.generic("POST", path, body, content_type=content_type, **headers)
    status = response.status_code
    assert status == 202 or 400 <= status < 500, (status, response.content)
    assert row_counts() == before


CAROL_ORIGIN = "https://remote.example"
CAROL = f"{CAROL_ORIGIN}/users/carol"


def _activities():
    """Activity-shaped JSON: mostly well addressed (carol's, with a fresh id on
    her server), so that most examples get past the envelope checks."""
    ids = st.integers(0, 10**9).map("https://remote.example/activities/f{}".format)
    objects = (
        IRIS
        | ids
        | st.fixed_dictionaries(
            {"id": IRIS | ids, "type": TYPES},
            optional={"attributedTo": IRIS, "object": IRIS, "actor": IRIS},
        )
        | JSON_VALUES
    )
    return st.fixed_dictionaries(
        {
            "id": ids | ids | IRIS,
            "type": TYPES,
            "actor": st.just(CAROL) | st.just(CAROL) | IRIS,
        },
        optional={
            "object": objects,
            "to": st.lists(IRIS, max_size=3) | IRIS,
            "cc": st.lists(IRIS, max_size=3),
            "target": IRIS,
            "content": st.text(max_size=20),
        },
    )


@FUZZ
@given(path=st.sampled_from(INBOXES), data=_activities())
@example(  # an Undo by IRI of something never received
    path=SHARED,
    data={"id": f"{CAROL_ORIGIN}/activities/x1", "type": "Undo", "actor": CAROL,
          "object": f"{CAROL_ORIGIN}/activities/x0"},
)  # fmt: skip
@example(
    path=SHARED,
    data={"id": f"{CAROL_ORIGIN}/activities/x2", "type": "Undo", "actor": CAROL,
          "object": [f"{CAROL_ORIGIN}/activities/x0"]},
)  # fmt: skip
def test_fuzz_signed_activities_never_crash(client, alice, carol, path, data):
    """Validly signed by a known actor, any activity-shaped JSON: a 202, or a
    4xx with nothing written."""
    before = row_counts()
    response = post_signed(client, path, data, carol)
    status = response.status_code
    assert status == 202 or 400 <= status < 500, (status, response.content)
    if status != 202:
        assert row_counts() == before
