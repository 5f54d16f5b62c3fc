"""HTTP responses in ActivityPub's media types, and JSON errors with a reason."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from vox_activity.protocol.vocabulary import (
    ACTIVITY_JSON,
    AS_NAMESPACE,
    LD_JSON,
    LD_JSON_AS,
)


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


def error_response(status: int, reason: str, **headers: str) -> HttpResponse:
    """A JSON error: ``{"error": reason}``; tells the client what went wrong."""
    response = HttpResponse(
        json.dumps({"error": reason}).encode("utf-8"),
        content_type="application/json",
        status=status,
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    patch_vary_headers(response, ("Accept",))
    return response
