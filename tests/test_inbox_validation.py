"""The inbox's gate: which POSTs are accepted, which are refused and why.

An activity signed by the independent ``httpsig`` package is accepted and
stored; every refusal (signature, digest, date, actor, JSON, size, media type,
fields) answers its status with a reason and writes nothing; the same
activity twice has its effects once.

Remote actors are cached rows (``tests/support/remote_actors.py``) whose
keys the tests hold, so verifying a request needs no network, and the
``offline`` fixture fails the test if anything tries to reach one anyway.
Tasks go to the dummy backend, which records and runs nothing: deliveries
are asserted on their rows and on the enqueued results.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest
from django.db import connection, transaction
from django.test import Client

from vox_activity.incoming import pipeline as inbox
from vox_activity.models import Activity, Delivery, Follow, InboxItem, StoredObject

from .settings import SUITE_VOX_ACTIVITY
from .support.constants import AP, SITE
from .support.inbox import (
    ALICE,
    ARTICLE,
    INBOXES,
    SHARED,
    error_of,
    inbox_iris,
    local_activities,
)
from .support.records import row_counts
from .support.remote_actors import (
    Remote,
    body_of,
    post_signed,
    private_key,
    signed_extras,
)

#: Nothing reaches the network unless served; tasks are recorded, never run.
pytestmark = pytest.mark.usefixtures("offline", "dummy_tasks")

FULL_POST = ["(request-target)", "host", "date", "digest", "content-type"]


# --- an independently signed POST is accepted -------------------------------


@pytest.mark.parametrize("path", INBOXES)
def test_post_signed_by_httpsig_is_accepted(
    client, alice, carol, httpsig, received, path
):
    note = carol.note(to=[ALICE])
    data = carol.activity("Create", note, to=[ALICE])
    body = body_of(data)
    signer = httpsig.HeaderSigner(
        carol.key_id,
        carol.private_key_pem,
        algorithm="rsa-sha256",
        headers=FULL_POST,
        sign_header="signature",
    )
    headers = signer.sign(
        {
            "Host": "testserver",
            "Date": formatdate(usegmt=True),
            "Digest": "SHA-256="
            + base64.b64encode(hashlib.sha256(body).digest()).decode(),
            "Content-Type": AP,
        },
        method="POST",
        path=path,
    )
    assert set(headers) == {"host", "date", "digest", "content-type", "signature"}
    extras = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in headers.items()
        if name != "content-type"
    }

    response = client.generic("POST", path, body, content_type=AP, **extras)

    assert response.status_code == 202, response.content
    activity = Activity.objects.get()
    assert activity.iri == data["id"]
    assert activity.local is False
    assert (activity.type, activity.actor_iri, activity.object_iri) == (
        "Create",
        carol.iri,
        note["id"],
    )
    assert activity.data == data
    assert inbox_iris(alice) == [data["id"]]
    assert InboxItem.objects.count() == 1
    stored = StoredObject.objects.get()
    assert (stored.iri, stored.owner_iri, stored.type, stored.local) == (
        note["id"],
        carol.iri,
        "Note",
        False,
    )
    assert received.names() == ["activity_received"]
    (event,) = received.of("activity_received")
    assert event["sender"] is Activity
    assert event["activity"] == activity
    assert event["actor"] == carol.row
    assert event["data"] == data


# --- rejections: status, reason, nothing written ----------------------------


def _like(carol: Remote) -> dict:
    return carol.activity("Like", ARTICLE)


def unsigned(client, path, carol, dave):
    return client.generic("POST", path, body_of(_like(carol)), content_type=AP)


def signed_with_the_wrong_key(client, path, carol, dave):
    return post_signed(
        client, path, _like(carol), carol, private_key_pem=private_key(3)
    )


def body_tampered_after_signing(client, path, carol, dave):
    data = _like(carol)
    changed = body_of({**data, "object": f"{SITE}/articles/other/"})
    return post_signed(client, path, data, carol, send_body=changed)


def wrong_digest_header(client, path, carol, dave):
    other = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    return post_signed(
        client, path, _like(carol), carol, HTTP_DIGEST=f"SHA-256={other}"
    )


def date_older_than_an_hour_and_a_minute(client, path, carol, dave):
    then = datetime.now(UTC) - timedelta(hours=1, minutes=1)
    return post_signed(client, path, _like(carol), carol, now=then)


def signer_is_not_the_actor(client, path, carol, dave):
    return post_signed(client, path, _like(dave), carol)


def invalid_json(client, path, carol, dave):
    return post_signed(client, path, b'{"type": "Like",', carol)


def json_array(client, path, carol, dave):
    return post_signed(client, path, [_like(carol)], carol)


def missing_id(client, path, carol, dave):
    data = _like(carol)
    del data["id"]
    return post_signed(client, path, data, carol)


def relative_actor_iri(client, path, carol, dave):
    data = {**_like(carol), "actor": "/users/carol"}
    return post_signed(client, path, data, carol)


def id_on_another_origin(client, path, carol, dave):
    data = {**_like(carol), "id": "https://elsewhere.example/activities/1"}
    return post_signed(client, path, data, carol)


def create_attributed_to_someone_else(client, path, carol, dave):
    data = carol.activity("Create", carol.note(attributedTo=dave.iri))
    return post_signed(client, path, data, carol)


def type_as_a_list(client, path, carol, dave):
    return post_signed(client, path, {**_like(carol), "type": ["Like"]}, carol)


def type_with_two_words(client, path, carol, dave):
    return post_signed(client, path, {**_like(carol), "type": "Like Create"}, carol)


def follow_without_object(client, path, carol, dave):
    return post_signed(client, path, carol.activity("Follow"), carol)


@pytest.mark.parametrize("path", INBOXES)
@pytest.mark.parametrize(
    ("send", "status", "reason"),
    [
        (unsigned, 401, "not signed"),
        (signed_with_the_wrong_key, 401, "signature does not verify"),
        (body_tampered_after_signing, 401, "Digest does not match the body"),
        (wrong_digest_header, 401, "Digest does not match the body"),
        (date_older_than_an_hour_and_a_minute, 401, "Date is too old"),
        (signer_is_not_the_actor, 403, "not by the activity's actor"),
        (invalid_json, 400, "not valid JSON"),
        (json_array, 400, "must be a JSON object"),
        (missing_id, 400, '"id"'),
        (relative_actor_iri, 400, '"actor"'),
        (id_on_another_origin, 400, '"id" is not on the actor\'s server'),
        (create_attributed_to_someone_else, 400, '"object.attributedTo"'),
        (type_as_a_list, 400, '"type" is missing or not a single type name'),
        (type_with_two_words, 400, '"type" is missing or not a single type name'),
        (follow_without_object, 400, '"object" is required for Follow'),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_refused_requests_write_nothing(
    client, alice, article, carol, dave, received, path, send, status, reason
):
    before = row_counts()
    response = send(client, path, carol, dave)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert reason in error_of(response)
    assert row_counts() == before
    assert received.events == []


@pytest.mark.parametrize("path", INBOXES)
def test_body_over_max_body_size_is_413(client, alice, carol, settings, path):
    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "MAX_BODY_SIZE": 400}
    before = row_counts()
    big = carol.activity("Like", ARTICLE, summary="x" * 500)
    response = post_signed(client, path, big, carol)
    assert response.status_code == 413
    assert "larger than 400 bytes" in error_of(response)
    assert row_counts() == before
    small = carol.activity("Like", ARTICLE)
    assert len(body_of(small)) < 400
    assert post_signed(client, path, small, carol).status_code == 202


@pytest.mark.parametrize("path", INBOXES)
def test_text_plain_is_415(client, alice, carol, path):
    before = row_counts()
    response = post_signed(
        client, path, carol.activity("Like", ARTICLE), carol, content_type="text/plain"
    )
    assert response.status_code == 415
    assert "application/activity+json" in error_of(response)
    assert row_counts() == before


@pytest.mark.parametrize("path", INBOXES)
@pytest.mark.parametrize(
    "content_type",
    [AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
     "application/json"],
)  # fmt: skip
def test_every_accepted_content_type_reaches_the_inbox(
    client, alice, carol, path, content_type
):
    """inbox.ACCEPTED_CONTENT_TYPES includes plain JSON, as many servers send."""
    data = carol.activity("Follow", ALICE)
    response = post_signed(client, path, data, carol, content_type=content_type)
    assert response.status_code == 202, response.content
    assert Activity.objects.filter(iri=data["id"]).exists()


@pytest.mark.parametrize("path", INBOXES)
def test_deeply_nested_json_is_400_not_a_crash(client, alice, carol, path):
    before = row_counts()
    body = b"[" * 50_000 + b"]" * 50_000
    response = post_signed(client, path, body, carol)
    assert response.status_code == 400
    assert row_counts() == before


@pytest.mark.parametrize("path", INBOXES)
def test_non_standard_json_constants_are_400(client, alice, carol, path):
    """NaN/Infinity are not JSON, yet json.loads takes them: SQLite's
    JSON_VALID check constraint and PostgreSQL's jsonb then refuse the row (a
    500).  They must be refused as invalid JSON."""
    data = carol.activity("Like", ARTICLE)
    body = body_of(data)[:-1] + b', "score": NaN}'
    before = row_counts()
    response = post_signed(client, path, body, carol)
    assert response.status_code == 400
    assert row_counts() == before


@pytest.mark.parametrize("path", INBOXES)
def test_content_length_that_is_not_a_number_is_not_a_crash(client, alice, carol, path):
    """'²'.isdigit() is True, but int('²') raises."""
    before = row_counts()
    response = post_signed(
        client, path, carol.activity("Like", ARTICLE), carol, CONTENT_LENGTH="²"
    )
    assert 400 <= response.status_code < 500
    assert row_counts() == before


@pytest.mark.parametrize("path", INBOXES)
def test_id_longer_than_an_iri_column_is_400(client, alice, carol, path):
    """Activity.iri holds 2048 characters: PostgreSQL raises on a longer one
    (a 500), SQLite silently stores it.  It must be refused, field named."""
    data = carol.activity("Like", ARTICLE)
    data["id"] = carol.origin + "/activities/" + "a" * 2100
    before = row_counts()
    response = post_signed(client, path, data, carol)
    assert response.status_code == 400
    assert '"id"' in error_of(response)
    assert row_counts() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("content", "a\u0000b"), ("id", "/a\u0000b"), ("content", "\ud800")],
    ids=["NUL-in-content", "NUL-in-id", "lone-surrogate"],
)
def test_text_a_database_cannot_hold_is_not_a_crash(client, alice, carol, field, value):
    """Valid JSON, but PostgreSQL refuses NUL characters in text and jsonb,
    and lone surrogates in jsonb: a 202 if stored, else a 4xx, never a 500."""
    data = carol.activity("Like", ARTICLE)
    data[field] = data["id"] + value if field == "id" else value
    body = json.dumps(data).encode()
    before = row_counts()
    response = post_signed(client, SHARED, body, carol)
    assert response.status_code == 202 or 400 <= response.status_code < 500
    if response.status_code != 202:
        assert row_counts() == before


def test_create_with_attributed_to_list_naming_someone_else_is_400(
    client, alice, carol, dave
):
    """attributedTo may be a list (PeerTube); the check must not skip lists."""
    data = carol.activity("Create", carol.note(attributedTo=[dave.iri]))
    before = row_counts()
    response = post_signed(client, SHARED, data, carol)
    assert response.status_code == 400
    assert "attributedTo" in error_of(response)
    assert row_counts() == before


# --- idempotency ----------------------------------------------------------


@pytest.mark.parametrize("path", INBOXES)
def test_the_same_activity_twice_has_its_effects_once(
    client,
    alice,
    carol,
    received,
    dummy_tasks,
    django_capture_on_commit_callbacks,
    path,
):
    data = carol.activity("Follow", ALICE)
    body = body_of(data)
    extras = signed_extras(carol, path, body)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.generic("POST", path, body, content_type=AP, **extras)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.generic("POST", path, body, content_type=AP, **extras)
    assert (first.status_code, again.status_code) == (202, 202)
    assert Activity.objects.filter(iri=data["id"]).count() == 1
    assert Follow.objects.count() == 1
    assert len(local_activities("Accept")) == 1
    assert Delivery.objects.count() == 1
    assert len(dummy_tasks.results) == 1
    assert InboxItem.objects.count() == 1
    assert received.names() == [
        "follow_requested",
        "follow_accepted",
        "activity_received",
    ]


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent transactions (PostgreSQL)",
)
def test_the_same_activity_posted_concurrently_is_stored_once(
    transactional_db, alice, carol, monkeypatch
):
    data = carol.activity("Follow", ALICE)
    body = body_of(data)
    extras = signed_extras(carol, SHARED, body)
    # Hold both requests after their "seen before?" check, so both insert.
    gate = threading.Barrier(2, timeout=10)

    class GatedTransaction:
        @staticmethod
        def atomic(*args, **kwargs):
            gate.wait()
            return transaction.atomic(*args, **kwargs)

    monkeypatch.setattr(inbox, "transaction", GatedTransaction)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def post():
        try:
            response = Client().generic("POST", SHARED, body, content_type=AP, **extras)
            statuses.append(response.status_code)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert statuses == [202, 202]
    assert Activity.objects.filter(iri=data["id"]).count() == 1
    assert Follow.objects.count() == 1
    assert len(local_activities("Accept")) == 1
    assert Delivery.objects.count() == 1
    assert InboxItem.objects.count() == 1
