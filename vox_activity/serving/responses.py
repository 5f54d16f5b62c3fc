"""HTTP responses in ActivityPub's media types, and errors with a reason.

Errors are JSON (``{"error": reason}``) for servers and scripts, and an HTML
page for browsers: a person who follows a link to an ActivityPub endpoint
must not be shown raw JSON.  :func:`error_response` makes the JSON answer;
:func:`for_client` (applied by ``ActivityPubMiddleware`` to every response)
turns it into the page ``vox_activity/error.html`` when the request's
``Accept`` weighs ``text/html`` above JSON
(:func:`vox_activity.protocol.accept.prefers_html`).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.html import escape

from vox_activity.protocol.accept import prefers_html
from vox_activity.protocol.vocabulary import (
    ACTIVITY_JSON,
    AS_NAMESPACE,
    LD_JSON,
    LD_JSON_AS,
)
from vox_activity.site import script_prefix

__all__ = [
    "ERROR_TEMPLATE",
    "ErrorResponse",
    "accepts_activity_json",
    "activity_response",
    "error_page",
    "error_response",
    "for_client",
    "has_activity_content_type",
    "no_content",
    "response_media_type",
    "wants_html",
]


def _media_types(header: str) -> list[tuple[str, dict[str, str]]]:
    """Parse an Accept or Content-Type header: [(type, {param: value})]."""
    parsed = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params = {}
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        parsed.append((pieces[0].lower(), params))
    return parsed


def _is_activity_type(media_type: str, params: dict[str, str]) -> bool:
    if media_type == ACTIVITY_JSON:
        return True
    if media_type == LD_JSON:
        return AS_NAMESPACE in params.get("profile", "").split()
    return False


def accepts_activity_json(request: HttpRequest) -> bool:
    """Does the request's ``Accept`` ask for ActivityPub JSON (q > 0)?"""
    for media_type, params in _media_types(request.headers.get("Accept", "")):
        if params.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        if _is_activity_type(media_type, params):
            return True
    return False


def has_activity_content_type(request: HttpRequest) -> bool:
    parsed = _media_types(request.headers.get("Content-Type", ""))
    return bool(parsed) and _is_activity_type(*parsed[0])


def response_media_type(request: HttpRequest | None) -> str:
    """Answer in the ld+json form only to clients that asked for only that."""
    if request is not None:
        accepted = [
            m for m, p in _media_types(request.headers.get("Accept", ""))
            if _is_activity_type(m, p)
        ]  # fmt: skip
        if accepted and ACTIVITY_JSON not in accepted:
            return LD_JSON_AS
    return ACTIVITY_JSON


def activity_response(
    data: Any, request: HttpRequest | None = None, status: int = 200
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False).encode("utf-8"),
        content_type=f"{response_media_type(request)}; charset=utf-8",
        status=status,
    )
    patch_vary_headers(response, ("Accept",))
    return response


def no_content(status: int = 204) -> HttpResponse:
    """A bodiless answer (202, 204) without a content type: there is no content."""
    response = HttpResponse(status=status)
    del response["Content-Type"]
    return response


#: The error page's template; a site overrides it like any app template
#: (a ``DIRS`` directory, or an app listed before vox_activity).
ERROR_TEMPLATE = "vox_activity/error.html"


class ErrorResponse(HttpResponse):
    """A JSON error that remembers its reason, so it can become a page."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(
            json.dumps({"error": reason}).encode("utf-8"),
            content_type="application/json",
            status=status,
        )
        self.reason = reason


def error_response(status: int, reason: str, **headers: str) -> HttpResponse:
    """A JSON error: ``{"error": reason}``; tells the client what went wrong.

    A browser gets an HTML page instead (:func:`for_client`, applied by the
    middleware).
    """
    response = ErrorResponse(status, reason)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    patch_vary_headers(response, ("Accept",))
    return response


def wants_html(request: HttpRequest) -> bool:
    """Does the client weigh ``text/html`` above JSON (a browser)?"""
    return prefers_html(request.headers.get("Accept"))


def for_client(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``response`` as this client prefers it: an error page for a browser.

    Only errors made by :func:`error_response` change; their status and
    headers (``Allow``, ``Retry-After``, ``Vary``...) are kept.
    """
    if not isinstance(response, ErrorResponse) or not wants_html(request):
        return response
    page = error_page(request, response.status_code, response.reason)
    for name, value in response.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            page[name] = value
    return page


def error_page(request: HttpRequest | None, status: int, reason: str) -> HttpResponse:
    """The HTML page of an error: ``vox_activity/error.html`` with its status.

    The template gets ``status`` (404), ``title`` ("Not Found"), ``reason``
    and ``home`` (the site's root, script prefix included); a site without
    Django templates for apps still gets a plain page.
    """
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    context = {
        "status": status,
        "title": title,
        "reason": reason,
        "home": script_prefix(),
    }
    try:
        body: str = render_to_string(ERROR_TEMPLATE, context, request)
    except TemplateDoesNotExist:
        body = (
            f"<!doctype html><meta charset=utf-8><title>{status} {escape(title)}"
            f"</title><h1>{status} {escape(title)}</h1><p>{escape(reason)}</p>"
        )
    response = HttpResponse(
        body, content_type="text/html; charset=utf-8", status=status
    )
    patch_vary_headers(response, ("Accept",))
    return response
