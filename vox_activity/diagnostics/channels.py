"""Two ways to ask a server for a document: over HTTP, or through Django itself.

A remote server is always asked over HTTP.  This site's own documents are
asked over HTTP from its public origin when that answers from here (so the
web server, proxy and TLS in front of Django take part), else through
Django's URLconf and middleware in-process.  Both answer an :class:`Answer`,
so the checks that read it do not care which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from django.test import Client

from vox_activity.exceptions import Refused, VoxActivityError
from vox_activity.net import http
from vox_activity.net.signing import signed_request
from vox_activity.protocol.payload import parse_json_object
from vox_activity.protocol.vocabulary import ACTIVITY_JSON, LD_JSON_AS
from vox_activity.site import site_domain, site_scheme

__all__ = [
    "AP_ACCEPT",
    "JRD",
    "Answer",
    "Channel",
    "DjangoChannel",
    "HttpChannel",
    "Unreachable",
]

JRD = "application/jrd+json"
#: What vox_activity itself sends when it fetches an actor.
AP_ACCEPT = f"{ACTIVITY_JSON}, {LD_JSON_AS}"


class Unreachable(VoxActivityError):
    """No answer at all; the :mod:`vox_activity.net.http` error is the ``__cause__``."""


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer, whichever channel it came through."""

    status: int
    content: bytes
    #: The URL that answered, after redirects.
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def json_object(self) -> dict | None:
        """The body as a JSON object, read as vox_activity reads fetched
        documents (:func:`~vox_activity.protocol.payload.parse_json_object`), or None.
        """
        try:
            return parse_json_object(self.content)
        except Refused:
            return None

    def excerpt(self, limit: int = 200) -> str:
        """The start of the body on one line, for a message."""
        text = " ".join(self.content[:limit].decode("utf-8", "replace").split())
        return text + ("..." if len(self.content) > limit else "")


class Channel(Protocol):
    #: How the request travels, for messages ("over HTTP").
    description: str

    def get(self, url: str, accept: str) -> Answer:
        """``GET url``; :class:`Unreachable` when nothing answers."""
        ...


class HttpChannel:
    """Real HTTP through vox_activity's guarded client, signed as the instance
    actor, as every fetch vox_activity makes (Mastodon's "authorized fetch"
    answers only signed GETs).
    """

    description = "over HTTP"

    def get(self, url: str, accept: str) -> Answer:
        try:
            response = signed_request(
                "GET", url, actor_iri=None, headers={"Accept": accept}
            )
        except http.HttpError as exc:
            raise Unreachable(str(exc)) from exc
        return Answer(
            response.status_code, response.content, response.url, response.headers
        )


class DjangoChannel:
    """This site's own URLconf and middleware, through Django's test client.

    The request carries the site's domain as ``Host`` and its scheme, as a
    request from another server would, so ``ALLOWED_HOSTS``, the middleware
    and the URL includes all take part.  Redirects are not followed.
    """

    description = "through Django (the site's URLconf and middleware)"

    def __init__(self) -> None:
        self.client = Client(raise_request_exception=False, HTTP_HOST=site_domain())

    def get(self, url: str, accept: str) -> Answer:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = self.client.get(
            path, headers={"accept": accept}, secure=site_scheme() == "https"
        )
        content = b"" if response.streaming else response.content
        return Answer(response.status_code, content, url, dict(response.headers))
