"""An actor document, field by field, as Mastodon reads it.

The fields
:func:`vox_activity.protocol.actor_documents.validate_actor` requires (id,
type, inbox, publicKey) are judged by it, through :mod:`.validation`; this module
adds what it does not check but servers rely on: an outbox, followers,
``preferredUsername`` (Mastodon's account name), a shared inbox, the
JSON-LD contexts, the key's details.  See ``docs/troubleshooting.rst`` for
every code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from vox_activity.protocol.actor_documents import ACTOR_TYPES
from vox_activity.protocol.vocabulary import AS_CONTEXT, SECURITY_CONTEXT

from .findings import Checks, Finding, Steps, found
from .keys import check_key
from .validation import Problem, problems, verdict

__all__ = ["check_document", "check_verdict", "is_http_url"]


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_document(
    data: dict,
    *,
    requested: str,
    fetched_from: str,
    local: bool,
    instance: bool = False,
) -> Steps[str]:
    """Every field servers rely on; returns the actor's IRI (its id, or what
    was asked for when it has none) for the checks that follow."""
    refused = {problem.field: problem for problem in problems(data, fetched_from)}
    claimed = data.get("id")
    iri = claimed if isinstance(claimed, str) else requested
    yield _id(refused.get("id"), iri, requested, local)
    yield _type(refused.get("type"), data.get("type"))
    yield _inbox(refused.get("inbox"), data.get("inbox"))
    yield _outbox(data.get("outbox"))
    yield _followers(data.get("followers"), instance)
    yield from check_key(data.get("publicKey"), iri, refused.get("publicKey"))
    yield _username(data.get("preferredUsername"))
    yield _shared_inbox(data.get("endpoints"))
    yield _contexts(data)
    return iri


def check_verdict(data: dict, fetched_from: str, *, local: bool) -> Checks:
    """Would vox_activity deliver to this actor (for a local one: would
    another vox_activity server)?  ``validate_actor``'s own answer."""
    who = "another vox_activity server" if local else "vox_activity"
    fields, reason = verdict(data, fetched_from)
    if fields is None:
        yield found(
            "actor.rejected",
            f"{who} would not accept this actor: {reason}",
            "see the errors above.",
        )
        return
    target = fields.shared_inbox or fields.inbox
    yield found(
        "actor.accepted", f"{who} would accept this actor and deliver to {target}."
    )


def _id(problem: Problem | None, iri: str, requested: str, local: bool) -> Finding:
    if problem is None:
        note = f" (asked for {requested}, redirected)" if requested != iri else ""
        return found("actor.id.ok", f"{iri} is the URL it was served from{note}.")
    return found(
        "actor.id.mismatch",
        problem.reason,
        "the IRIs are built from SITE_DOMAIN and SITE_SSL (or the "
        "django.contrib.sites domain): they must be the public origin remote "
        "servers use."
        if local
        else "servers accept an actor only from its own id (after redirects): "
        "serve the actor at its id, or correct the id.",
    )


def _type(problem: Problem | None, kind: Any) -> Finding:
    if problem is None:
        return found("actor.type.ok", f"{kind}.")
    return found(
        "actor.type.invalid",
        problem.reason,
        f"use one of {', '.join(sorted(ACTOR_TYPES))}.",
    )


def _inbox(problem: Problem | None, inbox: Any) -> Finding:
    if problem is None:
        return found("actor.inbox.ok", f"{inbox}.")
    return found(
        "actor.inbox.missing",
        problem.reason,
        "without an inbox nothing can be delivered to this actor; it must be "
        "an absolute http(s) URL.",
    )


def _outbox(outbox: Any) -> Finding:
    if is_http_url(outbox):
        return found("actor.outbox.ok", f"{outbox}.")
    return found(
        "actor.outbox.missing",
        _not_a_url("outbox", outbox),
        "ActivityPub requires an outbox (an absolute http(s) URL); servers "
        "read it to show the actor's posts.",
    )


def _followers(followers: Any, instance: bool) -> Finding:
    if is_http_url(followers):
        return found("actor.followers.ok", f"{followers}.")
    if instance and followers is None:
        return found("actor.followers.ok", "none (the instance actor has none).")
    return found(
        "actor.followers.missing",
        _not_a_url("followers", followers),
        "Mastodon uses the followers collection to tell followers-only posts "
        "from direct messages; publish one.",
    )


def _username(username: Any) -> Finding:
    if isinstance(username, str) and username.strip():
        return found("actor.username.ok", f"preferredUsername is {username}.")
    return found(
        "actor.username.missing",
        "preferredUsername is missing or empty.",
        "Mastodon needs it: it is the name in @name@host, and it is looked up "
        "with WebFinger.",
    )


def _shared_inbox(endpoints: Any) -> Finding:
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    if is_http_url(shared):
        return found("actor.shared-inbox.ok", f"{shared}.")
    return found(
        "actor.shared-inbox.missing",
        _not_a_url("endpoints.sharedInbox", shared),
        "fine, but every follower on that server then costs one POST instead "
        "of one POST per server.",
    )


def _contexts(data: dict) -> Finding:
    value = data.get("@context")
    contexts = value if isinstance(value, list) else [value]
    if AS_CONTEXT not in contexts:
        return found(
            "actor.context.missing",
            f"@context does not include {AS_CONTEXT}.",
            "Mastodon ignores documents without the ActivityStreams context.",
        )
    if SECURITY_CONTEXT not in contexts and data.get("publicKey") is not None:
        return found(
            "actor.context.no-security",
            f"@context has ActivityStreams, but not {SECURITY_CONTEXT}.",
            "publicKey, owner and publicKeyPem are defined by the security "
            "context; JSON-LD processing servers drop them without it.",
        )
    extra = " and security" if SECURITY_CONTEXT in contexts else ""
    return found("actor.context.ok", f"@context: ActivityStreams{extra}.")


def _not_a_url(name: str, value: Any) -> str:
    return f"no {name}." if value is None else f"{name} {value!r} is not a URL."
