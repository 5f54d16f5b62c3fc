"""vox_activity.diagnostics on remote actors: findings (codes and levels).

Remote actors live on the fake servers of ``tests.fediverse``: their
documents, keys and WebFinger answers, every problem reported at once, and
the test delivery (a signed POST, and what each answer to it means).
"""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from vox_activity.diagnostics import Level, check_actor
from vox_activity.diagnostics.channels import Answer
from vox_activity.diagnostics.probe import clock_skew, read_answer

from .fediverse import Fediverse, Reply, closed_port, json_reply
from .support.constants import AP, AS_CONTEXT
from .support.diagnostics import (
    INSTANCE,
    PEM,
    REAL_KEYS,
    add,
    codes,
    not_ok,
    one,
    reach_fake_servers,
)

#: The diagnostics judge key sizes (below 2048 bits is a warning): real ones.
pytestmark = pytest.mark.usefixtures("real_key_size")


# --- remote actors ------------------------------------------------------------


@pytest.fixture
def fediverse(httpsig, settings):
    reach_fake_servers(settings)
    net = Fediverse(httpsig)
    yield net
    net.close()


@pytest.fixture
def server(fediverse):
    return fediverse.server()


GOOD_REMOTE = [
    "webfinger.ok",
    "fetch.ok",
    "actor.id.ok",
    "actor.type.ok",
    "actor.inbox.ok",
    "actor.outbox.ok",
    "actor.followers.ok",
    "actor.key.ok",
    "actor.pem.ok",
    "actor.username.ok",
    "actor.shared-inbox.ok",
    "actor.context.ok",
    "actor.https.off",  # the fake servers speak plain http
    "webfinger.name.ok",
    "webfinger.back.ok",
    "actor.accepted",
]


@pytest.mark.django_db
def test_a_good_remote_actor_by_acct(server):
    iri = add(server, followers=server.url("/users/alice/followers"))
    findings = list(check_actor(f"acct:alice@{server.domain}"))

    assert codes(findings) == GOOD_REMOTE
    assert not_ok(findings) == ["actor.https.off"]
    assert one(findings, "webfinger.ok").message == (
        f"acct:alice@{server.domain} → {iri} (self link, {AP})"
    )
    assert one(findings, "actor.pem.ok").message == "RSA, 2048 bits."
    assert server.shared_inbox in one(findings, "actor.accepted").message
    assert server.posts() == []  # nothing delivered without deliver=True
    # The fetch was signed by the instance actor, as every fetch.
    (get,) = server.gets("/users/alice")
    assert get.key_id == f"{INSTANCE}#main-key"


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["@{name}@{host}", "{name}@{host}", "{iri}"])
def test_other_ways_to_name_a_remote_actor(server, form):
    iri = add(server)
    target = form.format(name="alice", host=server.domain, iri=iri)
    findings = list(check_actor(target))
    assert not_ok(findings) == ["actor.followers.missing", "actor.https.off"]
    assert one(findings, "webfinger.back.ok")
    assert ("webfinger.name.ok" in codes(findings)) == (form != "{iri}")


@pytest.mark.django_db
def test_every_problem_validate_actor_finds_is_reported_at_once(server):
    """validate_actor stops at the first problem; the report names each."""
    other = server.iri("mallory")
    add(
        server,
        type="Note",
        inbox=None,
        publicKey={"id": f"{other}#main-key", "owner": other, "publicKeyPem": PEM},
    )
    findings = list(check_actor(server.iri("alice")))
    assert {"actor.type.invalid", "actor.inbox.missing", "actor.key.invalid"} <= set(
        not_ok(findings)
    )
    assert "actor.pem.ok" not in codes(findings)  # a refused key is not read on
    assert "says it belongs to" in one(findings, "actor.key.invalid").message
    assert "'Note', not an actor" in one(findings, "actor.type.invalid").message
    assert one(findings, "actor.rejected").level is Level.ERROR


@pytest.mark.django_db
def test_wrong_id(server):
    add(server, id="https://elsewhere.example/users/alice")
    findings = list(check_actor(f"acct:alice@{server.domain}"))
    mismatch = one(findings, "actor.id.mismatch")
    assert "https://elsewhere.example/users/alice" in mismatch.message
    assert "serve the actor at its id" in mismatch.hint
    assert "served from its own id" in one(findings, "actor.rejected").message
    assert "fetch.canonical" not in codes(findings)  # another server: not followed


@pytest.mark.django_db
def test_id_elsewhere_on_the_same_server_is_fetched(server):
    """As vox_activity does: a profile URL may name the canonical id."""
    iri = add(server)
    server.actors["profile"] = server.actors["alice"]
    findings = list(check_actor(server.iri("profile")))
    assert codes(findings)[:3] == ["fetch.ok", "fetch.canonical", "fetch.ok"]
    assert iri in one(findings, "fetch.canonical").message
    assert one(findings, "actor.id.ok")
    assert not [f for f in findings if f.level is Level.ERROR]


@pytest.mark.django_db
def test_id_elsewhere_on_the_same_server_that_is_not_there(server):
    add(server, id=server.iri("someone-else"))
    findings = list(check_actor(f"acct:alice@{server.domain}"))
    assert codes(findings) == [
        "webfinger.ok",
        "fetch.ok",
        "fetch.canonical",
        "fetch.gone",
    ]


@pytest.mark.django_db
def test_key_details(server):
    iri = server.iri("alice")
    add(server, publicKey={"id": f"{iri}#main-key", "publicKeyPem": "not a key"})
    findings = list(check_actor(iri))
    assert one(findings, "actor.key.owner-missing").level is Level.WARNING
    assert "BEGIN PUBLIC KEY" in one(findings, "actor.pem.invalid").hint
    assert one(findings, "actor.accepted")  # vox_activity does not parse it


@pytest.mark.django_db
def test_small_key_elsewhere(server):
    """The fake server's own keys are 1024 bits; and a key in another document."""
    iri = server.add_actor("alice")
    server.actors["alice"]["publicKey"]["id"] = server.url("/keys/1")
    findings = list(check_actor(iri))
    assert one(findings, "actor.pem.weak").message == "RSA, 1024 bits."
    assert one(findings, "actor.key.elsewhere")


@pytest.mark.django_db
def test_key_that_is_not_rsa(server):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    iri = server.iri("alice")
    add(server, publicKey={"id": f"{iri}#main-key", "owner": iri, "publicKeyPem": pem})
    findings = list(check_actor(iri))
    assert one(findings, "actor.pem.not-rsa").level is Level.ERROR


@pytest.mark.django_db
def test_no_public_key_and_no_contexts(server):
    add(server, publicKey=None, **{"@context": "https://example.com/x"})
    findings = list(check_actor(server.iri("alice")))
    assert {"actor.key.invalid", "actor.context.missing"} <= set(not_ok(findings))


@pytest.mark.django_db
def test_no_shared_inbox_no_followers_are_warnings(server):
    iri = add(server, shared_inbox=False)
    findings = list(check_actor(iri))
    assert not_ok(findings) == [
        "actor.followers.missing",
        "actor.shared-inbox.missing",
        "actor.https.off",
    ]
    assert f"deliver to {iri}/inbox." in one(findings, "actor.accepted").message


@pytest.mark.django_db
def test_missing_security_context_and_a_name_that_does_not_lead_back(server):
    add(server, preferredUsername="Alice2", **{"@context": AS_CONTEXT})
    findings = list(check_actor(f"acct:alice@{server.domain}"))
    assert one(findings, "actor.context.no-security").level is Level.WARNING
    assert one(findings, "webfinger.name.differs").level is Level.WARNING
    # Mastodon would look up Alice2@host, which does not exist there.
    assert f"acct:Alice2@{server.domain}" in one(findings, "webfinger.status").message
    assert one(findings, "webfinger.back.failed").level is Level.ERROR


@pytest.mark.django_db
def test_a_name_that_leads_to_another_actor(server):
    add(server, preferredUsername="bob")
    bob = add(server, "bob")
    findings = list(check_actor(server.iri("alice")))
    mismatch = one(findings, "webfinger.back.mismatch")
    assert f"leads to {bob}, not to {server.iri('alice')}" in mismatch.message


@pytest.mark.django_db
def test_unknown_account(server):
    findings = list(check_actor(f"acct:nobody@{server.domain}"))
    assert codes(findings) == ["webfinger.status"]
    assert "HTTP 404" in findings[0].message
    assert "no such account" in findings[0].hint


@pytest.mark.django_db
def test_actor_that_is_gone(server):
    findings = list(check_actor(server.iri("nobody")))
    assert codes(findings) == ["fetch.gone"]
    assert "deleted account" in findings[0].hint


def jrd(server, links):
    return json_reply({"subject": f"acct:alice@{server.domain}", "links": links})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (
            lambda s: jrd(
                s, [{"rel": "self", "type": "text/html", "href": s.iri("alice")}]
            ),
            "webfinger.self-link.invalid",
        ),
        (
            lambda s: jrd(s, [{"rel": "profile", "href": "x"}]),
            "webfinger.self-link.missing",
        ),
        (lambda s: Reply(200, body=b"<html>"), "webfinger.not-jrd"),
        (lambda s: Reply(500, body=b"oops"), "webfinger.status"),
    ],
)
def test_unusable_webfinger_answers(server, reply, code):
    add(server)
    server.routes["/.well-known/webfinger"] = reply(server)
    findings = list(check_actor(f"acct:alice@{server.domain}"))
    assert codes(findings) == [code]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply(401, body=b'{"error": "Request not signed"}'), "fetch.refused"),
        (Reply(403), "fetch.refused"),
        (Reply(503), "fetch.server-error"),
        (Reply(400), "fetch.status"),
        (Reply(200, body=b"<html>profile</html>"), "fetch.not-json"),
        (json_reply([1, 2]), "fetch.not-json"),
    ],
)
def test_unusable_fetches(server, reply, code):
    iri = add(server)
    server.routes["/users/alice"] = reply
    findings = list(check_actor(iri))
    assert codes(findings) == [code]
    if code == "fetch.refused":
        assert "authorized fetch" in findings[0].hint
        assert INSTANCE in findings[0].hint


@pytest.mark.django_db
def test_private_address_guard(server, settings):
    iri = add(server)
    settings.VOX_ACTIVITY = {**REAL_KEYS}
    findings = list(check_actor(iri))
    assert codes(findings) == ["fetch.blocked"]
    assert 'VOX_ACTIVITY["ALLOW_PRIVATE_ADDRESSES"]' in findings[0].hint


@pytest.mark.django_db
def test_nothing_answers(fediverse):
    host = f"127.0.0.1:{closed_port()}"
    assert codes(check_actor(f"http://{host}/users/alice")) == ["fetch.unreachable"]
    assert codes(check_actor(f"@alice@{host}")) == ["webfinger.unreachable"]


# --- the test delivery --------------------------------------------------------


@pytest.fixture
def trusted(fediverse, client):
    """The fake servers check signatures with our actors' published keys."""

    def trust(path):
        document = client.get(path, HTTP_ACCEPT=AP).json()
        return fediverse.trust(document)

    return trust


@pytest.mark.django_db
def test_deliver_accepted(server, trusted):
    trusted("/activitypub/actor")
    iri = add(server)
    findings = list(check_actor(iri, deliver=True))
    accepted = one(findings, "deliver.accepted")
    assert accepted.message.startswith(
        f"POST {iri}/inbox (signed as {INSTANCE}#main-key): HTTP 202, accepted"
    )
    (post,) = server.posts()
    assert post.verified, post.problem
    activity = post.json()
    assert activity["type"] == "Delete"
    assert activity["actor"] == INSTANCE
    # A Delete of nothing, on our site: not the actor itself.
    assert activity["object"].startswith("http://testserver/vox-activity-check/")
    assert "to" not in activity  # in nobody's inbox
    assert "deliver.clock-skew" not in codes(findings)


@pytest.mark.django_db
def test_deliver_as_a_local_actor(server, trusted, alice):
    trusted("/~alice/")
    iri = add(server)
    findings = list(check_actor(iri, deliver=True, sign_as="alice"))
    assert one(findings, "deliver.accepted")
    (post,) = server.posts()
    assert post.verified, post.problem
    assert post.key_id == "http://testserver/~alice/#main-key"
    assert post.json()["actor"] == "http://testserver/~alice/"


@pytest.mark.django_db
def test_deliver_rejected_signature(server):
    """Nobody told the fake server our key: it answers 401 with its reasons."""
    add(server)
    server.reply_with(Reply(401, body=b'{"error": "Verification failed for key"}'))
    findings = list(check_actor(f"acct:alice@{server.domain}", deliver=True))
    rejected = one(findings, "deliver.signature-rejected")
    assert "Verification failed for key" in rejected.message
    for advice in (
        "clock",
        "SITE_DOMAIN",
        "Host",
        "vox_activity_check /activitypub/actor",
    ):
        assert advice in rejected.hint


@pytest.mark.django_db
def test_deliver_not_attempted_without_inbox(server):
    add(server, inbox=None)
    findings = list(check_actor(server.iri("alice"), deliver=True))
    assert codes(findings)[-1] == "deliver.skipped"
    assert server.posts() == []


@pytest.mark.django_db
def test_deliver_to_nowhere(server):
    add(server, inbox=f"http://127.0.0.1:{closed_port()}/inbox", shared_inbox=False)
    findings = list(check_actor(server.iri("alice"), deliver=True))
    assert codes(findings)[-1] == "deliver.unreachable"


NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def answer(status, body=b"", date=NOW):
    headers = {"Date": format_datetime(date, usegmt=True)} if date else {}
    return Answer(status, body, "https://remote.example/inbox", headers)


def read(status, **kwargs):
    return list(
        read_answer(
            answer(status, **kwargs),
            "https://remote.example/inbox",
            INSTANCE,
            f"{INSTANCE}#main-key",
            NOW,
        )
    )


@pytest.mark.parametrize(
    ("status", "code", "level"),
    [
        (200, "deliver.accepted", Level.OK),
        (202, "deliver.accepted", Level.OK),
        (401, "deliver.signature-rejected", Level.ERROR),
        (400, "deliver.refused", Level.ERROR),
        (403, "deliver.refused", Level.ERROR),
        (404, "deliver.refused", Level.ERROR),
        (410, "deliver.refused", Level.ERROR),
        (302, "deliver.refused", Level.ERROR),
        (429, "deliver.rate-limited", Level.WARNING),
        (501, "deliver.refused", Level.ERROR),
        (503, "deliver.server-error", Level.ERROR),
    ],
)
def test_what_delivery_answers_mean(status, code, level):
    (finding,) = read(status, body=b'{"error": "because"}')
    assert (finding.code, finding.level) == (code, level)
    assert f"HTTP {status}" in finding.message
    if code != "deliver.accepted":
        assert finding.message.endswith(': {"error": "because"}')
        assert finding.hint


def test_clock_skew_is_reported_beyond_a_minute():
    two_hours_ahead = NOW + timedelta(hours=2)
    (_, skew) = read(401, date=two_hours_ahead)
    assert skew.code == "deliver.clock-skew"
    assert "-7200 s off" in skew.message
    assert len(read(401, date=NOW - timedelta(seconds=59))) == 1
    assert len(read(401, date=None)) == 1


def test_clock_skew_reading():
    assert clock_skew("Thu, 02 Jan 2025 03:03:05 GMT", NOW) == 60
    assert clock_skew("not a date", NOW) is None
    assert clock_skew(None, NOW) is None
