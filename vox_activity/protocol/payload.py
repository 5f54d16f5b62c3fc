"""Reading a JSON request body safely: size, syntax, and what databases can store.

Shared by the inbox (server-to-server) and the outbox (client-to-server), so
both refuse the same bad input with the same 4xx and reason.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from vox_activity.exceptions import Refused
from vox_activity.protocol.iri import ascii_int

__all__ = ["MAX_DEPTH", "parse_json_object", "read_json_object"]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


#: Deepest nesting of arrays and objects accepted.  Real activities nest a
#: handful of levels; anything near Python's recursion limit is an attack.
MAX_DEPTH = 64


def read_json_object(request: HttpRequest, limit: int) -> dict[str, Any]:
    """The request body as a JSON object, or :class:`Refused`.

    Refuses bodies over ``limit`` bytes (413) and whatever
    :func:`parse_json_object` refuses (400).
    """
    length = request.headers.get("Content-Length", "")
    if length and ascii_int(length) is None:
        raise Refused(400, "The Content-Length header is not a number.")
    if length and int(length) > limit:
        raise Refused(413, f"The body is larger than {limit} bytes.")
    try:
        body = request.body
    except RequestDataTooBig as exc:  # no Content-Length and too much data
        raise Refused(413, f"The body is larger than {limit} bytes.") from exc
    if len(body) > limit:
        raise Refused(413, f"The body is larger than {limit} bytes.")
    return parse_json_object(body)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object we can store and serve, or :class:`Refused`.

    Used for everything that comes from elsewhere: request bodies and fetched
    documents alike.  Refuses invalid JSON, nesting deeper than
    :data:`MAX_DEPTH`, ``NaN``/``Infinity`` (not JSON, and databases refuse
    them), text a database cannot hold (NUL characters, lone surrogates) and
    anything but an object.
    """
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except RecursionError as exc:
        raise Refused(400, "The JSON is nested too deeply.") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, f"The body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise Refused(400, "The body must be a JSON object (an activity).")
    problem = _unstorable(data)
    if problem:
        raise Refused(400, problem)
    return data


def _unstorable(data: Any) -> str | None:
    """Why ``data`` cannot be stored and served, or None if it can."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                return f"The JSON is nested more than {MAX_DEPTH} levels deep."
            items = (
                [*value.keys(), *value.values()] if isinstance(value, dict) else value
            )
            pending.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "The JSON holds text that is not valid Unicode."
            if "\x00" in value:
                return "The JSON holds NUL characters, which databases cannot store."
    return None
