"""Reading a JSON request body safely: size, syntax, and what databases can store.

Shared by the inbox (server-to-server) and the outbox (client-to-server), so
both refuse the same bad input with the same 4xx and reason.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest


class PayloadError(Exception):
    """The body cannot be used; ``status`` (4xx) and ``reason`` say why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json_object(request: HttpRequest, limit: int) -> dict[str, Any]:
    """The body as a JSON object, or :class:`PayloadError`.

    Refuses bodies over ``limit`` bytes (413), invalid or too deeply nested
    JSON, ``NaN``/``Infinity`` (not JSON, and databases refuse them), text a
    database cannot hold (NUL characters, lone surrogates) and anything but
    an object (400).
    """
    length = request.headers.get("Content-Length", "")
    if length and not (length.isascii() and length.isdigit()):
        raise PayloadError(400, "The Content-Length header is not a number.")
    if length and int(length) > limit:
        raise PayloadError(413, f"The body is larger than {limit} bytes.")
    try:
        body = request.body
    except RequestDataTooBig as exc:  # no Content-Length and too much data
        raise PayloadError(413, f"The body is larger than {limit} bytes.") from exc
    if len(body) > limit:
        raise PayloadError(413, f"The body is larger than {limit} bytes.")
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except RecursionError as exc:
        raise PayloadError(400, "The JSON is nested too deeply.") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(400, f"The body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PayloadError(400, "The body must be a JSON object (an activity).")
    if not _storable(data):
        raise PayloadError(
            400, "The JSON holds text a database cannot store (NUL or lone surrogates)."
        )
    return data


def _storable(data: Any) -> bool:
    """No NUL character and no lone surrogate in any key or string value."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True
