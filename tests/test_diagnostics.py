"""vox_activity.diagnostics: findings (codes and levels) for remote and local actors.

Remote actors live on the fake servers of ``tests.fediverse``; local ones are
this test site's, reached over HTTP (a live server) or through Django.
"""

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from vox_activity import diagnostics
from vox_activity.diagnostics import (
    CODES,
    Level,
    LocalTarget,
    RemoteTarget,
    TargetError,
    check_actor,
    resolve,
    resolve_local,
)
from vox_activity.diagnostics.channels import Answer
from vox_activity.diagnostics.probe import clock_skew, read_answer
from vox_activity.diagnostics.validation import problems
from vox_activity.net import http as vox_http

from .fediverse import Fediverse, Reply, closed_port, json_reply
from .settings import SUITE_VOX_ACTIVITY
from .support.constants import AP, AS_CONTEXT

#: The diagnostics judge key sizes (below 2048 bits is a warning): real ones.
REAL_KEYS = {**SUITE_VOX_ACTIVITY, "KEY_SIZE": 2048}


@pytest.fixture(autouse=True)
def real_key_size(settings):
    settings.VOX_ACTIVITY = {**settings.VOX_ACTIVITY, "KEY_SIZE": 2048}


DATA = Path(__file__).parent / "data"
PEM = (DATA / "test_only_rsa_public.pem").read_text()
DOCS = Path(__file__).parent.parent / "docs" / "troubleshooting.rst"
INSTANCE = "http://testserver/activitypub/actor"


def codes(findings):
    """The codes, in order."""
    return [finding.code for finding in findings]


def one(findings, code):
    """The finding with ``code`` (exactly one)."""
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, f"{code} in {codes(findings)}"
    return matching[0]


def not_ok(findings):
    return [finding.code for finding in findings if finding.level is not Level.OK]


# --- remote actors ------------------------------------------------------------


@pytest.fixture
def fediverse(httpsig, settings):
    settings.VOX_ACTIVITY = {
        **REAL_KEYS,
        "ALLOW_PRIVATE_ADDRESSES": True,
        "HTTP_CONNECT_TIMEOUT": 0.5,
        "HTTP_READ_TIMEOUT": 0.5,
        "HTTP_TOTAL_TIMEOUT": 2.0,
    }
    settings.SITE_SSL = False  # WebFinger over http, as the fake servers
    net = Fediverse(httpsig)
    yield net
    net.close()


@pytest.fixture
def server(fediverse):
    return fediverse.server()


def add(server, name="alice", **changes):
    """An actor whose key is a 2048-bit RSA key (the fake servers' are smaller)."""
    iri = server.iri(name)
    key = {"id": f"{iri}#main-key", "owner": iri, "publicKeyPem": PEM}
    return server.add_actor(name, **{"publicKey": key, **changes})


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


# --- validate_actor's problems, reported -------------------------------------


def test_problems_name_each_field_validate_actor_refuses():
    iri = "https://remote.example/users/alice"
    document = {"id": iri, "type": "Note", "inbox": "mailto:x", "publicKey": {}}
    assert [p.code for p in problems(document, iri)] == [
        "actor.type.invalid",
        "actor.inbox.missing",
        "actor.key.invalid",
    ]
    assert [p.field for p in problems(document, iri + "/")] == [
        "id",
        "type",
        "inbox",
        "publicKey",
    ]


def test_the_verdict_is_validate_actors_own(monkeypatch):
    """Whatever validate_actor refuses fails the report with its reason."""
    from vox_activity.diagnostics import document
    from vox_activity.exceptions import RemoteActorError

    def stricter(data, fetched_from):
        raise RemoteActorError("a new rule")

    monkeypatch.setattr("vox_activity.diagnostics.validation.validate_actor", stricter)
    iri = "https://remote.example/users/alice"
    data = {"id": iri, "type": "Person", "inbox": iri + "/inbox"}
    (rejected,) = document.check_verdict(data, iri, local=False)
    assert rejected.code == "actor.rejected"
    assert rejected.message.endswith("a new rule")


# --- which actor --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "address",
    [
        "/~alice/",
        "/~alice",
        "http://testserver/~alice/",
        "acct:alice@testserver",
        "@alice@TestServer",
        "alice@testserver",
        "alice",  # issue 11 E: a bare local username
        "@alice",
        "ALICE",
    ],
)
def test_local_addresses(settings, alice, address):
    settings.SITE_SSL = False
    assert resolve(address) == LocalTarget("http://testserver/~alice/", alice)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "address", ["/activitypub/actor", "acct:testserver@testserver", "testserver"]
)
def test_the_instance_actor_by_address(settings, address):
    settings.SITE_SSL = False
    target = resolve(address)
    assert (target.iri, target.is_instance) == (INSTANCE, True)


@pytest.mark.django_db
def test_remote_addresses():
    assert resolve("@alice@social.example") == RemoteTarget(
        "@alice@social.example", acct=("alice", "social.example")
    )
    iri = "https://social.example/users/alice"
    assert resolve(iri) == RemoteTarget(iri, iri=iri)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("/~nobody/", "not a local actor: no registered model's regex"),
        ("nobody", "no registered actor has the username 'nobody'"),
        ("acct:nobody@testserver", "no registered actor has the username"),
        ("two words", "is neither acct:user@host"),
        ("ftp://x.example/a", "is neither acct:user@host"),
    ],
)
def test_addresses_of_no_actor(alice, address, reason):
    with pytest.raises(TargetError, match=re.escape(reason)):
        resolve(address)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "address", ["@alice@social.example", "https://social.example/users/alice"]
)
def test_only_local_actors_sign(alice, address):
    with pytest.raises(TargetError, match="is not on this site"):
        resolve_local(address)


@pytest.mark.django_db
def test_no_test_delivery_to_ourselves(alice):
    with pytest.raises(TargetError, match="for remote actors"):
        check_actor("alice", deliver=True)


# --- local actors -------------------------------------------------------------


@pytest.fixture
def unreachable_site(settings):
    """A site whose origin cannot be reached over HTTP from the test."""
    settings.SITE_DOMAIN = "127.0.0.1:9"  # a literal address: no DNS; refused
    settings.SITE_SSL = True
    settings.VOX_ACTIVITY = {**REAL_KEYS}


GOOD_LOCAL = [
    "site.https.ok",
    "site.allowed-hosts.ok",
    "local.http.unreachable",
    "local.django.ok",
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
    "webfinger.ok",
    "webfinger.back.ok",
    "actor.accepted",
]


@pytest.mark.django_db
def test_local_actor_through_django(unreachable_site, alice):
    findings = list(check_actor("alice"))
    assert codes(findings) == GOOD_LOCAL
    assert "https://127.0.0.1:9" in one(findings, "site.https.ok").message
    assert one(findings, "webfinger.ok").message.startswith(
        "acct:alice@127.0.0.1:9 → https://127.0.0.1:9/~alice/"
    )
    accepted = one(findings, "actor.accepted").message
    assert accepted.startswith("another vox_activity server would accept")


@pytest.mark.django_db
def test_the_instance_actor(unreachable_site):
    findings = list(check_actor("/activitypub/actor"))
    assert not_ok(findings) == []
    # Its name is the domain, port included (as WebFinger and Mastodon write it).
    assert resolve("@127.0.0.1:9@127.0.0.1:9").is_instance
    assert one(findings, "actor.type.ok").message == "Application."
    assert "instance actor has none" in one(findings, "actor.followers.ok").message
    assert "acct:127.0.0.1:9@127.0.0.1:9" in one(findings, "webfinger.ok").message


@pytest.mark.django_db
def test_local_actor_without_middleware(unreachable_site, settings, alice):
    settings.MIDDLEWARE = [
        m
        for m in settings.MIDDLEWARE
        if m != "vox_activity.middleware.ActivityPubMiddleware"
    ]
    findings = list(check_actor("/~alice/"))
    failed = one(findings, "local.django.failed")
    assert "ActivityPubMiddleware" in failed.hint
    assert codes(findings)[3:5] == ["local.django.failed", "local.built"]
    assert not_ok(findings) == ["local.django.failed"]  # the built one is fine
    assert one(findings, "webfinger.back.ok")  # WebFinger is a URL, not middleware


@pytest.mark.django_db
def test_local_site_not_in_allowed_hosts(unreachable_site, settings, alice):
    settings.ALLOWED_HOSTS = ["example.com"]
    findings = list(check_actor("/~alice/"))
    assert not_ok(findings)[:2] == ["site.allowed-hosts.missing", "local.django.failed"]
    assert "add the site's domain" in one(findings, "site.allowed-hosts.missing").hint


@pytest.fixture
def hang_up():
    """Close pooled keep-alive connections after the test, or the live
    server's thread is left waiting on one until the interpreter exits."""
    yield
    vox_http._adapter().close()


@pytest.mark.django_db(transaction=True)
def test_local_actor_over_http(live_server, hang_up, settings, alice):
    """With the origin reachable, the document is fetched the way servers do."""
    settings.SITE_DOMAIN = urlsplit(live_server.url).netloc
    settings.SITE_SSL = False
    settings.VOX_ACTIVITY = {
        **REAL_KEYS,
        "ALLOW_PRIVATE_ADDRESSES": True,
    }
    findings = list(check_actor("/~alice/"))
    iri = f"{live_server.url}/~alice/"
    assert not_ok(findings) == ["site.https.off"]
    assert "SITE_SSL = True" in one(findings, "site.https.off").hint
    assert (
        one(findings, "local.http.ok").message
        == f"GET {iri} over HTTP: HTTP 200, JSON."
    )
    assert f"→ {iri} (self link" in one(findings, "webfinger.ok").message
    assert not [code for code in codes(findings) if code.startswith("local.django")]


@pytest.fixture
def proxy(fediverse, settings):
    """A fake server standing in for the web server in front of the site."""
    server = fediverse.server()
    settings.SITE_DOMAIN = server.domain
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    return server


@pytest.mark.django_db
def test_local_actor_behind_a_broken_proxy(proxy, alice):
    proxy.routes["/~alice/"] = Reply(502, body=b"Bad gateway")
    findings = list(check_actor("/~alice/"))
    assert codes(findings)[2:4] == ["local.http.failed", "local.django.ok"]
    assert "reverse proxy" in one(findings, "local.http.failed").hint


@pytest.mark.django_db
def test_local_actor_redirected(proxy, alice):
    proxy.routes["/~alice/"] = Reply(301, {"Location": proxy.url("/elsewhere/")})
    document = json.loads(alice_document(proxy))
    proxy.routes["/elsewhere/"] = json_reply(
        {**document, "id": proxy.url("/elsewhere/")}
    )
    findings = list(check_actor("/~alice/"))
    assert one(findings, "local.http.redirected").level is Level.WARNING
    assert "(asked for" in one(findings, "actor.id.ok").message


def alice_document(proxy):
    from django.test import Client

    client = Client(HTTP_HOST=proxy.domain)
    return client.get("/~alice/", HTTP_ACCEPT=AP).content


# --- the catalogue ------------------------------------------------------------


def test_every_code_is_documented_with_its_level():
    entries = re.findall(
        r"^``([a-z.-]+)`` \((ok|warning|error)\)$", DOCS.read_text(), re.M
    )
    documented = {code: Level(level) for code, level in entries}
    assert len(entries) == len(documented)  # each once
    assert documented == CODES


def test_every_code_is_used():
    package = Path(diagnostics.__file__).parent
    source = "".join(
        path.read_text() for path in package.glob("*.py") if path.name != "findings.py"
    )
    unused = [code for code in CODES if f'"{code}"' not in source]
    assert unused == []


def test_levels_follow_the_code_names():
    for code, level in CODES.items():
        if code.endswith(".ok"):
            assert level is Level.OK, code
