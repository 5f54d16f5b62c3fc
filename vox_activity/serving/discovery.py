"""Discovery: WebFinger, NodeInfo and host-meta, under ``/.well-known/``.

How other servers find this site's actors and learn what the site is:

* **WebFinger** (RFC 7033, as Mastodon uses it): ``@alice@example.com``
  typed into Mastodon becomes ``GET /.well-known/webfinger?resource=
  acct:alice@example.com``, answered with a JRD document whose ``self`` link
  is the actor IRI.  Names are the registrations' ``get_activity_username()``
  (the actor document's ``preferredUsername``), found back with
  :func:`vox_activity.registry.actor_for_username`; the site's instance actor
  is ``acct:<domain>@<domain>``, its ``preferredUsername``.
* **NodeInfo 2.1**: ``/.well-known/nodeinfo`` points at ``/nodeinfo/2.1``,
  which names the software and counts actors and public posts.
* **host-meta** (RFC 6415): an XRD document whose ``lrdd`` template points at
  WebFinger, for the clients that still start there.

Every response, errors included, carries ``Access-Control-Allow-Origin: *``
so that browser-based clients can read it; errors are JSON with a reason.
The URLs are in ``vox_activity.urls``, which must be included at the site's
root for ``/.well-known/`` to be reached.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import escape

from vox_activity import __version__
from vox_activity.exceptions import Refused
from vox_activity.models import IRI_MAX_LENGTH, Activity
from vox_activity.protocol.acct import acct_uri, parse_acct
from vox_activity.protocol.iri import check_iri
from vox_activity.protocol.vocabulary import ACTIVITY_JSON
from vox_activity.registration import hook
from vox_activity.registry import (
    actor_for_iri,
    actor_for_username,
    actor_iri,
    actor_models,
    federated_username,
    instance_actor_iri,
    registration_for,
)
from vox_activity.serving.responses import error_response
from vox_activity.site import absolute_iri, local_path, site_domain, url_path

__all__ = [
    "JRD_JSON",
    "NODEINFO_JSON",
    "NODEINFO_SCHEMA",
    "SOFTWARE_NAME",
    "XRD_XML",
    "count_local_actors",
    "host_meta",
    "host_meta_view",
    "instance_webfinger_document",
    "nodeinfo_document",
    "nodeinfo_index",
    "nodeinfo_index_view",
    "nodeinfo_view",
    "webfinger",
    "webfinger_document",
    "webfinger_view",
]

JRD_JSON = "application/jrd+json"
XRD_XML = "application/xrd+xml"
PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_JSON = f'application/json; profile="{NODEINFO_SCHEMA}#"'
#: NodeInfo's ``software.name``: ``[a-z0-9-]`` only.
SOFTWARE_NAME = "vox-activity"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_CORS = {"Access_Control_Allow_Origin": "*"}


# --- WebFinger ----------------------------------------------------------------


def webfinger_document(actor: Any) -> dict[str, Any]:
    """The JRD of a local actor: its ``acct:`` URI, IRI and profile page."""
    registration = registration_for(actor)
    iri = actor_iri(actor)
    url = hook(registration, "get_activity_url")(actor) or iri  # as the actor's
    username = hook(registration, "get_activity_username")
    return {
        "subject": acct_uri(str(username(actor)), site_domain()),
        "aliases": list(dict.fromkeys([iri, url])),
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": iri},
            {"rel": PROFILE_PAGE, "type": "text/html", "href": url},
        ],
    }


def instance_webfinger_document() -> dict[str, Any]:
    """The JRD of the instance actor, ``acct:<domain>@<domain>``.

    Servers that fetch the instance actor (to check a signed request) look its
    ``preferredUsername`` up with WebFinger and expect it to lead back.
    """
    iri = instance_actor_iri()
    return {
        "subject": acct_uri(site_domain(), site_domain()),
        "aliases": [iri],
        "links": [{"rel": "self", "type": ACTIVITY_JSON, "href": iri}],
    }


def _from_iri(iri: str) -> dict[str, Any]:
    check_iri(iri, "resource")
    path = local_path(iri)
    if path is None:
        raise Refused(404, "That IRI is not on this site.")
    if absolute_iri(url_path(path)).rstrip("/") == instance_actor_iri().rstrip("/"):
        return instance_webfinger_document()
    actor = actor_for_iri(iri)
    if actor is None or federated_username(actor) is None:
        raise Refused(
            404, "No actor on this site has that IRI (or its name cannot federate)."
        )
    return webfinger_document(actor)


def webfinger(resource: str) -> dict[str, Any]:
    """The JRD document for ``resource``, or :class:`Refused`.

    ``resource`` is ``acct:name@domain``, or leniently ``@name@domain`` or
    ``name@domain``, with this site's domain (in any case); or an actor IRI.
    """
    resource = resource.strip()
    if not resource:
        raise Refused(400, 'The "resource" parameter is empty.')
    if len(resource) > IRI_MAX_LENGTH:
        raise Refused(400, 'The "resource" parameter is too long.')
    scheme = _SCHEME.match(resource)
    scheme_name = scheme.group(1).lower() if scheme else None
    if scheme_name in ("http", "https"):
        return _from_iri(resource)
    if scheme_name not in (None, "acct"):
        raise Refused(
            404, f"Only acct: and https: resources are known here, not {scheme_name}:."
        )
    parsed = parse_acct(resource)
    if parsed is None:
        raise Refused(
            400,
            "The resource is not an account (acct:name@domain) or an actor IRI.",
        )
    name, host = parsed
    domain = site_domain()
    if host.lower() != domain.lower():
        raise Refused(404, f"{host} is not this site ({domain}); ask {host} itself.")
    if name.casefold() == domain.casefold():
        return instance_webfinger_document()
    actor = actor_for_username(name)
    if actor is None:
        raise Refused(404, f"No account {name}@{domain} on this site.")
    return webfinger_document(actor)


# --- NodeInfo and host-meta ---------------------------------------------------


def nodeinfo_index() -> dict[str, Any]:
    """``/.well-known/nodeinfo``: where the NodeInfo 2.1 document is."""
    href = absolute_iri(reverse("vox_activity:nodeinfo"))
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": href}]}


def count_local_actors() -> int:
    """Rows of every model registered as an actor: one ``COUNT`` per model.

    All rows count, including any that ``has_activity_endpoint()`` hides.
    """
    return sum(model._default_manager.count() for model, _ in actor_models())


def nodeinfo_document() -> dict[str, Any]:
    """The NodeInfo 2.1 document of this site."""
    return {
        "version": "2.1",
        "software": {"name": SOFTWARE_NAME, "version": __version__},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {
            "users": {"total": count_local_actors()},
            "localPosts": Activity.objects.filter(local=True, public=True).count(),
        },
        "metadata": {"nodeName": site_domain()},
    }


def host_meta() -> str:
    """The host-meta XRD: an ``lrdd`` link templated on WebFinger."""
    template = absolute_iri(reverse("vox_activity:webfinger")) + "?resource={uri}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{escape(template)}"/>\n'
        "</XRD>\n"
    )


# --- views (vox_activity.urls) -----------------------------------------------


def _response(body: str, content_type: str) -> HttpResponse:
    response = HttpResponse(body.encode("utf-8"), content_type=content_type)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _json(data: Any, content_type: str) -> HttpResponse:
    return _response(json.dumps(data, ensure_ascii=False), content_type)


def _get_only(request: HttpRequest) -> HttpResponse | None:
    if request.method in ("GET", "HEAD"):
        return None
    return error_response(405, "Use GET here.", Allow="GET", **_CORS)


def webfinger_view(request: HttpRequest) -> HttpResponse:
    """``GET /.well-known/webfinger?resource=acct:alice@example.com``."""
    if (refused := _get_only(request)) is not None:
        return refused
    resources = request.GET.getlist("resource")
    if not resources:
        domain = site_domain()
        return error_response(
            400,
            f'The "resource" parameter is missing: ask for '
            f"?resource=acct:name@{domain}.",
            **_CORS,
        )
    if len(resources) > 1:
        return error_response(400, 'Give one "resource" parameter only.', **_CORS)
    try:
        document = webfinger(resources[0])
    except Refused as exc:
        return error_response(exc.status, exc.reason, **_CORS)
    rels = request.GET.getlist("rel")
    if rels:  # RFC 7033 §4.3: only the links of the relations asked for
        document["links"] = [link for link in document["links"] if link["rel"] in rels]
    return _json(document, f"{JRD_JSON}; charset=utf-8")


def nodeinfo_index_view(request: HttpRequest) -> HttpResponse:
    """``GET /.well-known/nodeinfo``."""
    if (refused := _get_only(request)) is not None:
        return refused
    return _json(nodeinfo_index(), "application/json; charset=utf-8")


def nodeinfo_view(request: HttpRequest) -> HttpResponse:
    """``GET /nodeinfo/2.1``."""
    if (refused := _get_only(request)) is not None:
        return refused
    return _json(nodeinfo_document(), NODEINFO_JSON)


def host_meta_view(request: HttpRequest) -> HttpResponse:
    """``GET /.well-known/host-meta``."""
    if (refused := _get_only(request)) is not None:
        return refused
    return _response(host_meta(), f"{XRD_XML}; charset=utf-8")
