"""Getting one of this site's actor documents the way other servers get it.

Over HTTP from the site's public origin first: that is what remote servers
do, so the web server, proxy and TLS in front of Django take part.  When the
origin cannot be reached from this machine (common behind NAT), through
Django's URLconf and middleware instead; when even that gives no actor
document, the document built in-process is checked, so that its fields can
still be looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

from vox_activity.outgoing.documents import actor_document, instance_actor_document
from vox_activity.protocol.vocabulary import ACTIVITY_JSON

from .channels import AP_ACCEPT, Channel, DjangoChannel, HttpChannel, Unreachable
from .findings import Steps, found
from .target import LocalTarget

__all__ = ["LocalDocument", "fetch_local_actor"]


@dataclass(frozen=True)
class LocalDocument:
    """The document, the URL that served it, and the channel that got it
    (later questions, such as WebFinger, go the same way)."""

    data: dict
    url: str
    channel: Channel


def fetch_local_actor(target: LocalTarget) -> Steps[LocalDocument]:
    """Over HTTP, else through Django, else built in-process."""
    document = yield from _over_http(target.iri)
    if document is None:
        document = yield from _through_django(target)
    return document


def _over_http(iri: str) -> Steps[LocalDocument | None]:
    channel = HttpChannel()
    try:
        answer = channel.get(iri, AP_ACCEPT)
    except Unreachable as exc:
        yield found(
            "local.http.unreachable",
            f"{iri} is not reachable over HTTP from here ({exc}); checking "
            "through Django instead.",
        )
        return None
    data = answer.json_object() if answer.status == 200 else None
    if data is None:
        yield found(
            "local.http.failed",
            f"GET {iri} over HTTP answered HTTP {answer.status}, not an actor "
            "document.",
            "this is what remote servers get: check the web server or reverse "
            "proxy in front of Django (it must pass GETs with Accept: "
            f"{ACTIVITY_JSON} to Django) and ActivityPubMiddleware in MIDDLEWARE.",
        )
        return None
    if answer.url == iri:
        yield found("local.http.ok", f"GET {iri} over HTTP: HTTP 200, JSON.")
    else:
        yield found(
            "local.http.redirected",
            f"GET {iri} over HTTP was redirected to {answer.url}.",
            "servers expect the actor at its id without redirects: check "
            "SITE_DOMAIN/SITE_SSL against the public origin, and redirects in "
            "the web server (http→https, www).",
        )
    return LocalDocument(data, answer.url, channel)


def _through_django(target: LocalTarget) -> Steps[LocalDocument]:
    channel = DjangoChannel()
    answer = channel.get(target.iri, AP_ACCEPT)
    data = answer.json_object() if answer.status == 200 else None
    if data is not None:
        yield found(
            "local.django.ok", f"GET {target.iri} {channel.description}: HTTP 200."
        )
        return LocalDocument(data, target.iri, channel)
    yield found(
        "local.django.failed",
        f"GET {target.iri} {channel.description} answered HTTP {answer.status}, "
        "not an actor document.",
        "add vox_activity.middleware.ActivityPubMiddleware to MIDDLEWARE (after "
        'AuthenticationMiddleware) and path("", include("vox_activity.urls")) to '
        "the root URLconf; 400 means the domain is not in ALLOWED_HOSTS.",
    )
    yield found("local.built", "checking the document built in-process.")
    return LocalDocument(_built(target), target.iri, channel)


def _built(target: LocalTarget) -> dict:
    if target.owner is None:
        return instance_actor_document()
    return actor_document(target.owner)
