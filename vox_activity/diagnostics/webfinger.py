"""WebFinger: the lookup of an account, and the round trip Mastodon makes.

Mastodon identifies an account by ``username@domain`` and requires every
actor to map back to an ``acct:`` URI that WebFinger resolves to it
(Mastodon's FEDERATION.md, "Webfinger"): it looks up
``preferredUsername@<the actor's host>`` and refuses an actor whose name
does not lead back (RFC 7033 for WebFinger, RFC 7565 for ``acct:``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vox_activity.protocol.acct import acct_uri, parse_acct
from vox_activity.protocol.vocabulary import ACTIVITY_JSON, LD_JSON_AS

from .channels import JRD, Answer, Unreachable
from .document import is_http_url
from .findings import Checks, Finding, Steps, found

__all__ = ["Ask", "Lookup", "check_name", "lookup", "round_trip"]

#: ``ask(host, resource)``: the WebFinger answer of ``host`` for ``resource``.
Ask = Callable[[str, str], Answer]
#: The ``type`` of a self link servers follow to an actor.
AP_LINK_TYPES = (ACTIVITY_JSON, LD_JSON_AS)


@dataclass(frozen=True)
class Lookup:
    """A resource WebFinger answered, and where its self link leads."""

    resource: str
    href: str
    #: The JRD's ``subject``: the account's own spelling of its name.
    subject: Any = None


def lookup(ask: Ask, host: str, resource: str, *, where: str) -> Steps[Lookup | None]:
    """Ask ``host`` about ``resource``; the actor's self link, or None."""
    try:
        answer = ask(host, resource)
    except Unreachable as exc:
        yield found(
            "webfinger.unreachable",
            f"WebFinger for {resource} could not be asked {where}: {exc}",
            "without WebFinger, nobody can find the account by its @name@host.",
        )
        return None
    jrd = answer.json_object() if answer.status == 200 else None
    if jrd is None:
        yield _unusable(resource, answer)
        return None
    return (yield from _self_link(resource, jrd))


def _unusable(resource: str, answer: Answer) -> Finding:
    if answer.status != 200:
        detail = answer.excerpt()
        return found(
            "webfinger.status",
            f"WebFinger for {resource} answered HTTP {answer.status}"
            + (f": {detail}" if detail else "."),
            "no such account there (or WebFinger is not served at "
            "/.well-known/webfinger)."
            if answer.status == 404
            else "WebFinger must answer 200 with a JRD document.",
        )
    return found(
        "webfinger.not-jrd",
        f"WebFinger for {resource} did not answer with a JSON object.",
        f"the answer must be a JRD document ({JRD}).",
    )


def _self_link(resource: str, jrd: dict) -> Steps[Lookup | None]:
    links = jrd.get("links")
    selves = [
        link
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and link.get("rel") == "self"
    ]
    usable = [
        link
        for link in selves
        if link.get("type") in AP_LINK_TYPES and is_http_url(link.get("href"))
    ]
    subject = jrd.get("subject")
    shown = subject if isinstance(subject, str) else resource
    if usable:
        href, kind = usable[0]["href"], usable[0]["type"]
        yield found("webfinger.ok", f"{shown} → {href} (self link, {kind})")
        return Lookup(resource, href, subject)
    if selves:
        yield found(
            "webfinger.self-link.invalid",
            f"{shown}: the self link is {selves[0].get('href')!r} of type "
            f"{selves[0].get('type')!r}.",
            f'servers follow only a self link of type "{ACTIVITY_JSON}" (or the '
            "ld+json ActivityStreams profile) whose href is the actor's http(s) "
            "IRI.",
        )
    else:
        yield found(
            "webfinger.self-link.missing",
            f"{shown}: the JRD has no self link.",
            f'add {{"rel": "self", "type": "{ACTIVITY_JSON}", "href": <actor '
            "IRI>} to its links.",
        )
    return None


def check_name(known: Lookup, username: Any) -> Checks:
    """Is ``preferredUsername`` the name the account was looked up by?"""
    acct = parse_acct(known.subject) if isinstance(known.subject, str) else None
    acct = acct or parse_acct(known.resource)
    if acct is None or not isinstance(username, str):
        return
    if username.casefold() == acct[0].casefold():
        yield found(
            "webfinger.name.ok", f"preferredUsername {username} is the acct name."
        )
        return
    yield found(
        "webfinger.name.differs",
        f"preferredUsername is {username}, but WebFinger knows the account as "
        f"{acct[0]}.",
        f"Mastodon shows the account as @{username}@<actor host>; the "
        "webfinger.back findings say whether that name leads back.",
    )


def round_trip(
    ask: Ask, actor: str, username: Any, *, where: str, known: Lookup | None = None
) -> Checks:
    """Does WebFinger for ``username@<actor's host>`` lead back to ``actor``?

    ``known`` is a lookup already made, reused when it is the same resource.
    Nothing is checked without a username (``actor.username.missing`` says so).
    """
    host = urlsplit(actor).netloc
    if not isinstance(username, str) or not username.strip() or not host:
        return
    resource = acct_uri(username, host)
    answer = known
    if known is None or known.resource.casefold() != resource.casefold():
        answer = yield from lookup(ask, host, resource, where=where)
    yield _led_back(resource, actor, answer)


def _led_back(resource: str, actor: str, answer: Lookup | None) -> Finding:
    hint = (
        "Mastodon refuses an actor whose name does not lead back to it through "
        "WebFinger."
    )
    if answer is None:
        return found(
            "webfinger.back.failed",
            f"{resource} does not lead back to {actor}: the lookup failed.",
            hint,
        )
    if answer.href != actor:
        return found(
            "webfinger.back.mismatch",
            f"{resource} leads to {answer.href}, not to {actor}.",
            hint,
        )
    return found("webfinger.back.ok", f"{resource} leads back to {actor}.")
