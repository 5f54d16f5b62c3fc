"""What a check returns: :class:`Finding`, with a :class:`Level` and a stable code.

Every code has one level, fixed in :data:`CODES`, so that a code alone says
how bad it is, and monitoring can match on codes without reading messages
(which name URLs, statuses and what the other server said, and may be
reworded).  ``docs/troubleshooting.rst`` lists every code with its meaning
and its fix; the tests keep the two lists equal.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

__all__ = ["CODES", "Checks", "Finding", "Level", "Steps", "found", "has_errors"]


class Level(StrEnum):
    """How a check came out; ``ok`` also covers notes on what was done."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """One checked fact.

    ``code`` is stable (``actor.inbox.missing``); ``message`` says what was
    seen, ``hint`` (empty when all is well) what to do about it.
    """

    level: Level
    code: str
    message: str
    hint: str = ""


T = TypeVar("T")
#: A check that yields findings as it goes (network checks are slow, and a
#: command prints each one at once) and returns what later steps need.
Steps = Generator[Finding, None, T]
#: A check that yields findings and returns nothing.
Checks = Generator[Finding, None, None]


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(finding.level is Level.ERROR for finding in findings)


def found(code: str, message: str, hint: str = "") -> Finding:
    """A finding of ``code``, at the level :data:`CODES` gives it."""
    return Finding(CODES[code], code, message, hint)


_OK, _WARNING, _ERROR = Level.OK, Level.WARNING, Level.ERROR

#: Every code the diagnostics produce, and its level.
CODES: dict[str, Level] = {
    # The site's own set-up (local actors).
    "site.https.ok": _OK,
    "site.https.off": _WARNING,
    "site.allowed-hosts.ok": _OK,
    "site.allowed-hosts.missing": _ERROR,
    # Getting a local actor's document the way other servers get it.
    "local.http.ok": _OK,
    "local.http.redirected": _WARNING,
    "local.http.unreachable": _OK,
    "local.http.failed": _ERROR,
    "local.django.ok": _OK,
    "local.django.failed": _ERROR,
    "local.built": _OK,
    # Fetching a remote actor's document.
    "fetch.ok": _OK,
    "fetch.canonical": _OK,
    "fetch.blocked": _ERROR,
    "fetch.invalid-url": _ERROR,
    "fetch.unreachable": _ERROR,
    "fetch.failed": _ERROR,
    "fetch.gone": _ERROR,
    "fetch.refused": _ERROR,
    "fetch.server-error": _ERROR,
    "fetch.status": _ERROR,
    "fetch.not-json": _ERROR,
    # The actor document: what validate_actor requires...
    "actor.id.ok": _OK,
    "actor.id.mismatch": _ERROR,
    "actor.type.ok": _OK,
    "actor.type.invalid": _ERROR,
    "actor.inbox.ok": _OK,
    "actor.inbox.missing": _ERROR,
    "actor.key.ok": _OK,
    "actor.key.invalid": _ERROR,
    "actor.accepted": _OK,
    "actor.rejected": _ERROR,
    # ... and what Mastodon and other servers rely on besides.
    "actor.key.owner-missing": _WARNING,
    "actor.key.elsewhere": _WARNING,
    "actor.pem.ok": _OK,
    "actor.pem.invalid": _ERROR,
    "actor.pem.not-rsa": _ERROR,
    "actor.pem.weak": _WARNING,
    "actor.outbox.ok": _OK,
    "actor.outbox.missing": _ERROR,
    "actor.followers.ok": _OK,
    "actor.followers.missing": _WARNING,
    "actor.username.ok": _OK,
    "actor.username.missing": _ERROR,
    "actor.shared-inbox.ok": _OK,
    "actor.shared-inbox.missing": _WARNING,
    "actor.context.ok": _OK,
    "actor.context.missing": _ERROR,
    "actor.context.no-security": _WARNING,
    "actor.https.off": _WARNING,
    # WebFinger: the lookup, the name, and the round trip Mastodon makes.
    "webfinger.ok": _OK,
    "webfinger.unreachable": _ERROR,
    "webfinger.status": _ERROR,
    "webfinger.not-jrd": _ERROR,
    "webfinger.self-link.invalid": _ERROR,
    "webfinger.self-link.missing": _ERROR,
    "webfinger.name.ok": _OK,
    "webfinger.name.differs": _WARNING,
    "webfinger.back.ok": _OK,
    "webfinger.back.mismatch": _ERROR,
    "webfinger.back.failed": _ERROR,
    # The test delivery (--deliver).
    "deliver.accepted": _OK,
    "deliver.skipped": _ERROR,
    "deliver.unreachable": _ERROR,
    "deliver.signature-rejected": _ERROR,
    "deliver.refused": _ERROR,
    "deliver.rate-limited": _WARNING,
    "deliver.server-error": _ERROR,
    "deliver.clock-skew": _WARNING,
}
