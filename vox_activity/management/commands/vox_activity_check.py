"""Check an actor the way Mastodon sees it, and say what to fix.

::

    manage.py vox_activity_check acct:alice@social.example
    manage.py vox_activity_check @alice@social.example --deliver
    manage.py vox_activity_check https://social.example/users/alice
    manage.py vox_activity_check /~alice/

A remote actor is looked up with WebFinger (for ``acct:`` forms), fetched
fresh with a GET signed by the instance actor (the cache is neither read nor
written), and its document is checked field by field.  ``--deliver`` then
POSTs a harmless signed activity to its inbox and explains the answer.

A local actor (a path, a local IRI, or an ``acct:`` name on this site) is
fetched the way remote servers fetch it: over HTTP from the site's own origin
when that is reachable from here, else through Django's URLconf and
middleware, else built in-process; then the same checks run, plus the
site's own set-up (https, ``ALLOWED_HOSTS``) and its WebFinger answer.

Every check prints one line, ``OK``, ``WARN`` or ``FAIL``, and a hint for
anything not OK.  The exit status is 1 when something failed.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.http.request import split_domain_port, validate_host
from django.urls import reverse

from vox_activity.exceptions import Refused, RemoteActorError, RemoteActorGone
from vox_activity.net import http
from vox_activity.net.remote_actors import fetch_document
from vox_activity.net.signing import signer
from vox_activity.net.webfinger import webfinger_url
from vox_activity.outgoing.documents import (
    actor_document,
    instance_actor_document,
    key_id,
)
from vox_activity.protocol.actor_documents import ACTOR_TYPES, validate_actor
from vox_activity.protocol.vocabulary import (
    ACTIVITY_JSON,
    AS_CONTEXT,
    LD_JSON_AS,
    SECURITY_CONTEXT,
)
from vox_activity.registry import (
    actor_for_iri,
    actor_for_path,
    actor_iri,
    instance_actor_iri,
)
from vox_activity.serving.discovery import webfinger
from vox_activity.site import (
    absolute_iri,
    local_path,
    site_domain,
    site_origin,
    site_scheme,
)

OK, WARN, FAIL, INFO = "OK", "WARN", "FAIL", "INFO"
JRD = "application/jrd+json"
AP_ACCEPT = f"{ACTIVITY_JSON}, {LD_JSON_AS}"
AP_LINK_TYPES = (ACTIVITY_JSON, LD_JSON_AS)
#: Clock difference with a remote server worth a warning, in seconds.
CLOCK_SKEW_WARNING = 60
_HTTP_STATUS = re.compile(r"answered HTTP (\d{3})")


def fetch_json(url: str) -> tuple[dict, str]:
    fetched = fetch_document(url)
    return fetched.data, fetched.url


# --- the report ---------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    status: str
    name: str
    message: str
    hint: str = ""

    def lines(self) -> list[str]:
        first = f"{self.status:<5} {self.name:<18} {self.message}"
        return [first, f"{'':6}hint: {self.hint}"] if self.hint else [first]


class Report:
    """Findings, printed as they are made (network checks can be slow)."""

    def __init__(self, write: Callable[[Finding], None]) -> None:
        self.findings: list[Finding] = []
        self._write = write

    def add(self, status: str, name: str, message: str, hint: str = "") -> Finding:
        finding = Finding(status, name, message, hint)
        self.findings.append(finding)
        self._write(finding)
        return finding

    def count(self, status: str) -> int:
        return sum(1 for finding in self.findings if finding.status == status)


# --- small helpers ------------------------------------------------------------


def _require_url(report, data: dict, field: str, hint: str) -> None:
    """OK if ``data[field]`` is an absolute http(s) URL, else FAIL with ``hint``."""
    value = data.get(field)
    if _is_http_url(value):
        report.add(OK, field, f"{value}.")
    else:
        problem = "missing." if value is None else f"{value!r} is not an http(s) URL."
        report.add(FAIL, field, problem, hint)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _excerpt(content: bytes, limit: int = 200) -> str:
    text = " ".join(content[:limit].decode("utf-8", "replace").split())
    return text + ("..." if len(content) > limit else "")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _contexts(data: dict) -> list[str]:
    value = data.get("@context")
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def parse_acct(value: str) -> tuple[str, str] | None:
    """``acct:alice@host``, ``@alice@host`` or ``alice@host`` → (name, host)."""
    if value.startswith(("http://", "https://", "/")):
        return None
    handle = value.removeprefix("acct:").lstrip("@")
    name, _, host = handle.rpartition("@")
    if not name or not host or "/" in host:
        return None
    return name, host


def _fetch_failure_hint(exc: RemoteActorError, signer_iri: str) -> str:
    """What a site owner can do about a failed signed GET."""
    cause = exc.__cause__
    if isinstance(cause, http.BlockedAddressError):
        return (
            "the host is (or resolves to) a private, loopback or reserved "
            "address, which vox_activity never contacts unless "
            'VOX_ACTIVITY["ALLOW_PRIVATE_ADDRESSES"] is True (development '
            "only)."
        )
    if isinstance(cause, http.InvalidURLError):
        return "the URL is not a valid http(s) URL."
    if isinstance(cause, (http.RequestTimeoutError, http.ConnectError)):
        return (
            "the server could not be reached from here: check the name, that "
            "it is up, and that this machine may make outgoing https "
            "connections (firewall, egress proxy, DNS, TLS certificates)."
        )
    if isinstance(exc, RemoteActorGone):
        return "no actor there: a mistyped address, or a deleted account."
    found = _HTTP_STATUS.search(str(exc))
    status = int(found.group(1)) if found else None
    if status in (401, 403):
        return (
            "the server answers only signed fetches (Mastodon's authorized "
            "fetch) and did not accept ours, or it blocks this site.  Our "
            f"requests are signed as {signer_iri}: that actor must be "
            "reachable from the internet, and this machine's clock right.  "
            "Run this command on your own actor too, and try --deliver for "
            "the server's own words."
        )
    if status is not None and status >= 500:
        return "the server has a problem of its own; try again later."
    if "JSON" in str(exc):
        return (
            "the URL did not answer with an actor document: is it the actor's "
            "id (not a profile page)?  An actor's server must answer "
            f"Accept: {ACTIVITY_JSON} with JSON."
        )
    return "see the message above."


# --- reading a WebFinger answer -----------------------------------------------


class Unreachable(Exception):
    """No HTTP answer at all (refused address, timeout, connection error)."""


@dataclass(frozen=True)
class Answer:
    status: int
    content: bytes
    url: str

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            return None


class HttpChannel:
    """Real HTTP through vox_activity's guarded client, signed as the instance."""

    description = "over HTTP"

    def get(self, url: str, accept: str) -> Answer:
        try:
            response = http.get(url, headers={"Accept": accept}, sign=signer(None))
        except http.HttpError as exc:
            raise Unreachable(str(exc)) from exc
        return Answer(response.status_code, response.content, response.url)


class DjangoChannel:
    """This site's own URLconf and middleware, through Django's test client.

    The request carries the site's domain as ``Host`` and its scheme, as a
    request from another server would, so ``ALLOWED_HOSTS``, the middleware
    and the URL includes all take part.
    """

    description = "through Django (the site's URLconf and middleware)"

    def __init__(self) -> None:
        from django.test import Client

        self.client = Client(raise_request_exception=False, HTTP_HOST=site_domain())

    def get(self, url: str, accept: str) -> Answer:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = self.client.get(
            path, headers={"accept": accept}, secure=site_scheme() == "https"
        )
        content = b"" if response.streaming else response.content
        return Answer(response.status_code, content, url)


def read_jrd(
    report: Report,
    name: str,
    resource: str,
    fetch: Callable[[], Answer],
    *,
    where: str,
) -> tuple[str | None, dict | None]:
    """Ask WebFinger for ``resource``; report; return (self link href, JRD)."""
    try:
        answer = fetch()
    except Unreachable as exc:
        report.add(
            FAIL,
            name,
            f"WebFinger for {resource} could not be asked {where}: {exc}",
            "without WebFinger, nobody can find the account by its @name@host.",
        )
        return None, None
    if answer.status != 200:
        hint = (
            "no such account there (or WebFinger is not served at "
            "/.well-known/webfinger)."
            if answer.status == 404
            else "WebFinger must answer 200 with a JRD document."
        )
        detail = _excerpt(answer.content)
        report.add(
            FAIL,
            name,
            f"WebFinger for {resource} answered HTTP {answer.status}"
            + (f": {detail}" if detail else ""),
            hint,
        )
        return None, None
    jrd = answer.json()
    if not isinstance(jrd, dict):
        report.add(
            FAIL,
            name,
            f"WebFinger for {resource} did not answer with a JSON object.",
            f"the answer must be a JRD document ({JRD}).",
        )
        return None, None
    links = [link for link in jrd.get("links") or [] if isinstance(link, dict)]
    selves = [link for link in links if link.get("rel") == "self"]
    usable = [
        link
        for link in selves
        if link.get("type") in AP_LINK_TYPES and _is_http_url(link.get("href"))
    ]
    subject = jrd.get("subject")
    if usable:
        link = usable[0]
        report.add(
            OK,
            name,
            f"{subject or resource} → {link['href']} (self link, {link['type']})",
        )
        return link["href"], jrd
    if selves:
        link = selves[0]
        report.add(
            FAIL,
            name,
            f"{subject or resource}: the self link is {link.get('href')!r} of "
            f"type {link.get('type')!r}.",
            f'servers follow only a self link of type "{ACTIVITY_JSON}" (or the '
            "ld+json ActivityStreams profile) whose href is the actor's http(s) "
            "IRI.",
        )
    else:
        report.add(
            FAIL,
            name,
            f"{subject or resource}: the JRD has no self link.",
            f'add {{"rel": "self", "type": "{ACTIVITY_JSON}", "href": <actor '
            "IRI>} to its links.",
        )
    return None, jrd


def acct_name(subject: Any) -> str | None:
    """``acct:alice@host`` → ``alice``."""
    if isinstance(subject, str) and subject.startswith("acct:"):
        parsed = parse_acct(subject)
        return parsed[0] if parsed else None
    return None


# --- the actor document -------------------------------------------------------


def check_document(
    report: Report,
    data: dict,
    *,
    fetched_from: str,
    requested: str,
    local: bool,
    instance: bool = False,
) -> str:
    """Every field servers rely on; returns the IRI to compare others with."""
    iri = data.get("id")
    if not isinstance(iri, str) or not iri:
        report.add(
            FAIL,
            "id",
            "missing.",
            "an actor document names its own IRI in id.",
        )
        iri = requested
    elif iri == fetched_from:
        note = f" (asked for {requested}, redirected)" if requested != iri else ""
        report.add(OK, "id", f"{iri} is the URL it was served from{note}.")
    else:
        report.add(
            FAIL,
            "id",
            f"the document served from {fetched_from} says its id is {iri}.",
            (
                "the IRIs are built from SITE_DOMAIN and SITE_SSL (or the "
                "django.contrib.sites domain): they must be the public origin "
                "remote servers use."
                if local
                else "servers accept an actor only from its own id (after "
                "redirects): serve the actor at its id, or correct the id."
            ),
        )

    kind = data.get("type")
    if kind in ACTOR_TYPES:
        report.add(OK, "type", f"{kind}.")
    else:
        report.add(
            FAIL,
            "type",
            f"{kind!r} is not an actor type.",
            f"use one of {', '.join(sorted(ACTOR_TYPES))}.",
        )

    _require_url(
        report,
        data,
        "inbox",
        "without an inbox nothing can be delivered to this actor; it must "
        "be an absolute http(s) URL.",
    )
    _require_url(
        report,
        data,
        "outbox",
        "ActivityPub requires an outbox (an absolute http(s) URL); "
        "servers read it to show the actor's posts.",
    )

    followers = data.get("followers")
    if _is_http_url(followers):
        report.add(OK, "followers", f"{followers}.")
    elif instance:
        report.add(OK, "followers", "none (the instance actor has no followers).")
    else:
        report.add(
            WARN,
            "followers",
            "missing." if followers is None else f"{followers!r} is not a URL.",
            "Mastodon uses the followers collection to tell followers-only "
            "posts from direct messages; publish one.",
        )

    _check_key(report, data.get("publicKey"), iri)

    username = data.get("preferredUsername")
    if isinstance(username, str) and username.strip():
        report.add(OK, "preferredUsername", f"{username}.")
    else:
        report.add(
            FAIL,
            "preferredUsername",
            "missing or empty.",
            "Mastodon needs it: it is the name in @name@host, and it is looked "
            "up with WebFinger.",
        )

    endpoints = data.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    if _is_http_url(shared):
        report.add(OK, "sharedInbox", f"{shared}.")
    else:
        report.add(
            WARN,
            "sharedInbox",
            "no endpoints.sharedInbox."
            if shared is None
            else f"{shared!r} is not a URL.",
            "fine, but every follower on that server then costs one POST "
            "instead of one POST per server.",
        )

    contexts = _contexts(data)
    has_security = SECURITY_CONTEXT in contexts
    if AS_CONTEXT not in contexts:
        report.add(
            FAIL,
            "@context",
            f"does not include {AS_CONTEXT}.",
            "Mastodon ignores documents without the ActivityStreams context.",
        )
    elif not has_security and data.get("publicKey") is not None:
        report.add(
            WARN,
            "@context",
            f"ActivityStreams, but not {SECURITY_CONTEXT}.",
            "publicKey, owner and publicKeyPem are defined by the security "
            "context; JSON-LD processing servers drop them without it.",
        )
    else:
        extra = " and security" if has_security else ""
        report.add(OK, "@context", f"ActivityStreams{extra}.")
    return iri


def _check_key(report: Report, key: Any, actor: str) -> None:
    if isinstance(key, list):
        key = next((item for item in key if isinstance(item, dict)), None)
    if not isinstance(key, dict):
        report.add(
            FAIL,
            "publicKey",
            "missing.",
            "without a publicKey (id, owner, publicKeyPem) nobody can verify "
            "this actor's signatures, and vox_activity does not deliver to it.",
        )
        return
    key_id = key.get("id")
    owner = key.get("owner")
    if not isinstance(key_id, str) or not key_id:
        report.add(FAIL, "publicKey", "has no id.", "servers name keys by id.")
    elif owner is not None and owner != actor:
        report.add(
            FAIL,
            "publicKey",
            f"{key_id} says its owner is {owner}, not {actor}.",
            "servers refuse a key whose owner is not the actor itself.",
        )
    elif owner is None:
        report.add(
            WARN,
            "publicKey",
            f"{key_id} has no owner.",
            "add owner (the actor's id); some servers insist on it.",
        )
    elif key_id.partition("#")[0] != actor:
        report.add(
            WARN,
            "publicKey",
            f"{key_id} is not in the actor's own document.",
            "servers fetch the key id to verify signatures; it is simplest "
            "as the actor IRI plus a fragment (<actor>#main-key).",
        )
    else:
        report.add(OK, "publicKey", f"{key_id}, owned by the actor.")

    pem = key.get("publicKeyPem")
    if not isinstance(pem, str) or not pem.strip():
        report.add(
            FAIL,
            "publicKeyPem",
            "missing.",
            "publicKey.publicKeyPem must hold the PEM of the actor's public key.",
        )
        return
    try:
        public = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeError) as exc:
        report.add(
            FAIL,
            "publicKeyPem",
            f"is not a PEM public key ({exc}).",
            "it must be a SubjectPublicKeyInfo PEM, '-----BEGIN PUBLIC KEY-----'.",
        )
        return
    if not isinstance(public, rsa.RSAPublicKey):
        report.add(
            FAIL,
            "publicKeyPem",
            f"is a {type(public).__name__}, not an RSA key.",
            "Mastodon signs and verifies rsa-sha256: the key must be RSA.",
        )
    elif public.key_size < 2048:
        report.add(
            WARN,
            "publicKeyPem",
            f"RSA, {public.key_size} bits.",
            "2048 bits or more; some servers refuse smaller keys.",
        )
    else:
        report.add(OK, "publicKeyPem", f"RSA, {public.key_size} bits.")


def check_validate(
    report: Report, data: dict, fetched_from: str, *, local: bool = False
) -> dict | None:
    """What vox_activity itself concludes (``remote.validate_actor``).

    For a remote actor: would deliveries go to it?  For a local one: would
    another vox_activity server accept it?
    """
    who = "another vox_activity server" if local else "vox_activity"
    try:
        fields = validate_actor(data, fetched_from)
    except RemoteActorError as exc:
        report.add(
            FAIL,
            "vox_activity",
            f"{who} would not accept this actor: {exc}",
            "see the failures above.",
        )
        return None
    target = fields.shared_inbox or fields.inbox
    report.add(
        OK, "vox_activity", f"{who} would accept this actor and deliver to {target}."
    )
    return fields


def check_webfinger_back(
    report: Report,
    data: dict,
    actor: str,
    ask: Callable[[str, str], Answer],
    *,
    where: str,
    known: tuple[str, str | None] | None = None,
    lookup_name: str = "webfinger",
) -> None:
    """Does WebFinger for preferredUsername@<actor's host> lead back here?

    That is what Mastodon checks before it accepts an actor; ``known`` is a
    (resource, self href) already looked up, reused when it is the same one.
    The lookup is reported as ``lookup_name``; when that is
    ``webfinger-back`` too, a failed lookup is the only line.
    """
    username = data.get("preferredUsername")
    host = urlsplit(actor).netloc
    if not isinstance(username, str) or not username or not host:
        report.add(
            FAIL,
            "webfinger-back",
            "not checked: no preferredUsername.",
            "Mastodon looks up preferredUsername@host and refuses the actor "
            "if it cannot.",
        )
        return
    resource = f"acct:{username}@{host}"
    if known is not None and known[0].casefold() == resource.casefold():
        href = known[1]
    else:
        href, _ = read_jrd(
            report,
            lookup_name,
            resource,
            lambda: ask(host, resource),
            where=where,
        )
        if href is None and lookup_name == "webfinger-back":
            return
    if href == actor:
        report.add(OK, "webfinger-back", f"{resource} leads back to {actor}.")
    elif href is not None:
        report.add(
            FAIL,
            "webfinger-back",
            f"{resource} leads to {href}, not to {actor}.",
            "Mastodon refuses an actor whose name does not lead back to it "
            "through WebFinger.",
        )
    else:
        report.add(
            FAIL,
            "webfinger-back",
            f"{resource} does not lead back to {actor}.",
            "Mastodon refuses an actor whose name does not lead back to it "
            "through WebFinger.",
        )


# --- delivering a test activity -----------------------------------------------


def _sender(as_actor: str | None) -> str:
    """The IRI of the local actor that signs the test delivery."""
    if not as_actor:
        return instance_actor_iri()
    path = local_path(as_actor)
    instance = instance_actor_iri()
    if path is not None and absolute_iri(path).rstrip("/") == instance.rstrip("/"):
        return instance
    owner = actor_for_iri(as_actor) or actor_for_path(as_actor)
    if owner is None:
        raise CommandError(f"--as {as_actor}: not a local actor (IRI or path).")
    return actor_iri(owner)


def probe_activity(sender: str) -> dict:
    """A Delete of an object that never existed on this site.

    Servers verify the signature, find nothing to delete and move on.  It is
    addressed to nobody, so it lands in no one's inbox.  (Not an Update or a
    Delete of the sender itself: Mastodon answers 202 to those from actors it
    does not know *without* checking the signature, which would make a broken
    set-up look fine.)
    """
    token = uuid.uuid4()
    return {
        "@context": AS_CONTEXT,
        "id": f"{sender}#vox-activity-check/{token}",
        "type": "Delete",
        "actor": sender,
        "object": absolute_iri(f"/vox-activity-check/{token}"),
    }


def _clock_skew(date_header: str | None) -> float | None:
    if not date_header:
        return None
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)
    return (datetime.now(UTC) - theirs).total_seconds()


DELIVERY_HINTS = {
    400: "the server refused the activity as malformed; its answer may say why.",
    403: (
        "the server refuses us: it may block this site or the sending actor, "
        "or federate only with an allow-list."
    ),
    404: "there is no inbox at that URL: the actor document names a wrong inbox.",
    405: "that URL does not accept POST: the actor document names a wrong inbox.",
    410: "the actor is gone (deleted account).",
    413: "the server thinks the activity is too large.",
    422: "the server refused the activity; its answer may say why.",
    429: "rate-limited: the server asks us to slow down; try again later.",
    501: "that server does not accept activities (yet).",
}


def deliver(report: Report, inbox: str, sender: str) -> None:
    body = json.dumps(probe_activity(sender)).encode("utf-8")
    sign = signer(sender)
    try:
        response = http.post(
            inbox,
            body,
            headers={"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON},
            sign=sign,
        )
    except http.HttpError as exc:
        report.add(
            FAIL,
            "deliver",
            f"POST {inbox} got no answer: {exc}",
            "deliveries to this inbox fail the same way; see the fetch hints.",
        )
        return
    status = response.status_code
    skew = _clock_skew(response.headers.get("Date"))
    detail = _excerpt(response.content)
    said = f": {detail}" if detail else ""
    signed_as = f"signed as {key_id(sender)}"
    if 200 <= status < 300:
        report.add(
            OK,
            "deliver",
            f"POST {inbox} ({signed_as}): HTTP {status}, accepted: the "
            "server took our signature (Mastodon checks it before answering; "
            "a few servers acknowledge first and check later).",
        )
    elif status == 401:
        report.add(
            FAIL,
            "deliver",
            f"POST {inbox} ({signed_as}): HTTP 401, signature rejected{said}",
            "the server could not verify our signature.  Check: this "
            "machine's clock (NTP; the signed Date must be close to theirs); "
            f"that {sender} is reachable from the internet over https and "
            "serves the key (manage.py vox_activity_check "
            f"{urlsplit(sender).path}); that SITE_DOMAIN and "
            "SITE_SSL match the public origin (the key id is built from "
            "them); that no outbound proxy rewrites the Host or the path "
            "(both are signed); after a key rotation, that the server has "
            "refetched the key.",
        )
    elif status in DELIVERY_HINTS:
        report.add(
            WARN if status == 429 else FAIL,
            "deliver",
            f"POST {inbox} ({signed_as}): HTTP {status}{said}",
            DELIVERY_HINTS[status],
        )
    elif status >= 500:
        report.add(
            FAIL,
            "deliver",
            f"POST {inbox} ({signed_as}): HTTP {status}{said}",
            "the server has a problem of its own; real deliveries are retried.",
        )
    else:
        report.add(
            FAIL,
            "deliver",
            f"POST {inbox} ({signed_as}): HTTP {status}{said}",
            "servers answer 2xx to an activity they accept.",
        )
    if skew is not None and abs(skew) > CLOCK_SKEW_WARNING:
        report.add(
            WARN,
            "clock",
            f"this machine's clock is {skew:+.0f} s off the server's.",
            "signatures carry the time; keep the clock synchronised (NTP).",
        )


# --- the command --------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Check an actor (acct:user@host, @user@host, an IRI, or a local path "
        "like /~alice/) the way Mastodon sees it; --deliver also POSTs a "
        "harmless signed activity to a remote actor's inbox.  Exit status 1 "
        "when a check fails."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "actor", help="acct:user@host, @user@host, an actor IRI or a local path"
        )
        parser.add_argument(
            "--deliver",
            action="store_true",
            help="POST a signed test activity (a Delete of nothing) to its inbox",
        )
        parser.add_argument(
            "--as",
            dest="as_actor",
            metavar="ACTOR",
            help="sign the test delivery as this local actor (default: the "
            "instance actor)",
        )

    def handle(self, *args, actor, deliver=False, as_actor=None, **options):
        report = Report(self._write)
        target = actor.strip()
        local = self._local_target(target)
        if as_actor and not deliver:
            raise CommandError("--as only makes sense with --deliver.")
        if local is not None:
            if deliver:
                raise CommandError(
                    "--deliver is for remote actors: it would only post to "
                    "this site itself."
                )
            self.stdout.write(f"Checking the local actor {local[0]}")
            self.check_local(report, *local)
        else:
            sender = _sender(as_actor) if deliver else None
            self.stdout.write(f"Checking the remote actor {target}")
            self.check_remote(report, target, sender)
        failures, warnings = report.count(FAIL), report.count(WARN)
        summary = (
            f"{report.count(OK)} OK, {warnings} warning(s), {failures} failure(s)."
        )
        self.stdout.write(summary)
        if failures:
            raise CommandError(f"{failures} check(s) failed.", returncode=1)

    def _write(self, finding: Finding) -> None:
        style = {
            OK: self.style.SUCCESS,
            WARN: self.style.WARNING,
            FAIL: self.style.ERROR,
        }.get(finding.status)
        first, *rest = finding.lines()
        self.stdout.write(first, style_func=style)
        for line in rest:
            self.stdout.write(line)

    # --- which actor -----------------------------------------------------------

    def _local_target(self, target: str) -> tuple[str, str, Any] | None:
        """(IRI, path, owner or None for the instance actor) if ``target`` is ours."""
        acct = parse_acct(target)
        if acct is not None:
            if acct[1].lower() != site_domain().lower():
                return None
            try:
                jrd = webfinger(f"acct:{acct[0]}@{acct[1]}")
            except Refused as exc:
                raise CommandError(f"{target}: {exc.reason}") from exc
            target = next(
                link["href"] for link in jrd["links"] if link["rel"] == "self"
            )
        path = local_path(target)
        if path is None:
            if target.startswith(("http://", "https://")):
                return None
            raise CommandError(
                f"{target!r} is neither acct:user@host, @user@host, an "
                "http(s) IRI nor a path of this site."
            )
        instance = instance_actor_iri()
        if absolute_iri(path).rstrip("/") == instance.rstrip("/"):
            return instance, urlsplit(instance).path, None
        owner = actor_for_path(path)
        if owner is None:
            raise CommandError(
                f"{target} is not a local actor: no registered model's regex "
                "matches it, no row has it, or has_activity_endpoint() is false."
            )
        iri = actor_iri(owner)
        return iri, urlsplit(iri).path, owner

    # --- remote ----------------------------------------------------------------

    def check_remote(self, report: Report, target: str, sender: str | None) -> None:
        channel = HttpChannel()

        def ask(host: str, resource: str) -> Answer:
            return channel.get(webfinger_url(host, resource), JRD)

        known = None
        acct = parse_acct(target)
        if acct is not None:
            name, host = acct
            resource = f"acct:{name}@{host}"
            href, jrd = read_jrd(
                report,
                "webfinger",
                resource,
                lambda: ask(host, resource),
                where=f"at {host}",
            )
            if href is None:
                return
            known = (
                f"acct:{acct_name(jrd.get('subject')) or name}@{host}",
                href,
            )
            iri = href
        elif target.startswith(("http://", "https://")):
            iri = target
        else:
            raise CommandError(f"{target!r} is not an actor address.")

        signer_iri = instance_actor_iri()
        try:
            data, fetched_from = fetch_json(iri)
        except RemoteActorError as exc:
            report.add(FAIL, "fetch", str(exc), _fetch_failure_hint(exc, signer_iri))
            return
        report.add(
            OK,
            "fetch",
            f"GET {iri}, signed as the instance actor: HTTP 200, JSON.",
        )
        claimed = data.get("id")
        if (
            claimed != fetched_from
            and _is_http_url(claimed)
            and _origin(claimed) == _origin(fetched_from)
        ):
            # What vox_activity does too: a profile URL may answer with the
            # canonical id on the same server, which is then fetched.
            report.add(
                INFO,
                "fetch",
                f"{fetched_from} names the id {claimed} on the same server; "
                "fetching that, as deliveries do.",
            )
            try:
                data, fetched_from = fetch_json(claimed)
            except RemoteActorError as exc:
                report.add(
                    FAIL, "fetch", str(exc), _fetch_failure_hint(exc, signer_iri)
                )
                return
            iri = claimed
        actor = check_document(
            report, data, fetched_from=fetched_from, requested=iri, local=False
        )
        if urlsplit(actor).scheme != "https":
            report.add(
                WARN,
                "https",
                f"{actor} is plain http.",
                "Mastodon talks to other servers over https only (outside "
                "development).",
            )
        if acct is not None:
            self._compare_username(report, data, known[0])
        check_webfinger_back(
            report,
            data,
            actor,
            ask,
            where="at the actor's host",
            known=known,
            lookup_name="webfinger-back",
        )
        check_validate(report, data, fetched_from)
        if sender is None:
            return
        inbox = data.get("inbox")
        if not _is_http_url(inbox):
            report.add(FAIL, "deliver", "not attempted: the actor has no inbox.")
            return
        deliver(report, inbox, sender)

    def _compare_username(self, report: Report, data: dict, resource: str) -> None:
        name = acct_name(resource)
        username = data.get("preferredUsername")
        if not isinstance(username, str) or not name:
            return
        if username.casefold() == name.casefold():
            report.add(OK, "name", f"preferredUsername {username} is the acct name.")
        else:
            report.add(
                WARN,
                "name",
                f"preferredUsername is {username}, but WebFinger knows the "
                f"account as {name}.",
                f"Mastodon shows the account as @{username}@<actor host>; the "
                "webfinger-back check says whether that name leads back.",
            )

    # --- local -----------------------------------------------------------------

    def check_local(self, report: Report, iri: str, path: str, owner: Any) -> None:
        self._check_origin(report)
        data, fetched_from, channel = self._local_document(report, iri, path, owner)

        def ask(host: str, resource: str) -> Answer:
            query = urlencode({"resource": resource})
            return channel.get(
                absolute_iri(reverse("vox_activity:webfinger")) + f"?{query}", JRD
            )

        actor = check_document(
            report,
            data,
            fetched_from=fetched_from,
            requested=iri,
            local=True,
            instance=owner is None,
        )
        check_webfinger_back(report, data, actor, ask, where=channel.description)
        check_validate(report, data, fetched_from, local=True)

    def _check_origin(self, report: Report) -> None:
        origin = site_origin()
        if site_scheme() == "https":
            report.add(OK, "https", f"the site's origin is {origin}.")
        else:
            report.add(
                WARN,
                "https",
                f"the site's origin is {origin} (SITE_SSL = False).",
                "Mastodon federates over https only: set SITE_SSL = True (the "
                "default) in production; fine for development.",
            )
        host, _port = split_domain_port(site_domain())
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        if host and validate_host(host, allowed):
            report.add(OK, "ALLOWED_HOSTS", f"{host} is allowed.")
        else:
            report.add(
                FAIL,
                "ALLOWED_HOSTS",
                f"{site_domain()} is not in ALLOWED_HOSTS.",
                "Django answers 400 to every request from other servers: add "
                "the site's domain to ALLOWED_HOSTS.",
            )

    def _local_document(
        self, report: Report, iri: str, path: str, owner: Any
    ) -> tuple[dict, str, HttpChannel | DjangoChannel]:
        """The document as remote servers get it, where from, and how to ask
        the site more: over HTTP when the origin answers from here, else
        through Django.
        """
        try:
            data, fetched_from = fetch_json(iri)
        except RemoteActorError as exc:
            if isinstance(exc.__cause__, http.HttpError):
                report.add(
                    INFO,
                    "fetch",
                    f"{iri} is not reachable over HTTP from here "
                    f"({exc.__cause__}); checking through Django instead.",
                )
            else:
                report.add(
                    FAIL,
                    "fetch",
                    f"GET {iri} over HTTP: {exc}",
                    "this is what remote servers get: check the web server or "
                    "reverse proxy in front of Django (it must pass GETs with "
                    f"Accept: {ACTIVITY_JSON} to Django) and "
                    "ActivityPubMiddleware in MIDDLEWARE.",
                )
        else:
            if fetched_from == iri:
                report.add(OK, "fetch", f"GET {iri} over HTTP: HTTP 200, JSON.")
                return data, fetched_from, HttpChannel()
            report.add(
                WARN,
                "fetch",
                f"GET {iri} over HTTP was redirected to {fetched_from}.",
                "servers expect the actor at its id without redirects: check "
                "SITE_DOMAIN/SITE_SSL against the public origin, and "
                "redirects in the web server (http→https, www).",
            )
            return data, fetched_from, HttpChannel()

        channel = DjangoChannel()
        answer = channel.get(iri, AP_ACCEPT)
        data = answer.json() if answer.status == 200 else None
        if isinstance(data, dict):
            report.add(OK, "serve", f"GET {path} {channel.description}: HTTP 200.")
            return data, iri, channel
        report.add(
            FAIL,
            "serve",
            f"GET {path} {channel.description} answered HTTP {answer.status}, "
            "not an actor document.",
            "add vox_activity.middleware.ActivityPubMiddleware to MIDDLEWARE "
            "(after AuthenticationMiddleware) and "
            'path("", include("vox_activity.urls")) to the root URLconf; '
            "400 means the domain is not in ALLOWED_HOSTS.",
        )
        report.add(INFO, "document", "checking the document built in-process.")
        if owner is None:
            return instance_actor_document(), iri, channel
        return actor_document(owner), iri, channel
