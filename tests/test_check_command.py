"""manage.py vox_activity_check: remote actors on a server in the test, local ones."""

import http.server
import json
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from io import StringIO
from pathlib import Path
from time import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command

from vox_activity.net import http as vox_http
from vox_activity.net.signing import key_for
from vox_activity.protocol.cavage import verify_request

AS = "https://www.w3.org/ns/activitystreams"
SEC = "https://w3id.org/security/v1"
AP = "application/activity+json"
PEM = (Path(__file__).parent / "data" / "test_only_rsa_public.pem").read_text()


# --- a remote server ----------------------------------------------------------


@dataclass
class Remote:
    """What the server in the test serves, and what it was sent."""

    base: str = ""
    actors: dict = field(default_factory=dict)
    inbox_status: int = 202
    inbox_body: bytes = b""
    #: Seconds added to the Date header of every answer (a wrong clock).
    clock_offset: float = 0
    #: Status for every GET of an actor (Mastodon's authorized fetch: 401).
    actor_status: int = 200
    #: The type of the WebFinger self link.
    link_type: str = AP
    posts: list = field(default_factory=list)

    @property
    def host(self):
        return urlsplit(self.base).netloc

    def actor(self, name, **changes):
        """A Mastodon-like actor document; ``changes`` replace or drop fields."""
        iri = f"{self.base}/users/{name}"
        document = {
            "@context": [AS, SEC],
            "id": iri,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{iri}/inbox",
            "outbox": f"{iri}/outbox",
            "followers": f"{iri}/followers",
            "following": f"{iri}/following",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{iri}#main-key", "owner": iri, "publicKeyPem": PEM},
        }
        for key, value in changes.items():
            if value is None:
                document.pop(key, None)
            else:
                document[key] = value
        self.actors[name] = document
        return document


def make_handler(remote):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def date_time_string(self, timestamp=None):
            return formatdate(time() + remote.clock_offset, usegmt=True)

        def reply(self, status, body=b"", content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path == "/.well-known/webfinger":
                resource = parse_qs(parts.query).get("resource", [""])[0]
                name, _, host = resource.removeprefix("acct:").rpartition("@")
                if host != remote.host or name not in remote.actors:
                    return self.reply(404, b'{"error": "not found"}')
                jrd = {
                    "subject": resource,
                    "links": [
                        {
                            "rel": "self",
                            "type": remote.link_type,
                            "href": f"{remote.base}/users/{name}",
                        }
                    ],
                }
                return self.reply(200, json.dumps(jrd).encode(), "application/jrd+json")
            name = parts.path.removeprefix("/users/")
            if name in remote.actors and remote.actor_status != 200:
                return self.reply(
                    remote.actor_status, b'{"error": "Request not signed"}'
                )
            if name in remote.actors:
                return self.reply(200, json.dumps(remote.actors[name]).encode(), AP)
            return self.reply(404, b'{"error": "not found"}')

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            remote.posts.append((self.path, dict(self.headers), body))
            self.reply(remote.inbox_status, remote.inbox_body)

    return Handler


@pytest.fixture
def remote(settings):
    settings.VOX_ACTIVITY = {"ALLOW_PRIVATE_ADDRESSES": True}
    settings.SITE_SSL = False  # WebFinger over http, as the server in the test
    state = Remote()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def check(*args):
    """Run the command: (output lines, exit status)."""
    out = StringIO()
    try:
        call_command("vox_activity_check", *args, stdout=out)
    except CommandError as exc:
        if exc.returncode == 1 and str(exc).endswith("check(s) failed."):
            return out.getvalue().splitlines(), 1
        raise
    return out.getvalue().splitlines(), 0


def line(lines, status, name):
    """The first line of check ``name`` with ``status``."""
    found = [text for text in lines if text.split()[:2] == [status, name]]
    assert found, f"no {status} {name} line in:\n" + "\n".join(lines)
    return found[0]


def hint(lines, status, name):
    """The hint printed under the line of check ``name``."""
    index = lines.index(line(lines, status, name))
    assert lines[index + 1].lstrip().startswith("hint: ")
    return lines[index + 1]


# --- remote actors ------------------------------------------------------------


@pytest.mark.django_db
def test_a_good_remote_actor_by_acct(remote):
    remote.actor("alice")
    lines, code = check(f"acct:alice@{remote.host}")

    assert code == 0
    assert lines[0] == f"Checking the remote actor acct:alice@{remote.host}"
    iri = f"{remote.base}/users/alice"
    assert line(lines, "OK", "webfinger").endswith(
        f"acct:alice@{remote.host} → {iri} (self link, {AP})"
    )
    assert "signed as the instance actor: HTTP 200" in line(lines, "OK", "fetch")
    for name in (
        "id",
        "type",
        "inbox",
        "outbox",
        "followers",
        "publicKey",
        "publicKeyPem",
        "preferredUsername",
        "name",
        "sharedInbox",
        "@context",
        "webfinger-back",
    ):
        line(lines, "OK", name)
    assert "RSA, 2048 bits" in line(lines, "OK", "publicKeyPem")
    assert "ActivityStreams and security" in line(lines, "OK", "@context")
    assert f"deliver to {remote.base}/inbox." in line(lines, "OK", "vox_activity")
    line(lines, "WARN", "https")  # the server in the test is plain http
    assert lines[-1] == "15 OK, 1 warning(s), 0 failure(s)."
    assert remote.posts == []  # nothing delivered without --deliver


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["@{name}@{host}", "{name}@{host}", "{iri}"])
def test_other_ways_to_name_a_remote_actor(remote, form):
    remote.actor("alice")
    target = form.format(
        name="alice", host=remote.host, iri=f"{remote.base}/users/alice"
    )
    lines, code = check(target)
    assert code == 0
    line(lines, "OK", "webfinger-back")
    line(lines, "OK", "vox_activity")


@pytest.mark.django_db
def test_wrong_id(remote):
    remote.actor("alice", id="https://elsewhere.example/users/alice")
    lines, code = check(f"acct:alice@{remote.host}")
    assert code == 1
    text = line(lines, "FAIL", "id")
    assert "says its id is https://elsewhere.example/users/alice" in text
    assert "serve the actor at its id" in hint(lines, "FAIL", "id")
    assert "must be served from its own id" in line(lines, "FAIL", "vox_activity")
    assert lines[-1].endswith("failure(s).")


@pytest.mark.django_db
def test_id_elsewhere_on_the_same_server_is_fetched(remote):
    """As vox_activity does: a profile URL may name the canonical id."""
    remote.actor("alice")
    remote.actors["profile"] = remote.actors["alice"]
    lines, code = check(f"{remote.base}/users/profile")
    assert code == 0, "\n".join(lines)
    assert f"names the id {remote.base}/users/alice" in line(lines, "INFO", "fetch")
    line(lines, "OK", "id")
    assert not any(text.startswith("FAIL") for text in lines)


@pytest.mark.django_db
def test_id_elsewhere_on_the_same_server_that_is_not_there(remote):
    remote.actor("alice", id=f"{remote.base}/users/someone-else")
    lines, code = check(f"acct:alice@{remote.host}")
    assert code == 1
    line(lines, "INFO", "fetch")
    assert "someone-else answered 404" in line(lines, "FAIL", "fetch")


@pytest.mark.django_db
def test_no_inbox(remote):
    remote.actor("alice", inbox=None)
    lines, code = check(f"@alice@{remote.host}")
    assert code == 1
    assert line(lines, "FAIL", "inbox").endswith("missing.")
    assert "nothing can be delivered" in hint(lines, "FAIL", "inbox")
    assert "no usable inbox" in line(lines, "FAIL", "vox_activity")


@pytest.mark.django_db
def test_key_of_someone_else(remote):
    iri = f"{remote.base}/users/alice"
    other = f"{remote.base}/users/mallory"
    remote.actor(
        "alice",
        publicKey={"id": f"{other}#main-key", "owner": other, "publicKeyPem": PEM},
    )
    lines, code = check(f"acct:alice@{remote.host}")
    assert code == 1
    assert f"says its owner is {other}, not {iri}" in line(lines, "FAIL", "publicKey")
    assert "belongs to someone else" in line(lines, "FAIL", "vox_activity")


@pytest.mark.django_db
def test_bad_pem(remote):
    iri = f"{remote.base}/users/alice"
    remote.actor(
        "alice",
        publicKey={
            "id": f"{iri}#main-key",
            "owner": iri,
            "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nnot a key\n"
            "-----END PUBLIC KEY-----\n",
        },
    )
    lines, code = check(f"acct:alice@{remote.host}")
    assert code == 1
    assert "is not a PEM public key" in line(lines, "FAIL", "publicKeyPem")
    assert "BEGIN PUBLIC KEY" in hint(lines, "FAIL", "publicKeyPem")


@pytest.mark.django_db
def test_no_public_key_and_no_contexts(remote):
    remote.actor("alice", publicKey=None, **{"@context": "https://example.com/x"})
    lines, code = check(f"acct:alice@{remote.host}")
    assert code == 1
    line(lines, "FAIL", "publicKey")
    assert AS in line(lines, "FAIL", "@context")


@pytest.mark.django_db
def test_no_shared_inbox_is_only_a_warning(remote):
    remote.actor("alice", endpoints=None)
    lines, code = check(f"acct:alice@{remote.host}")
    assert code == 0
    line(lines, "WARN", "sharedInbox")
    assert "one POST" in hint(lines, "WARN", "sharedInbox")
    assert f"deliver to {remote.base}/users/alice/inbox." in line(
        lines, "OK", "vox_activity"
    )


@pytest.mark.django_db
def test_missing_security_context_and_username_mismatch(remote):
    remote.actor("alice", preferredUsername="Alice2", **{"@context": AS})
    lines, code = check(f"acct:alice@{remote.host}")
    line(lines, "WARN", "@context")
    line(lines, "WARN", "name")
    # Mastodon would look up Alice2@host, which does not exist there.
    line(lines, "OK", "webfinger")
    assert "acct:Alice2@" in line(lines, "FAIL", "webfinger-back")
    assert code == 1


@pytest.mark.django_db
def test_not_an_actor(remote):
    remote.actor("alice", type="Note")
    lines, code = check(f"{remote.base}/users/alice")
    assert code == 1
    assert "'Note' is not an actor type" in line(lines, "FAIL", "type")


@pytest.mark.django_db
def test_unknown_account(remote):
    lines, code = check(f"acct:nobody@{remote.host}")
    assert code == 1
    assert "answered HTTP 404" in line(lines, "FAIL", "webfinger")
    assert "no such account" in hint(lines, "FAIL", "webfinger")
    assert not any(text.split()[1:2] == ["fetch"] for text in lines)


@pytest.mark.django_db
def test_actor_that_is_gone(remote):
    lines, code = check(f"{remote.base}/users/nobody")
    assert code == 1
    assert "answered 404" in line(lines, "FAIL", "fetch")
    assert "deleted account" in hint(lines, "FAIL", "fetch")


@pytest.mark.django_db
def test_webfinger_self_link_of_the_wrong_type(remote):
    remote.actor("alice")
    remote.link_type = "text/html"
    lines, code = check(f"acct:alice@{remote.host}")
    assert code == 1
    assert "of type 'text/html'" in line(lines, "FAIL", "webfinger")
    assert AP in hint(lines, "FAIL", "webfinger")


@pytest.mark.django_db
def test_signed_fetch_refused(remote):
    remote.actor("alice")
    remote.actor_status = 401
    lines, code = check(f"acct:alice@{remote.host}")
    assert code == 1
    assert "answered HTTP 401" in line(lines, "FAIL", "fetch")
    advice = hint(lines, "FAIL", "fetch")
    assert "authorized fetch" in advice
    assert "http://testserver/activitypub/actor" in advice


@pytest.mark.django_db
def test_private_address_guard(remote, settings):
    remote.actor("alice")
    settings.VOX_ACTIVITY = {}
    lines, code = check(f"{remote.base}/users/alice")
    assert code == 1
    line(lines, "FAIL", "fetch")
    assert 'VOX_ACTIVITY["ALLOW_PRIVATE_ADDRESSES"]' in hint(lines, "FAIL", "fetch")


# --- --deliver ----------------------------------------------------------------


def verify(remote, public_key_pem):
    """The POST the server got: checked against our key; returns (headers, JSON)."""
    ((path, headers, body),) = remote.posts
    verify_request("POST", path, headers, body, public_key_pem)
    return headers, json.loads(body)


@pytest.mark.django_db
def test_deliver_accepted(remote):
    remote.actor("alice")
    lines, code = check(f"acct:alice@{remote.host}", "--deliver")
    assert code == 0
    text = line(lines, "OK", "deliver")
    assert f"POST {remote.base}/users/alice/inbox" in text
    assert "HTTP 202, accepted" in text
    assert "signed as http://testserver/activitypub/actor#main-key" in text
    headers, activity = verify(remote, key_for(None).public_key_pem)
    assert (
        'keyId="http://testserver/activitypub/actor#main-key"' in headers["Signature"]
    )
    assert activity["type"] == "Delete"
    assert activity["actor"] == "http://testserver/activitypub/actor"
    # A Delete of nothing, on our site: not the actor itself.
    assert activity["object"].startswith("http://testserver/vox-activity-check/")
    assert "to" not in activity  # in nobody's inbox
    assert not any(text.split()[1:2] == ["clock"] for text in lines)


@pytest.mark.django_db
def test_deliver_rejected_signature(remote):
    remote.actor("alice")
    remote.inbox_status = 401
    remote.inbox_body = b'{"error": "Verification failed for key"}'
    lines, code = check(f"acct:alice@{remote.host}", "--deliver")
    assert code == 1
    text = line(lines, "FAIL", "deliver")
    assert "HTTP 401, signature rejected" in text
    assert "Verification failed for key" in text
    advice = hint(lines, "FAIL", "deliver")
    assert "clock" in advice
    assert "SITE_DOMAIN" in advice
    assert "Host" in advice


@pytest.mark.django_db
def test_deliver_shows_clock_skew(remote):
    remote.actor("alice")
    remote.inbox_status = 401
    remote.clock_offset = 2 * 3600
    lines, _ = check(f"acct:alice@{remote.host}", "--deliver")
    text = line(lines, "WARN", "clock")
    seconds = int(text.split("clock is ")[1].split(" s ")[0])
    assert -7210 < seconds < -7190


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [(403, "FAIL", 1), (429, "WARN", 0), (503, "FAIL", 1), (410, "FAIL", 1)],
)
def test_deliver_other_answers(remote, status, expected, code):
    remote.actor("alice")
    remote.inbox_status = status
    lines, exit_code = check(f"acct:alice@{remote.host}", "--deliver")
    assert f"HTTP {status}" in line(lines, expected, "deliver")
    assert exit_code == code


@pytest.mark.django_db
def test_deliver_as_a_local_actor(remote, alice):
    remote.actor("alice")
    lines, code = check(f"acct:alice@{remote.host}", "--deliver", "--as", "/~alice/")
    assert code == 0
    assert "signed as http://testserver/~alice/#main-key" in line(
        lines, "OK", "deliver"
    )
    headers, activity = verify(remote, key_for(alice).public_key_pem)
    assert 'keyId="http://testserver/~alice/#main-key"' in headers["Signature"]
    assert activity["actor"] == "http://testserver/~alice/"


@pytest.mark.django_db
def test_deliver_not_attempted_without_inbox(remote):
    remote.actor("alice", inbox=None)
    lines, code = check(f"acct:alice@{remote.host}", "--deliver")
    assert code == 1
    assert "not attempted" in line(lines, "FAIL", "deliver")
    assert remote.posts == []


@pytest.mark.django_db
def test_bad_arguments(remote, alice):
    with pytest.raises(CommandError, match="not a local actor"):
        check(f"acct:x@{remote.host}", "--deliver", "--as", "/~nobody/")
    with pytest.raises(CommandError, match="only makes sense with --deliver"):
        check(f"acct:x@{remote.host}", "--as", "/~alice/")
    with pytest.raises(CommandError, match="--deliver is for remote actors"):
        check("/~alice/", "--deliver")
    with pytest.raises(CommandError, match="not a local actor"):
        check("/~nobody/")
    with pytest.raises(CommandError, match="neither"):
        check("nonsense")


# --- local actors -------------------------------------------------------------


@pytest.fixture
def unreachable_site(settings):
    """A site whose origin cannot be reached over HTTP from the test."""
    settings.SITE_DOMAIN = "127.0.0.1:9"  # a literal address: no DNS; refused
    settings.SITE_SSL = True
    settings.VOX_ACTIVITY = {}


@pytest.mark.django_db
def test_local_actor_through_django(unreachable_site, alice):
    lines, code = check("/~alice/")
    assert code == 0, "\n".join(lines)
    assert lines[0] == "Checking the local actor https://127.0.0.1:9/~alice/"
    assert "the site's origin is https://127.0.0.1:9" in line(lines, "OK", "https")
    line(lines, "OK", "ALLOWED_HOSTS")
    assert "checking through Django instead" in line(lines, "INFO", "fetch")
    assert "through Django" in line(lines, "OK", "serve")
    for name in ("id", "type", "inbox", "outbox", "followers", "publicKey"):
        line(lines, "OK", name)
    line(lines, "OK", "sharedInbox")
    assert "acct:alice@127.0.0.1:9 → https://127.0.0.1:9/~alice/" in line(
        lines, "OK", "webfinger"
    )
    line(lines, "OK", "webfinger-back")
    assert "another vox_activity server would accept" in line(
        lines, "OK", "vox_activity"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    ["https://127.0.0.1:9/~alice/", "acct:alice@127.0.0.1:9", "@alice@127.0.0.1:9"],
)
def test_local_actor_by_iri_or_acct(unreachable_site, alice, target):
    lines, code = check(target)
    assert code == 0
    assert lines[0] == "Checking the local actor https://127.0.0.1:9/~alice/"


@pytest.mark.django_db
def test_the_instance_actor(unreachable_site):
    lines, code = check("/activitypub/actor")
    assert code == 0, "\n".join(lines)
    assert "Application" in line(lines, "OK", "type")
    assert "instance actor has no followers" in line(lines, "OK", "followers")
    assert "acct:127.0.0.1:9@127.0.0.1:9" in line(lines, "OK", "webfinger")


@pytest.mark.django_db
def test_local_actor_without_middleware(unreachable_site, settings, alice):
    settings.MIDDLEWARE = [
        m
        for m in settings.MIDDLEWARE
        if m != "vox_activity.middleware.ActivityPubMiddleware"
    ]
    lines, code = check("/~alice/")
    assert code == 1
    assert "not an actor document" in line(lines, "FAIL", "serve")
    assert "ActivityPubMiddleware" in hint(lines, "FAIL", "serve")
    line(lines, "INFO", "document")
    line(lines, "OK", "publicKey")  # the in-process document is still checked
    line(lines, "OK", "webfinger-back")  # WebFinger is a URL, not middleware


@pytest.mark.django_db
def test_local_site_not_in_allowed_hosts(unreachable_site, settings, alice):
    settings.ALLOWED_HOSTS = ["example.com"]
    lines, code = check("/~alice/")
    assert code == 1
    line(lines, "FAIL", "ALLOWED_HOSTS")
    assert "add the site's domain" in hint(lines, "FAIL", "ALLOWED_HOSTS")
    line(lines, "FAIL", "serve")


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
    settings.VOX_ACTIVITY = {"ALLOW_PRIVATE_ADDRESSES": True}
    lines, code = check("/~alice/")
    iri = f"{live_server.url}/~alice/"
    assert code == 0, "\n".join(lines)
    assert f"GET {iri} over HTTP: HTTP 200" in line(lines, "OK", "fetch")
    assert "SITE_SSL = False" in line(lines, "WARN", "https")
    assert "SITE_SSL = True" in hint(lines, "WARN", "https")
    assert f"→ {iri} (self link" in line(lines, "OK", "webfinger")
    line(lines, "OK", "webfinger-back")
    assert not any(text.split()[1:2] == ["serve"] for text in lines)
