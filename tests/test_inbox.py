"""Incoming federation: signed POSTs to the inboxes, and what they change.

Remote actors are cached rows (``tests.remote_actors``) whose keys the tests
hold, so verifying a request needs no network; ``vox_activity.net.http.request``
fails the test if anything tries to reach one anyway.  Tests that need a
fetch (first contact, rotated keys, moves) use the ``fetches`` fixture, which
answers through the HTTP client's one mock point.
Tasks go to the dummy backend, which records and runs nothing: deliveries
are asserted on their rows and on the enqueued results.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest
from django.db import connection, transaction
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from testsite.blog.models import Article
from testsite.blog.vox import AuthorVox
from vox_activity import follows, signals
from vox_activity.compat import tasks_module
from vox_activity.incoming import pipeline as inbox
from vox_activity.models import (
    Activity,
    Block,
    Delivery,
    Follow,
    InboxItem,
    RemoteActor,
    StoredObject,
)
from vox_activity.net import http
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.vocabulary import PUBLIC

from .settings import SUITE_VOX_ACTIVITY
from .support.constants import AP, SITE
from .support.records import row_counts
from .support.remote_actors import (
    Remote,
    a_while_ago,
    body_of,
    make_remote,
    post_signed,
    private_key,
    public_key,
    signed_extras,
    uncached_remote,
)

ALICE = f"{SITE}/~alice/"
BOB = f"{SITE}/~bob/"
ALICE_FOLLOWERS = f"{SITE}/~alice/followers"
ARTICLE = f"{SITE}/articles/hello/"
SHARED = "/activitypub/inbox"
ALICE_INBOX = "/~alice/inbox"
INBOXES = [ALICE_INBOX, SHARED]
FULL_POST = ["(request-target)", "host", "date", "digest", "content-type"]
ACCEPTED, PENDING, REJECTED = (
    Follow.State.ACCEPTED,
    Follow.State.PENDING,
    Follow.State.REJECTED,
)


# --- fixtures ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def network(monkeypatch):
    """Fail the test on any outbound request; the list records attempts."""
    attempts: list[tuple[str, str]] = []

    def refuse(method, url, **kwargs):
        attempts.append((method, url))
        raise AssertionError(f"a test tried to reach the network: {method} {url}")

    monkeypatch.setattr(http, "request", refuse)
    yield attempts
    assert attempts == [], "the network was used"


@pytest.fixture(autouse=True)
def tasks(settings):
    """A task backend that runs nothing and records what is enqueued."""
    module = tasks_module()
    settings.TASKS = {
        "default": {"BACKEND": f"{module.__name__}.backends.dummy.DummyBackend"}
    }
    backend = module.task_backends["default"]
    backend.clear()
    return backend


@pytest.fixture
def carol(db):
    return make_remote("carol")


@pytest.fixture
def dave(db):
    """Another actor on carol's server."""
    return make_remote("dave", key=1)


@pytest.fixture
def erin(db):
    """An actor on another server."""
    return make_remote("erin", "other.example", key=2)


class Received:
    """Every vox_activity signal sent during a test, in order."""

    NAMES = (
        "activity_received",
        "follow_requested",
        "follow_accepted",
        "follow_rejected",
        "follow_removed",
    )

    def __init__(self):
        self.events: list[tuple[str, dict]] = []
        self.receivers = {}
        for name in self.NAMES:

            def receiver(sender, name=name, **kwargs):
                kwargs.pop("signal", None)
                self.events.append((name, {"sender": sender, **kwargs}))

            self.receivers[name] = receiver
            getattr(signals, name).connect(receiver, weak=False)

    def of(self, name: str) -> list[dict]:
        return [kwargs for event, kwargs in self.events if event == name]

    def names(self) -> list[str]:
        return [event for event, _ in self.events]

    def disconnect(self):
        for name, receiver in self.receivers.items():
            getattr(signals, name).disconnect(receiver)


@pytest.fixture
def received():
    recorder = Received()
    yield recorder
    recorder.disconnect()


@pytest.fixture
def fetches(monkeypatch):
    """Remote documents served through the HTTP client's one mock point.

    ``fetches.serve(document)`` serves it at its id (or ``at=``); every GET
    is recorded in ``calls``; anything not served answers 404.
    """

    class Fetches:
        def __init__(self):
            self.documents: dict[str, dict] = {}
            self.calls: list[str] = []

        def serve(self, document: dict, at: str | None = None) -> None:
            self.documents[at or document["id"]] = document

        def __call__(self, method, url, **kwargs):
            self.calls.append(url)
            if url not in self.documents:
                return http.Response(404, {}, b"", url)
            body = json.dumps(self.documents[url]).encode()
            return http.Response(200, {"Content-Type": AP}, body, url)

    fake = Fetches()
    monkeypatch.setattr(http, "request", fake)
    return fake


def inbox_iris(user) -> list[str]:
    return list(
        InboxItem.objects.for_owner(user)
        .order_by("id")
        .values_list("activity__iri", flat=True)
    )


def local_activities(activity_type: str) -> list[Activity]:
    return list(Activity.objects.filter(local=True, type=activity_type).order_by("id"))


def follow_from(actor: Remote, local_iri: str = ALICE, state=ACCEPTED) -> Follow:
    """A follow row: the remote ``actor`` follows the local one."""
    return Follow.objects.create(
        actor_iri=actor.iri,
        object_iri=local_iri,
        remote_actor=actor.row,
        activity_iri=actor.new_iri(),
        state=state,
    )


def follow_of(actor: Remote, local_iri: str = ALICE, state=ACCEPTED) -> Follow:
    """A follow row: the local actor follows the remote ``actor``."""
    return Follow.objects.create(
        actor_iri=local_iri,
        object_iri=actor.iri,
        remote_actor=actor.row,
        activity_iri=f"{SITE}/activitypub/activities/{uuid.uuid4()}",
        state=state,
    )


def publish_article(slug: str = "hello", actor: str = ALICE) -> Activity:
    """alice's Create of her article (what the blog's notification publishes)."""
    return publish(
        {
            "type": "Create",
            "actor": actor,
            "object": {
                "id": f"{SITE}/articles/{slug}/",
                "type": "Article",
                "attributedTo": actor,
            },
        }
    )


def post_ok(client, data, sender: Remote, path: str = SHARED):
    """POST ``data`` signed by ``sender``; it must be accepted (202)."""
    response = post_signed(client, path, data, sender)
    assert response.status_code == 202, response.content
    return response


def error_of(response) -> str:
    return response.json()["error"]


# --- 1. an independently signed POST is accepted -------------------------------


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


# --- 2. rejections: status, reason, nothing written ----------------------------


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


# --- 3. unknown actors, first contact, rotated keys ---------------------------


@pytest.mark.parametrize("path", INBOXES)
def test_delete_from_an_actor_never_seen_is_acknowledged_without_a_fetch(
    client, alice, network, received, path
):
    zed = uncached_remote("zed", "gone.example", key=4)
    before = row_counts()
    response = post_signed(client, path, zed.activity("Delete", zed.iri), zed)
    assert response.status_code == 202
    assert network == []
    assert row_counts() == before
    assert not RemoteActor.objects.exists()
    assert received.events == []


def test_first_contact_fetches_the_key_once_then_uses_the_cache(client, alice, fetches):
    zed = uncached_remote("zed", "new.example", key=4)
    fetches.serve(zed.document)
    first = post_signed(client, SHARED, zed.activity("Like", ARTICLE), zed)
    assert first.status_code == 202
    assert fetches.calls == [zed.iri]
    row = RemoteActor.objects.get(iri=zed.iri)
    assert [(k.key_id, k.public_key_pem) for k in row.keys.all()] == [
        (zed.key_id, public_key(4))
    ]
    second = post_signed(client, SHARED, zed.activity("Like", ARTICLE), zed)
    assert second.status_code == 202
    assert fetches.calls == [zed.iri]


def test_unfetchable_key_is_401(client, alice, fetches):
    zed = uncached_remote("zed", "down.example", key=4)
    before = row_counts()
    response = post_signed(client, SHARED, zed.activity("Like", ARTICLE), zed)
    assert response.status_code == 401
    assert "could not be fetched" in error_of(response)
    assert row_counts() == before


def test_rotated_key_is_refetched_once_then_rate_limited(client, alice, fetches, db):
    carol = make_remote("carol", key=0, fetched_at=a_while_ago())
    rotated = {
        **carol.document,
        "publicKey": {**carol.document["publicKey"], "publicKeyPem": public_key(1)},
    }
    fetches.serve(rotated)
    signed_anew = carol.activity("Like", ARTICLE)
    response = post_signed(
        client, SHARED, signed_anew, carol, private_key_pem=private_key(1)
    )
    assert response.status_code == 202, response.content
    assert fetches.calls == [carol.iri]
    assert carol.refresh().row.main_key().public_key_pem == public_key(1)
    assert Activity.objects.filter(iri=signed_anew["id"]).exists()

    before = row_counts()
    bad = post_signed(
        client,
        SHARED,
        carol.activity("Like", ARTICLE),
        carol,
        private_key_pem=private_key(3),
    )
    assert bad.status_code == 401
    assert "signature does not verify" in error_of(bad)
    assert fetches.calls == [carol.iri]  # not refetched within the minute
    assert row_counts() == before


def test_bad_signature_with_an_unchanged_key_is_401_after_one_refetch(
    client, alice, fetches, db
):
    carol = make_remote("carol", key=0, fetched_at=a_while_ago())
    fetches.serve(carol.document)
    before = row_counts()
    response = post_signed(
        client,
        SHARED,
        carol.activity("Like", ARTICLE),
        carol,
        private_key_pem=private_key(3),
    )
    assert response.status_code == 401
    assert fetches.calls == [carol.iri]
    assert row_counts() == before


@pytest.mark.parametrize(
    "break_it",
    [
        {"send_body": b'{"type": "Like"}'},
        {"now": datetime.now(UTC) - timedelta(hours=2)},
    ],
    ids=["digest-mismatch", "stale-date"],
)
def test_failures_no_new_key_can_fix_do_not_refetch_the_key(
    client, alice, fetches, db, break_it
):
    """A Digest that does not match the body, or a Date out of the window,
    fail whatever the key: refetching it only costs a signed fetch (and lets
    anyone replaying a captured request trigger one a minute)."""
    carol = make_remote("carol", key=0, fetched_at=a_while_ago())
    fetches.serve(carol.document)
    response = post_signed(
        client, SHARED, carol.activity("Like", ARTICLE), carol, **break_it
    )
    assert response.status_code == 401
    assert fetches.calls == []


def test_delete_signed_with_a_new_key_id_still_deletes(client, alice, fetches, db):
    """The never-seen-Delete shortcut must not drop Deletes of actors we know
    whose key id changed (the check looks at key_id only)."""
    carol = make_remote("carol")
    note = carol.note()
    post_ok(client, carol.activity("Create", note), carol)
    new_key_id = f"{carol.iri}#key-2"
    fetches.serve(
        {
            **carol.document,
            "publicKey": {
                "id": new_key_id,
                "owner": carol.iri,
                "publicKeyPem": public_key(1),
            },
        }
    )
    response = post_signed(
        client,
        SHARED,
        carol.activity("Delete", note["id"]),
        carol,
        key_id=new_key_id,
        private_key_pem=private_key(1),
    )
    assert response.status_code == 202
    stored = StoredObject.objects.get(iri=note["id"])
    assert stored.deleted_at is not None
    assert stored.data["type"] == "Tombstone"


# --- 4. idempotency ----------------------------------------------------------


@pytest.mark.parametrize("path", INBOXES)
def test_the_same_activity_twice_has_its_effects_once(
    client, alice, carol, received, tasks, django_capture_on_commit_callbacks, path
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
    assert len(tasks.results) == 1
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


# --- 5. incoming follows -----------------------------------------------------


def test_follow_is_accepted_with_an_accept_delivered(
    client, alice, carol, received, tasks, django_capture_on_commit_callbacks
):
    data = carol.activity("Follow", ALICE)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(client, ALICE_INBOX, data, carol)
    assert response.status_code == 202
    row = Follow.objects.get()
    assert (row.actor_iri, row.object_iri, row.state) == (carol.iri, ALICE, ACCEPTED)
    assert row.remote_actor == carol.row
    assert row.activity_iri == data["id"]
    assert row.responded_at is not None
    (accept,) = local_activities("Accept")
    assert accept.actor_iri == ALICE
    assert accept.data["object"] == {
        "type": "Follow",
        "id": data["id"],
        "actor": carol.iri,
        "object": ALICE,
    }
    assert accept.object_iri == data["id"]
    assert carol.iri in accept.data["to"]
    (delivery,) = Delivery.objects.all()
    assert delivery.activity == accept
    assert delivery.inbox == "https://remote.example/inbox"  # carol's shared inbox
    assert delivery.state == Delivery.State.PENDING
    (task,) = tasks.results
    assert task.task.module_path == "vox_activity.outgoing.tasks.deliver"
    assert list(task.args) == [delivery.pk]
    assert [e["follow"] for e in received.of("follow_requested")] == [row]
    assert [e["follow"] for e in received.of("follow_accepted")] == [row]
    assert inbox_iris(alice) == [data["id"]]


def test_follow_delivers_accept_to_the_personal_inbox_without_shared_inbox(
    client, alice, db
):
    carol = make_remote("carol", shared_inbox=False)
    post_ok(client, carol.activity("Follow", ALICE), carol)
    (delivery,) = Delivery.objects.all()
    assert delivery.inbox == f"{carol.iri}/inbox"


@pytest.fixture
def manual(monkeypatch):
    monkeypatch.setattr(
        AuthorVox, "manually_approves_followers", lambda self, instance: True
    )


def test_manual_approval_holds_the_follow_until_accepted(
    client, ap_client, alice, carol, received, manual
):
    assert ap_client.get("/~alice/").json()["manuallyApprovesFollowers"] is True
    data = carol.activity("Follow", ALICE)
    post_ok(client, data, carol, path=ALICE_INBOX)
    row = Follow.objects.get()
    assert row.state == PENDING
    assert local_activities("Accept") == []
    assert not Delivery.objects.exists()
    assert [e["follow"] for e in received.of("follow_requested")] == [row]
    assert received.of("follow_accepted") == []
    followers = ap_client.get("/~alice/followers").json()
    assert followers["totalItems"] == 0

    follows.accept(row)

    row.refresh_from_db()
    assert row.state == ACCEPTED
    (accept,) = local_activities("Accept")
    assert accept.data["object"]["id"] == data["id"]
    assert Delivery.objects.get().activity == accept
    assert [e["follow"] for e in received.of("follow_accepted")] == [row]
    assert ap_client.get("/~alice/followers").json()["totalItems"] == 1


def test_manual_approval_reject_sends_reject(client, alice, carol, received, manual):
    data = carol.activity("Follow", ALICE)
    post_ok(client, data, carol, path=ALICE_INBOX)
    row = Follow.objects.get()

    follows.reject(row)

    row.refresh_from_db()
    assert row.state == REJECTED
    assert local_activities("Accept") == []
    (reject,) = local_activities("Reject")
    assert reject.actor_iri == ALICE
    assert reject.data["object"]["id"] == data["id"]
    assert Delivery.objects.get().activity == reject
    assert [e["follow"] for e in received.of("follow_rejected")] == [row]


def test_actor_document_says_followers_are_accepted_automatically_by_default(
    ap_client, alice
):
    assert ap_client.get("/~alice/").json()["manuallyApprovesFollowers"] is False


@pytest.mark.parametrize("form", ["embedded", "iri"])
def test_undo_follow_removes_the_follower(client, alice, carol, received, form):
    follow = carol.activity("Follow", ALICE)
    post_ok(client, follow, carol, path=ALICE_INBOX)
    row = Follow.objects.get()
    obj = follow if form == "embedded" else follow["id"]
    undo = carol.activity("Undo", obj)
    response = post_signed(client, ALICE_INBOX, undo, carol)
    assert response.status_code == 202
    assert not Follow.objects.exists()
    (removed,) = received.of("follow_removed")
    assert (removed["follow"].actor_iri, removed["follow"].object_iri) == (
        row.actor_iri,
        row.object_iri,
    )
    assert Activity.objects.get(iri=follow["id"]).undone_at is not None


def test_undo_of_an_activity_we_never_saw_is_acknowledged(client, alice, carol):
    """Undo{object: "<IRI>"} of an unknown activity: nothing to undo, no crash."""
    undo = carol.activity("Undo", carol.new_iri())
    response = post_signed(client, SHARED, undo, carol)
    assert response.status_code == 202
    assert Activity.objects.filter(iri=undo["id"]).exists()


def test_undo_of_an_embedded_follow_we_never_saw_is_acknowledged(client, alice, carol):
    undo = carol.activity(
        "Undo", {"type": "Follow", "actor": carol.iri, "object": ALICE}
    )
    post_ok(client, undo, carol)
    assert not Follow.objects.exists()


@pytest.mark.parametrize(
    "target",
    [f"{SITE}/~nobody/", ARTICLE, "https://elsewhere.example/users/x", f"{SITE}/"],
)
def test_follow_of_something_that_is_no_local_actor_is_400(
    client, alice, article, carol, received, target
):
    before = row_counts()
    response = post_signed(client, SHARED, carol.activity("Follow", target), carol)
    assert response.status_code == 400
    assert "not an actor on this site" in error_of(response)
    assert row_counts() == before
    assert received.events == []


def test_post_to_the_inbox_of_an_unknown_actor_is_404(client, alice, carol):
    before = row_counts()
    response = post_signed(
        client, "/~nobody/inbox", carol.activity("Follow", ALICE), carol
    )
    assert response.status_code == 404
    assert row_counts() == before


def test_followers_collection_lists_accepted_followers(
    client, ap_client, alice, carol, erin
):
    post_ok(client, carol.activity("Follow", ALICE), carol)
    post_ok(client, erin.activity("Follow", ALICE), erin)
    collection = ap_client.get("/~alice/followers").json()
    assert collection["id"] == ALICE_FOLLOWERS
    assert collection["type"] == "OrderedCollection"
    assert collection["totalItems"] == 2
    page = ap_client.get("/~alice/followers?page=true").json()
    assert page["orderedItems"] == [erin.iri, carol.iri]  # newest first


def test_follow_again_after_accept_is_answered_again(client, alice, carol):
    """A server that lost the Accept asks again: answer again, one row."""
    post_ok(client, carol.activity("Follow", ALICE), carol)
    again = carol.activity("Follow", ALICE)
    post_ok(client, again, carol)
    row = Follow.objects.get()
    assert (row.state, row.activity_iri) == (ACCEPTED, again["id"])
    assert len(local_activities("Accept")) == 2


# --- 6. outgoing follows -----------------------------------------------------


def test_follow_publishes_a_follow_and_the_accept_completes_it(
    client, alice, carol, received, tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = follows.follow(alice, carol.iri)
    assert (row.actor_iri, row.object_iri, row.state) == (ALICE, carol.iri, PENDING)
    assert row.remote_actor == carol.row
    (sent,) = local_activities("Follow")
    assert row.activity_iri == sent.iri
    assert (sent.actor_iri, sent.object_iri) == (ALICE, carol.iri)
    (delivery,) = Delivery.objects.all()
    assert (delivery.activity, delivery.inbox) == (sent, "https://remote.example/inbox")
    assert [list(r.args) for r in tasks.results] == [[delivery.pk]]

    accept = carol.activity("Accept", sent.iri)
    response = post_signed(client, ALICE_INBOX, accept, carol)
    assert response.status_code == 202
    row.refresh_from_db()
    assert row.state == ACCEPTED
    assert row.responded_at is not None
    assert [e["follow"] for e in received.of("follow_accepted")] == [row]
    assert inbox_iris(alice) == [accept["id"]]


@pytest.mark.parametrize("with_id", [True, False])
def test_accept_with_the_follow_embedded(client, alice, carol, with_id):
    row = follows.follow(alice, carol.iri)
    embedded = {"type": "Follow", "actor": ALICE, "object": carol.iri}
    if with_id:
        embedded["id"] = row.activity_iri
    response = post_signed(client, SHARED, carol.activity("Accept", embedded), carol)
    assert response.status_code == 202
    row.refresh_from_db()
    assert row.state == ACCEPTED


def test_reject_marks_our_follow_rejected(client, alice, carol, received):
    row = follows.follow(alice, carol.iri)
    reject = carol.activity("Reject", row.activity_iri)
    post_ok(client, reject, carol)
    row.refresh_from_db()
    assert row.state == REJECTED
    assert [e["follow"] for e in received.of("follow_rejected")] == [row]


def test_accept_from_someone_else_changes_nothing(client, alice, carol, dave):
    row = follows.follow(alice, carol.iri)
    response = post_signed(
        client, SHARED, dave.activity("Accept", row.activity_iri), dave
    )
    assert response.status_code == 202
    row.refresh_from_db()
    assert row.state == PENDING


def test_unfollow_publishes_undo_and_removes_the_row(client, alice, carol, received):
    row = follows.follow(alice, carol.iri)
    post_ok(client, carol.activity("Accept", row.activity_iri), carol)
    Delivery.objects.all().delete()

    assert follows.unfollow(alice, carol.iri) is True

    assert not Follow.objects.exists()
    (undo,) = local_activities("Undo")
    assert undo.actor_iri == ALICE
    assert undo.data["object"] == {
        "type": "Follow",
        "actor": ALICE,
        "object": carol.iri,
        "id": row.activity_iri,
    }
    assert Delivery.objects.get().activity == undo
    assert [e["follow"].object_iri for e in received.of("follow_removed")] == [
        carol.iri
    ]
    assert follows.unfollow(alice, carol.iri) is False


def test_client_to_server_follow_and_undo(client, ap_client, bob, carol):
    client.force_login(bob)
    response = client.post(
        "/~bob/outbox", {"type": "Follow", "object": carol.iri}, content_type=AP
    )
    assert response.status_code == 201, response.content
    row = Follow.objects.get()
    assert (row.actor_iri, row.object_iri, row.state) == (BOB, carol.iri, PENDING)
    assert response["Location"] == row.activity_iri
    assert Activity.objects.get(iri=row.activity_iri).type == "Follow"
    assert ap_client.get("/~bob/following").json()["totalItems"] == 0

    accept = carol.activity("Accept", row.activity_iri)
    assert post_signed(client, "/~bob/inbox", accept, carol).status_code == 202
    following = ap_client.get("/~bob/following").json()
    assert following["totalItems"] == 1
    page = ap_client.get("/~bob/following?page=true").json()
    assert page["orderedItems"] == [carol.iri]

    undo = {"type": "Undo", "object": {"type": "Follow", "object": carol.iri}}
    response = client.post("/~bob/outbox", undo, content_type=AP)
    assert response.status_code == 204
    assert not Follow.objects.exists()
    assert local_activities("Undo")[0].data["object"]["id"] == row.activity_iri
    assert ap_client.get("/~bob/following").json()["totalItems"] == 0
    again = client.post("/~bob/outbox", undo, content_type=AP)
    assert again.status_code == 404


# --- 7. objects --------------------------------------------------------------


def test_create_update_delete_of_a_remote_note(client, alice, carol):
    note = carol.note(content="v1")
    post_ok(client, carol.activity("Create", note), carol)
    stored = StoredObject.objects.get(iri=note["id"])
    assert (stored.owner_iri, stored.type, stored.data, stored.local) == (
        carol.iri,
        "Note",
        note,
        False,
    )

    changed = {**note, "content": "v2"}
    response = post_signed(client, SHARED, carol.activity("Update", changed), carol)
    assert response.status_code == 202
    stored.refresh_from_db()
    assert stored.data["content"] == "v2"

    response = post_signed(client, SHARED, carol.activity("Delete", note["id"]), carol)
    assert response.status_code == 202
    stored.refresh_from_db()
    assert stored.deleted_at is not None
    assert stored.data["type"] == "Tombstone"
    assert (stored.data["id"], stored.data["formerType"]) == (note["id"], "Note")

    late = post_signed(client, SHARED, carol.activity("Update", changed), carol)
    assert late.status_code == 410


def test_delete_with_an_embedded_tombstone(client, alice, carol):
    note = carol.note()
    post_ok(client, carol.activity("Create", note), carol)
    tombstone = {"id": note["id"], "type": "Tombstone"}
    response = post_signed(client, SHARED, carol.activity("Delete", tombstone), carol)
    assert response.status_code == 202
    assert StoredObject.objects.get().deleted_at is not None


@pytest.mark.parametrize("verb", ["Update", "Delete"])
def test_only_the_owner_may_update_or_delete(
    client, alice, carol, dave, received, verb
):
    note = carol.note(content="mine")
    post_ok(client, carol.activity("Create", note), carol)
    before = row_counts()
    received.events.clear()
    obj = {**note, "content": "hijacked"} if verb == "Update" else note["id"]
    response = post_signed(client, SHARED, dave.activity(verb, obj), dave)
    assert response.status_code == 403
    assert "owner" in error_of(response)
    assert row_counts() == before
    stored = StoredObject.objects.get()
    assert (stored.data["content"], stored.deleted_at) == ("mine", None)
    assert received.events == []


def test_update_of_an_object_on_another_server_is_400(client, alice, carol, erin):
    note = carol.note()
    post_ok(client, carol.activity("Create", note), carol)
    before = row_counts()
    response = post_signed(client, SHARED, erin.activity("Update", note), erin)
    assert response.status_code == 400
    assert '"object.id"' in error_of(response)
    assert row_counts() == before


def test_create_of_an_object_someone_else_created_is_403(client, alice, carol, dave):
    note = carol.note()
    post_ok(client, carol.activity("Create", note), carol)
    before = row_counts()
    stolen = {**note, "attributedTo": dave.iri}
    response = post_signed(client, SHARED, dave.activity("Create", stolen), dave)
    assert response.status_code == 403
    assert row_counts() == before
    assert StoredObject.objects.get().owner_iri == carol.iri


def test_profile_update_applies_the_signed_document(client, alice, carol, fetches):
    """The actor signed its own new profile: applied as is, no fetch needed."""
    update = carol.activity("Update", {**carol.document, "name": "Carol, renamed"})
    post_ok(client, update, carol)
    assert fetches.calls == []
    assert carol.refresh().row.data["name"] == "Carol, renamed"


def test_profile_update_by_reference_refetches_at_most_once_a_minute(
    client, alice, fetches, db
):
    carol = make_remote("carol", fetched_at=a_while_ago())
    fetches.serve({**carol.document, "name": "Carol, renamed"})
    post_ok(client, carol.activity("Update", carol.iri), carol)
    assert fetches.calls == [carol.iri]
    assert carol.refresh().row.data["name"] == "Carol, renamed"
    post_ok(client, carol.activity("Update", carol.iri), carol)
    assert fetches.calls == [carol.iri]  # just fetched: not again


def test_profile_update_with_a_bad_document_is_400(client, alice, carol):
    before = row_counts()
    bad = {**carol.document, "inbox": None}
    response = post_signed(client, SHARED, carol.activity("Update", bad), carol)
    assert response.status_code == 400
    assert "inbox" in error_of(response)
    assert row_counts() == before


def test_account_delete_marks_the_actor_gone_and_ends_its_follows(
    client, alice, bob, carol, received
):
    follow_from(carol, ALICE)
    follow_of(carol, BOB)
    response = post_signed(client, SHARED, carol.activity("Delete", carol.iri), carol)
    assert response.status_code == 202
    assert carol.refresh().row.gone_at is not None
    assert not Follow.objects.exists()
    assert len(received.of("follow_removed")) == 2


def test_deleted_local_object_answers_410_with_a_tombstone(
    client, ap_client, alice, article
):
    publish_article("hello")
    assert StoredObject.objects.get(iri=ARTICLE).local is True
    assert ap_client.get("/articles/hello/").status_code != 410

    publish({"type": "Delete", "actor": ALICE, "object": ARTICLE})

    response = ap_client.get("/articles/hello/")
    assert response.status_code == 410
    assert response["Content-Type"].startswith(AP)
    tombstone = response.json()
    assert (tombstone["id"], tombstone["type"], tombstone["formerType"]) == (
        ARTICLE,
        "Tombstone",
        "Article",
    )
    assert tombstone["deleted"]
    html = client.get("/articles/hello/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")


def test_deleted_local_object_without_a_row_answers_410(ap_client, client, alice):
    publish_article("gone")
    publish({"type": "Delete", "actor": ALICE, "object": f"{SITE}/articles/gone/"})
    assert ap_client.get("/articles/gone/").status_code == 410
    assert client.get("/articles/gone/", HTTP_ACCEPT="text/html").status_code == 404


# --- 8. likes, announces and undo -------------------------------------------


@pytest.mark.parametrize("verb", ["Like", "Announce"])
def test_like_or_announce_of_a_local_article_reaches_its_author(
    client, alice, bob, article, carol, verb
):
    publish_article()
    data = carol.activity(verb, ARTICLE)
    assert "to" not in data and "cc" not in data
    response = post_signed(client, SHARED, data, carol)
    assert response.status_code == 202
    assert inbox_iris(alice) == [data["id"]]
    assert inbox_iris(bob) == []


def test_undo_like_marks_it_undone(client, alice, article, carol):
    publish_article()
    like = carol.activity("Like", ARTICLE)
    post_ok(client, like, carol)
    response = post_signed(client, SHARED, carol.activity("Undo", like), carol)
    assert response.status_code == 202
    assert Activity.objects.get(iri=like["id"]).undone_at is not None


def test_undo_by_another_actor_is_403(client, alice, article, carol, dave, received):
    publish_article()
    like = carol.activity("Like", ARTICLE)
    post_ok(client, like, carol)
    before = row_counts()
    received.events.clear()
    response = post_signed(client, SHARED, dave.activity("Undo", like["id"]), dave)
    assert response.status_code == 403
    assert "Only the actor" in error_of(response)
    assert row_counts() == before
    assert Activity.objects.get(iri=like["id"]).undone_at is None
    assert received.events == []


# --- 9. blocks and flags ------------------------------------------------------


def test_block_ends_follows_and_stops_deliveries_to_the_blocker(
    client, alice, carol, erin, received
):
    follow_from(carol, ALICE)
    follow_of(carol, ALICE)
    follow_from(erin, ALICE)
    block = carol.activity("Block", ALICE)
    response = post_signed(client, SHARED, block, carol)
    assert response.status_code == 202
    row = Block.objects.get()
    assert (row.actor_iri, row.object_iri, row.activity_iri) == (
        carol.iri,
        ALICE,
        block["id"],
    )
    assert list(Follow.objects.values_list("actor_iri", flat=True)) == [erin.iri]
    assert len(received.of("follow_removed")) == 2

    # Even with a follow back in place, and addressed directly, nothing goes
    # from alice to the server of whoever blocked her.
    follow_from(carol, ALICE)
    post = publish(
        {
            "type": "Create",
            "actor": ALICE,
            "to": [PUBLIC],
            "cc": [ALICE_FOLLOWERS, carol.iri],
            "object": {"id": f"{SITE}/articles/new/", "type": "Article"},
        }
    )
    inboxes = set(
        Delivery.objects.filter(activity=post).values_list("inbox", flat=True)
    )
    assert inboxes == {"https://other.example/inbox"}


def test_undo_block_removes_the_block(client, alice, carol):
    block = carol.activity("Block", ALICE)
    post_ok(client, block, carol)
    post_ok(client, carol.activity("Undo", block), carol)
    assert not Block.objects.exists()


def test_block_of_a_non_actor_is_400(client, alice, article, carol):
    before = row_counts()
    response = post_signed(client, SHARED, carol.activity("Block", ARTICLE), carol)
    assert response.status_code == 400
    assert row_counts() == before


def test_flag_is_stored_and_listed_in_the_admin(
    client, admin_client, alice, article, carol
):
    flag = carol.activity("Flag", [ALICE, ARTICLE], content="Spam, from a bot")
    like = carol.activity("Like", ARTICLE)
    post_ok(client, flag, carol)
    post_ok(client, like, carol)
    stored = Activity.objects.get(iri=flag["id"])
    assert (stored.type, stored.local, stored.actor_iri) == ("Flag", False, carol.iri)
    listing = admin_client.get("/admin/vox_activity/activity/?type__exact=Flag")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert flag["id"] in html
    assert like["id"] not in html


@pytest.mark.parametrize("reported", [ALICE, [ALICE, ARTICLE]])
def test_a_report_is_not_shown_to_the_reported_actor(
    client, alice, article, carol, reported
):
    """A Flag is for moderators: it must not land in the reported actor's
    inbox, where alice could read who reported her and why."""
    flag = carol.activity("Flag", reported, content="Spam, from a bot")
    post_ok(client, flag, carol, path=ALICE_INBOX)
    assert Activity.objects.filter(iri=flag["id"], type="Flag").exists()
    assert inbox_iris(alice) == []


# --- 10. moves ---------------------------------------------------------------


def _move(old: Remote, new: Remote) -> dict:
    return old.activity("Move", old.iri, target=new.iri)


def test_move_leaves_the_moved_accounts_own_follows_alone(
    client, alice, carol, db, fetches
):
    """carol followed alice; the new account erin did not, so erin does not
    start receiving alice's posts (only followers of carol move)."""
    new = make_remote("erin", "other.example", key=2, alsoKnownAs=[carol.iri])
    row = follow_from(carol, ALICE)
    response = post_signed(client, SHARED, _move(carol, new), carol)
    assert response.status_code == 202
    row.refresh_from_db()
    assert (row.actor_iri, row.state) == (carol.iri, ACCEPTED)
    assert not Follow.objects.filter(actor_iri=new.iri).exists()
    assert fetches.calls == []  # both cached, the alias already there


def test_move_refetches_a_target_whose_alias_is_new(client, alice, carol, db, fetches):
    new = make_remote("erin", "other.example", key=2)
    fetches.serve({**new.document, "alsoKnownAs": [carol.iri]})
    follow_of(carol, ALICE)
    post_ok(client, _move(carol, new), carol)
    assert fetches.calls == [new.iri]
    assert Follow.objects.filter(actor_iri=ALICE, object_iri=new.iri).exists()
    assert not Follow.objects.filter(actor_iri=ALICE, object_iri=carol.iri).exists()


def test_move_to_an_account_without_the_alias_is_400(
    client, alice, carol, erin, fetches, received
):
    fetches.serve(erin.document)  # refetched, still no alsoKnownAs
    row = follow_from(carol, ALICE)
    before = row_counts()
    response = post_signed(client, SHARED, _move(carol, erin), carol)
    assert response.status_code == 400
    assert "alsoKnownAs" in error_of(response)
    assert fetches.calls == [erin.iri]
    assert row_counts() == before
    row.refresh_from_db()
    assert row.actor_iri == carol.iri
    assert received.events == []


def test_move_of_someone_else_is_403(client, alice, carol, dave, erin):
    before = row_counts()
    response = post_signed(
        client, SHARED, carol.activity("Move", dave.iri, target=erin.iri), carol
    )
    assert response.status_code == 403
    assert row_counts() == before


def test_move_makes_local_followers_follow_the_new_account(
    client, alice, bob, carol, db, fetches
):
    """Mastodon's (and FEP-7628's) meaning of Move: the followers of the old
    account follow the new one.  bob followed carol; after carol's Move to
    erin, bob has a follow of erin, and erin was sent a Follow."""
    new = make_remote("erin", "other.example", key=2, alsoKnownAs=[carol.iri])
    follow_of(carol, BOB)
    post_ok(client, _move(carol, new), carol)
    assert Follow.objects.filter(actor_iri=BOB, object_iri=new.iri).exists()
    sent = [a for a in local_activities("Follow") if a.object_iri == new.iri]
    assert len(sent) == 1
    assert Delivery.objects.filter(activity=sent[0]).exists()


@pytest.mark.parametrize("kind", ["move", "profile-update"])
def test_no_database_transaction_is_open_while_fetching(
    transactional_db, alice, monkeypatch, kind
):
    """publish.py's rule: network I/O must not hold a transaction open.  The
    inbox's side effects fetch actors inside the storing transaction."""
    carol = make_remote("carol", fetched_at=a_while_ago())
    new = make_remote("erin", "other.example", key=2)
    in_transaction = []

    def fetch(method, url, **kwargs):
        in_transaction.append(connection.in_atomic_block)
        document = {**(new.document if url == new.iri else carol.document)}
        document["alsoKnownAs"] = [carol.iri]
        return http.Response(200, {}, json.dumps(document).encode(), url)

    monkeypatch.setattr(http, "request", fetch)
    # A profile Update by reference (not embedded) is what needs a refetch.
    update = carol.activity("Update", carol.iri)
    data = _move(carol, new) if kind == "move" else update
    response = post_signed(Client(), SHARED, data, carol)
    assert response.status_code == 202
    assert in_transaction == [False]


# --- 11. the django-vox convention: activity_<type> on the object ------------


def test_remote_like_calls_the_objects_activity_like(
    client, alice, article, carol, monkeypatch
):
    calls = []

    def activity_like(self, data, actor):
        calls.append((self, data, actor))

    monkeypatch.setattr(Article, "activity_like", activity_like, raising=False)
    like = carol.activity("Like", ARTICLE)
    post_ok(client, like, carol)
    assert len(calls) == 1
    (target, data, actor) = calls[0]
    assert target == article
    assert data == like
    assert isinstance(actor, RemoteActor)
    assert actor == carol.row


def test_a_remote_delete_of_a_local_object_never_reaches_its_method(
    client, alice, article, carol, monkeypatch
):
    """The outbox calls activity_<type> only for the object's owner, so a site
    may trust its caller there; the inbox calls the same method for anyone.
    A Delete of alice's article by a stranger (no StoredObject says who owns
    it: the article was never published as an activity) must not be handed on."""
    calls = []
    monkeypatch.setattr(
        Article,
        "activity_delete",
        lambda self, data, actor: calls.append(actor),
        raising=False,
    )
    response = post_signed(client, SHARED, carol.activity("Delete", ARTICLE), carol)
    assert calls == []
    assert response.status_code in (202, 403)
    assert Article.objects.filter(pk=article.pk).exists()


# --- 12. property-based: whatever arrives, no 5xx, nothing written ----------

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


@pytest.fixture
def offline(monkeypatch):
    """Every fetch of an unknown key fails, as when its server is down."""
    attempts = []

    def fetch(method, url, **kwargs):
        attempts.append(url)
        raise http.ConnectError(f"{url}: offline in this test", url=url)

    monkeypatch.setattr(http, "request", fetch)
    return attempts


@FUZZ
@given(
    path=st.sampled_from(INBOXES),
    body=BODIES,
    headers=HEADERS,
    content_type=CONTENT_TYPES,
)
def test_fuzz_unsigned_or_garbage_input_is_4xx_and_writes_nothing(
    client, alice, carol, offline, path, body, headers, content_type
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
def test_fuzz_signed_activities_never_crash(client, alice, carol, offline, path, data):
    """Validly signed by a known actor, any activity-shaped JSON: a 202, or a
    4xx with nothing written."""
    before = row_counts()
    response = post_signed(client, path, data, carol)
    status = response.status_code
    assert status == 202 or 400 <= status < 500, (status, response.content)
    if status != 202:
        assert row_counts() == before
