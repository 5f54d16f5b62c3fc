"""Finding a remote actor by its ``acct:`` address with WebFinger (RFC 7033)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings

from vox_activity.exceptions import HttpError, Refused, RemoteActorError
from vox_activity.models import RemoteActor
from vox_activity.net.remote_actors import fetch_actor
from vox_activity.net.signing import signed_request
from vox_activity.protocol.acct import acct_uri, parse_acct
from vox_activity.protocol.iri import is_iri
from vox_activity.protocol.payload import parse_json_object
from vox_activity.protocol.vocabulary import ACTIVITY_JSON, LD_JSON_AS

__all__ = ["resolve_acct", "webfinger_url"]


def webfinger_url(host: str, resource: str) -> str:
    # Plain http only for a site that itself runs without TLS (development).
    scheme = "https" if getattr(settings, "SITE_SSL", True) else "http"
    query = urlencode({"resource": resource})
    return f"{scheme}://{host}/.well-known/webfinger?{query}"


def resolve_acct(address: str) -> RemoteActor:
    """``acct:alice@example.com`` (or ``@alice@example.com``) → its actor."""
    parsed = parse_acct(address)
    if parsed is None:
        raise RemoteActorError(f"{address!r} is not of the form acct:user@host.")
    user, host = parsed
    handle = f"{user}@{host}"
    url = webfinger_url(host, acct_uri(user, host))
    try:
        response = signed_request(
            "GET", url, actor_iri=None, headers={"Accept": "application/jrd+json"}
        )
    except HttpError as exc:
        raise RemoteActorError(
            f"WebFinger lookup of {handle} failed: {exc}", url=url
        ) from exc
    if response.status_code != 200:
        raise RemoteActorError(
            f"WebFinger lookup of {handle} answered HTTP {response.status_code}.",
            url=url,
            status=response.status_code,
        )
    try:
        links = parse_json_object(response.content).get("links") or []
    except Refused as exc:
        raise RemoteActorError(
            f"WebFinger answer for {handle} is not JRD: {exc.reason}", url=url
        ) from exc
    for link in links if isinstance(links, list) else []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and link.get("type") in (ACTIVITY_JSON, LD_JSON_AS)
            and is_iri(link.get("href"))
        ):
            return fetch_actor(link["href"])
    raise RemoteActorError(
        f"WebFinger answer for {handle} has no ActivityPub link.", url=url
    )
