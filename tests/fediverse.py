"""A fake Fediverse for tests: remote ActivityPub servers on 127.0.0.1.

Each :class:`RemoteServer` is a ``ThreadingHTTPServer`` in a thread that

* serves actor documents at ``/users/<name>`` (``Person``, its own URL as id,
  an inbox at ``/users/<name>/inbox``, the shared inbox ``/inbox`` unless the
  actor is made without one, and a ``publicKey`` of its own);
* answers WebFinger at ``/.well-known/webfinger``;
* answers inbox ``POST``\\s with a configurable sequence of :class:`Reply`
  (status, headers, body, delay), then with ``default_reply``;
* records every request as a :class:`Hit`, and checks every signed request
  with the independent ``httpsig`` package against the keys the test trusts
  (``Fediverse.trust``: the ``publicKey`` of one of *our* actor documents),
  plus the ``Digest`` (hashlib, against the body) and the ``Date`` window,
  which ``httpsig`` does not check.

The server threads never touch the database (it belongs to the test's thread
and transaction), which is why keys are handed over up front.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import http_message_signatures as hms

from vox_activity.protocol.cavage import generate_private_key_pem, public_key_pem

from .support.constants import AP, AS_CONTEXT, SECURITY_CONTEXT

#: Signed headers every request must cover (Mastodon's minimum), and POSTs also
#: the Digest.
REQUIRED_GET = ["(request-target)", "host", "date"]
REQUIRED_POST = [*REQUIRED_GET, "digest"]
#: How far a signed Date may be from the server's clock.
DATE_WINDOW = 300


@dataclass
class Reply:
    """What the server answers: status, headers, body, after ``delay`` seconds."""

    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


@dataclass
class Hit:
    """One request as the server received it."""

    method: str
    path: str
    #: Lower-case names.
    headers: dict[str, str]
    body: bytes
    #: ``keyId`` of the Signature header, if any.
    key_id: str | None = None
    #: True: the signature verified (httpsig), the Digest matches the body
    #: and the Date is current; False: it did not (see ``problem``); None:
    #: the request was not signed.
    verified: bool | None = None
    problem: str = ""
    #: The URL as the server was asked for it (for RFC 9421's @target-uri).
    url: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


_KEY_ID = re.compile(r'keyId="([^"]*)"')
_RFC9421_KEY_ID = re.compile(r'keyid="([^"]*)"')


def rfc9421_key_id(hit: Hit) -> str | None:
    found = _RFC9421_KEY_ID.search(hit.headers.get("signature-input", ""))
    return found.group(1) if found else None


def check_rfc9421(hit: Hit, url: str, public_pem: str) -> tuple[bool, str]:
    """Verify an RFC 9421 signature with the independent http-message-signatures
    package, requiring what Mastodon requires (@method, @target-uri, created,
    and a covered Content-Digest on POSTs)."""
    keys = hms.MappingKeyResolver(
        public_keys={hit.key_id: public_pem.encode()}, private_keys={}
    )
    verifier = hms.HTTPMessageVerifier(
        signature_algorithm=hms.algorithms.RSA_V1_5_SHA256, key_resolver=keys
    )
    message = SimpleNamespace(method=hit.method, url=url, headers=hit.headers)
    required = ["@method", "@target-uri"]
    if hit.method == "POST":
        required.append("content-digest")
    try:
        verifier.verify(
            message,
            body=hit.body if hit.method == "POST" else None,
            require_components=required,
            max_age=timedelta(seconds=DATE_WINDOW),
        )
    except Exception as exc:  # the package raises several kinds
        return False, f"http-message-signatures: {exc}"
    return True, ""


def check_signature(httpsig, hit: Hit, public_pem: str | None) -> tuple[bool, str]:
    """Verify ``hit`` with ``public_pem`` the way a Mastodon-like server would."""
    if public_pem is None:
        return False, f"unknown keyId {hit.key_id!r}"
    if "signature-input" in hit.headers:
        return check_rfc9421(hit, hit.url, public_pem)
    required = REQUIRED_POST if hit.method == "POST" else REQUIRED_GET
    try:
        verifier = httpsig.HeaderVerifier(
            hit.headers,
            public_pem,
            required_headers=required,
            method=hit.method,
            path=hit.path,
            sign_header="signature",
        )
        if not verifier.verify():
            return False, "httpsig: signature does not verify"
    except Exception as exc:  # httpsig raises bare Exceptions
        return False, f"httpsig: {exc}"
    if hit.method == "POST":
        digest = base64.b64encode(hashlib.sha256(hit.body).digest()).decode()
        if hit.headers.get("digest") != "SHA-256=" + digest:
            return False, "Digest does not match the body"
    try:
        sent = parsedate_to_datetime(hit.headers["date"])
    except (KeyError, TypeError, ValueError):
        return False, "no usable Date"
    if abs((datetime.now(UTC) - sent).total_seconds()) > DATE_WINDOW:
        return False, "Date outside the window"
    return True, ""


class RemoteServer:
    """One fake ActivityPub server; see the module docstring."""

    def __init__(self, httpsig, trusted: dict[str, str]) -> None:
        self.httpsig = httpsig
        self.trusted = trusted
        self.actors: dict[str, dict] = {}
        self.hits: list[Hit] = []
        #: Answers for inbox POSTs, used up in order; then ``default_reply``.
        self.inbox_replies: deque[Reply] = deque()
        self.default_reply = Reply(202)
        #: Which HTTP signature schemes this server accepts; a request signed
        #: with another gets 401, as Mastodon before 4.5 answers RFC 9421.
        self.accepts = {"rfc9421", "cavage"}
        #: Path → Reply (or ``handler(hit) -> Reply``) overriding everything.
        self.routes: dict[str, Reply | Callable[[Hit], Reply]] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hit = Hit(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                server._check(hit)
                with server._lock:
                    server.hits.append(hit)
                server._answer(self, server._reply_for(hit))

            do_GET = do_POST = do_HEAD = do_PUT = handle_any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Clients that gave up on a slow answer are expected.
        self.httpd.handle_error = lambda *args: None
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}
        )
        self.thread.daemon = True
        self.thread.start()

    # --- addresses ---------------------------------------------------------

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://{self.domain}"

    @property
    def shared_inbox(self) -> str:
        return f"{self.origin}/inbox"

    def url(self, path: str) -> str:
        return self.origin + path

    def iri(self, name: str) -> str:
        return f"{self.origin}/users/{name}"

    def inbox(self, name: str) -> str:
        return f"{self.iri(name)}/inbox"

    # --- actors ------------------------------------------------------------

    def add_actor(self, name: str, *, shared_inbox: bool = True, **changes) -> str:
        """Serve an actor ``name``; ``changes`` replace fields (None removes one)."""
        iri = self.iri(name)
        document: dict[str, Any] = {
            "@context": [AS_CONTEXT, SECURITY_CONTEXT],
            "id": iri,
            "type": "Person",
            "preferredUsername": name,
            "inbox": self.inbox(name),
            "outbox": f"{iri}/outbox",
            "publicKey": {
                "id": f"{iri}#main-key",
                "owner": iri,
                "publicKeyPem": public_key_pem(generate_private_key_pem(1024)),
            },
        }
        if shared_inbox:
            document["endpoints"] = {"sharedInbox": self.shared_inbox}
        for key, value in changes.items():
            if value is None:
                document.pop(key, None)
            else:
                document[key] = value
        self.actors[name] = document
        return iri

    # --- what was received -------------------------------------------------

    def requests(self, method: str | None = None, path: str | None = None):
        with self._lock:
            hits = list(self.hits)
        return [
            hit
            for hit in hits
            if (method is None or hit.method == method)
            and (path is None or hit.path == path)
        ]

    def posts(self, path: str | None = None) -> list[Hit]:
        return self.requests("POST", path)

    def gets(self, path: str | None = None) -> list[Hit]:
        return self.requests("GET", path)

    def reply_with(self, *replies: Reply) -> None:
        """Answer the next inbox POSTs with these, in order."""
        self.inbox_replies.extend(replies)

    def verify(self, hit: Hit, public_pem: str) -> bool:
        """Check ``hit`` again against another key (for negative controls)."""
        return check_signature(self.httpsig, hit, public_pem)[0]

    # --- serving -----------------------------------------------------------

    def _check(self, hit: Hit) -> None:
        signature = hit.headers.get("signature")
        if signature is None:
            return
        hit.url = self.origin + hit.path
        if "signature-input" in hit.headers:
            hit.key_id = rfc9421_key_id(hit)
        else:
            found = _KEY_ID.search(signature)
            hit.key_id = found.group(1) if found else None
        hit.verified, hit.problem = check_signature(
            self.httpsig, hit, self.trusted.get(hit.key_id or "")
        )

    def _is_inbox(self, path: str) -> bool:
        if path == "/inbox":
            return True
        parts = path.split("/")
        return (
            len(parts) == 4
            and parts[1] == "users"
            and parts[2] in self.actors
            and parts[3] == "inbox"
        )

    def _reply_for(self, hit: Hit) -> Reply:
        scheme = "rfc9421" if "signature-input" in hit.headers else "cavage"
        if "signature" in hit.headers and scheme not in self.accepts:
            return Reply(401, body=f"{scheme} signatures are not accepted".encode())
        path = urlsplit(hit.path).path
        route = self.routes.get(hit.path) or self.routes.get(path)
        if route is not None:
            return route(hit) if callable(route) else route
        if hit.method == "POST" and self._is_inbox(path):
            with self._lock:
                if self.inbox_replies:
                    return self.inbox_replies.popleft()
            return self.default_reply
        if hit.method == "GET" and path.startswith("/users/"):
            name = path.removeprefix("/users/")
            if name in self.actors:
                return json_reply(self.actors[name])
        if hit.method == "GET" and path == "/.well-known/webfinger":
            return self._webfinger(hit)
        return Reply(404, body=b"Not found")

    def _webfinger(self, hit: Hit) -> Reply:
        query = parse_qs(urlsplit(hit.path).query)
        resource = (query.get("resource") or [""])[0]
        user, _, host = resource.removeprefix("acct:").rpartition("@")
        if host != self.domain or user not in self.actors:
            return Reply(404, body=b"No such account")
        return json_reply(
            {
                "subject": f"acct:{user}@{host}",
                "links": [
                    {"rel": "self", "type": AP, "href": self.iri(user)},
                    {"rel": "http://webfinger.net/rel/profile-page", "href": "x"},
                ],
            },
            content_type="application/jrd+json",
        )

    def _answer(self, handler, reply: Reply) -> None:
        if reply.delay and self.stopping.wait(reply.delay):
            return
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
        except OSError:  # the client gave up first
            pass

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def json_reply(data: Any, status: int = 200, content_type: str = AP) -> Reply:
    body = json.dumps(data).encode()
    return Reply(status, {"Content-Type": content_type}, body)


class Fediverse:
    """Fake servers made on demand, sharing the keys they trust."""

    def __init__(self, httpsig) -> None:
        self.httpsig = httpsig
        #: keyId → public PEM of the senders whose signatures the servers check.
        self.trusted: dict[str, str] = {}
        self.servers: list[RemoteServer] = []

    def server(self) -> RemoteServer:
        self.servers.append(RemoteServer(self.httpsig, self.trusted))
        return self.servers[-1]

    def trust(self, actor_document: dict) -> str:
        """Trust the ``publicKey`` of an actor document; returns the key id."""
        key = actor_document["publicKey"]
        self.trusted[key["id"]] = key["publicKeyPem"]
        return key["id"]

    def close(self) -> None:
        for server in self.servers:
            server.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
