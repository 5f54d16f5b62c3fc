"""vox_activity.diagnostics on this site: addresses, local actors, the catalogue.

Which actor an address names; local actors checked through Django and over
HTTP (a live server, or a fake server standing in for a broken proxy);
validate_actor's problems as findings; and every code documented and used.
"""

import json
import re
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
from vox_activity.diagnostics.validation import problems
from vox_activity.net import http as vox_http

from .fediverse import Fediverse, Reply, json_reply
from .support.constants import AP
from .support.diagnostics import (
    INSTANCE,
    REAL_KEYS,
    codes,
    not_ok,
    one,
    reach_fake_servers,
)

#: The diagnostics judge key sizes (below 2048 bits is a warning): real ones.
pytestmark = pytest.mark.usefixtures("real_key_size")

DOCS = Path(__file__).parent.parent / "docs" / "troubleshooting.rst"


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
def proxy(httpsig, settings):
    """A fake server standing in for the web server in front of the site."""
    reach_fake_servers(settings)
    net = Fediverse(httpsig)
    server = net.server()
    settings.SITE_DOMAIN = server.domain
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    yield server
    net.close()


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
