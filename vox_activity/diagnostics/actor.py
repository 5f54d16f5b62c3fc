"""Checking one actor from end to end: the steps, in the order servers take them.

A remote actor: WebFinger (for an account), a fresh signed fetch, the
document, the round trip of its name, vox_activity's verdict, and the test
delivery on request.  A local actor: the site's set-up, the document as
other servers get it, the same field checks, the site's WebFinger, and the
verdict another vox_activity server would reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

from django.urls import reverse

from vox_activity.net.webfinger import webfinger_url
from vox_activity.protocol.acct import acct_uri
from vox_activity.registry import instance_actor_iri
from vox_activity.site import absolute_iri

from .channels import JRD, Answer, Channel, HttpChannel
from .document import check_document, check_verdict, is_http_url
from .fetch import fetch_remote_actor
from .findings import Checks, Finding, found
from .local import fetch_local_actor
from .probe import deliver
from .site import check_site
from .target import LocalTarget, RemoteTarget, TargetError, resolve, resolve_local
from .webfinger import Ask, Lookup, check_name, lookup, round_trip

__all__ = ["check_actor", "check_local_actor", "check_remote_actor", "check_target"]


def check_actor(
    address: str, *, deliver: bool = False, sign_as: str | None = None
) -> Iterator[Finding]:
    """Check the actor ``address`` names (see :func:`.target.resolve`).

    ``deliver`` also POSTs a test activity to a remote actor's inbox, signed
    as the local actor ``sign_as`` (default: the instance actor).  The
    address is resolved at once (:class:`TargetError` if it names no actor);
    the checks run as the findings are read.
    """
    sender = resolve_local(sign_as) if sign_as else None
    return check_target(resolve(address), deliver=deliver, sign_as=sender)


def check_target(
    target: LocalTarget | RemoteTarget,
    *,
    deliver: bool = False,
    sign_as: LocalTarget | None = None,
) -> Iterator[Finding]:
    """Check a resolved target; :class:`TargetError` for a test delivery to
    one of this site's own actors (it would only post to itself)."""
    if isinstance(target, RemoteTarget):
        sender = (sign_as.iri if sign_as else _instance_iri()) if deliver else None
        return check_remote_actor(target, deliver_as=sender)
    if deliver:
        raise TargetError(
            "A test delivery is for remote actors: it would only post to this "
            "site itself."
        )
    return check_local_actor(target)


def check_remote_actor(
    target: RemoteTarget, *, deliver_as: str | None = None
) -> Checks:
    """``deliver_as``: the local actor IRI that signs a test delivery (none
    without it)."""
    channel = HttpChannel()

    def ask(host: str, resource: str) -> Answer:
        return channel.get(webfinger_url(host, resource), JRD)

    known = None
    iri = target.iri
    if target.acct is not None:
        name, host = target.acct
        resource = acct_uri(name, host)
        known = yield from lookup(ask, host, resource, where=f"at {host}")
        iri = known.href if known else None
    if iri is None:
        return
    fetched = yield from fetch_remote_actor(channel, iri, _instance_iri())
    if fetched is None:
        return
    data = fetched.data
    actor = yield from check_document(
        data, requested=fetched.requested, fetched_from=fetched.url, local=False
    )
    yield from _remote_extras(ask, actor, data, known)
    yield from check_verdict(data, fetched.url, local=False)
    if deliver_as is not None:
        yield from _deliver(data.get("inbox"), deliver_as)


def _remote_extras(ask: Ask, actor: str, data: dict, known: Lookup | None) -> Checks:
    if urlsplit(actor).scheme != "https":
        yield found(
            "actor.https.off",
            f"{actor} is plain http.",
            "Mastodon talks to other servers over https only (outside development).",
        )
    username = data.get("preferredUsername")
    if known is not None:
        yield from check_name(known, username)
    yield from round_trip(
        ask, actor, username, where="at the actor's host", known=known
    )


def _deliver(inbox: object, sender: str) -> Checks:
    if not is_http_url(inbox):
        yield found(
            "deliver.skipped",
            "not attempted: the actor has no inbox.",
            "see actor.inbox.missing.",
        )
        return
    yield from deliver(str(inbox), sender)


def check_local_actor(target: LocalTarget) -> Checks:
    """The site's set-up, then the actor as other servers see it."""
    yield from check_site()
    document = yield from fetch_local_actor(target)
    actor = yield from check_document(
        document.data,
        requested=target.iri,
        fetched_from=document.url,
        local=True,
        instance=target.is_instance,
    )
    ask = _local_webfinger(document.channel)
    username = document.data.get("preferredUsername")
    yield from round_trip(ask, actor, username, where=document.channel.description)
    yield from check_verdict(document.data, document.url, local=True)


def _local_webfinger(channel: Channel) -> Ask:
    """This site's WebFinger, asked the way the document was fetched."""

    def ask(host: str, resource: str) -> Answer:
        query = urlencode({"resource": resource})
        url = absolute_iri(reverse("vox_activity:webfinger")) + f"?{query}"
        return channel.get(url, JRD)

    return ask


def _instance_iri() -> str:
    return instance_actor_iri()
