"""The one IRI parser: every IRI that comes from outside passes through here.

Activities, objects, addressing, tags, collections, key ids, actor documents
and WebFinger answers are full of IRIs written by strangers.  Python's
``urlsplit`` raises on some of them (``http://[broken/note``, a port that is
not a number) and accepts others that must never be trusted (user info that
makes ``https://mastodon.social@evil.example/`` look like mastodon.social,
control characters, a host that is not a host).  So every caller asks this
module, which never raises anything but :class:`~vox_activity.exceptions.Refused`
(a 400 naming the field), and answers "what server is this?" the same way
everywhere (:func:`origin_of`).

What is accepted: an absolute ``http`` or ``https`` IRI of at most
:data:`IRI_MAX_LENGTH` characters, with a host (a DNS name, IDNA-encodable,
or an IP literal) and no user info, an optional port in 1-65535, and no
whitespace, control characters or the characters RFC 3987 forbids outright
(``<>"{}\\^``\\``).  Non-ASCII letters are fine (IRIs, not URIs).  Fragments are
fine: Mastodon's key ids (``#main-key``) and Like ids (``#likes/1``) have them.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import SplitResult, urlsplit

from vox_activity.exceptions import Refused

__all__ = [
    "IRI_MAX_LENGTH",
    "ParsedIri",
    "ascii_int",
    "check_iri",
    "is_iri",
    "origin_of",
    "parse_iri",
    "same_origin",
]

#: Longest IRI accepted (and stored): the column size of every IRI field.
IRI_MAX_LENGTH = 2048

_DEFAULT_PORTS = {"http": 80, "https": 443}
_FORBIDDEN = frozenset('<>"{}\\^`')
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class ParsedIri:
    """An IRI that passed :func:`parse_iri`; ``value`` is exactly as given."""

    value: str
    scheme: str
    host: str  # lower case, IDNA-encoded; IPv6 without brackets
    port: int  # the default port when none is written
    path: str
    query: str
    fragment: str

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``, lower case, default port left out."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != _DEFAULT_PORTS[self.scheme]:
            host = f"{host}:{self.port}"
        return f"{self.scheme}://{host}"

    @property
    def without_fragment(self) -> str:
        return self.value.partition("#")[0]


def _why_not(value: Any) -> str | ParsedIri:
    """The parsed IRI, or why ``value`` is not one (a phrase for an error)."""
    if not isinstance(value, str) or not value:
        return "is missing or not a string"
    return _why_not_text(value)


@functools.lru_cache(maxsize=1024)
def _why_not_text(value: str) -> str | ParsedIri:
    """:func:`_why_not` of a string, remembered: an activity names the same
    few IRIs many times (its actor in ``actor``, ``attributedTo``, the key id),
    and both answers are immutable (a phrase, a frozen :class:`ParsedIri`)."""
    if len(value) > IRI_MAX_LENGTH:
        return f"is longer than {IRI_MAX_LENGTH} characters"
    for char in value:
        if char.isspace() or not char.isprintable() or char in _FORBIDDEN:
            return "contains whitespace, control or forbidden characters"
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return "is not a well-formed IRI"
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return "must be an absolute http(s) IRI"
    if "@" in parts.netloc:
        return "must not contain user info"
    host = _checked_host(parts)
    if host is None:
        return "does not name a valid host"
    if port == 0:
        return "has port 0"
    return ParsedIri(
        value=value,
        scheme=scheme,
        host=host,
        port=port if port is not None else _DEFAULT_PORTS[scheme],
        path=parts.path,
        query=parts.query,
        fragment=parts.fragment,
    )


def _checked_host(parts: SplitResult) -> str | None:
    """The host, lower case and IDNA-encoded, or None if it is not a host."""
    raw = parts.hostname
    if not raw:
        return None
    if parts.netloc.startswith("[") or ":" in raw:
        try:
            return str(ipaddress.IPv6Address(raw.split("%", 1)[0]))
        except ValueError:
            return None
    try:
        encoded = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    name = encoded.rstrip(".")
    if not name or len(name) > 253:
        return None
    if all(_LABEL.match(label) for label in name.split(".")):
        return name
    return None


def parse_iri(value: Any, field: str) -> ParsedIri:
    """``value`` parsed, or :class:`Refused` (400) naming ``field``."""
    result = _why_not(value)
    if isinstance(result, str):
        raise Refused(400, f'"{field}" {result}.')
    return result


def check_iri(value: Any, field: str) -> str:
    """``value`` if it is a usable IRI, else :class:`Refused` (400) naming ``field``."""
    return parse_iri(value, field).value


def is_iri(value: Any) -> TypeGuard[str]:
    """Is ``value`` a usable absolute http(s) IRI?  Never raises."""
    return isinstance(_why_not(value), ParsedIri)


def origin_of(iri: Any) -> str:
    """``scheme://host[:port]`` of an IRI: what "same server" means.

    Lower case, IDNA-encoded, default port left out, so that two spellings
    of one server compare equal.  An unusable IRI has the origin ``""``,
    which equals no real origin (and callers must not compare two unusable
    IRIs as "the same server").
    """
    result = _why_not(iri)
    return result.origin if isinstance(result, ParsedIri) else ""


def same_origin(first: Any, second: Any) -> bool:
    """Are both usable IRIs on the same server?"""
    origin = origin_of(first)
    return bool(origin) and origin == origin_of(second)


def ascii_int(value: Any) -> int | None:
    """``value`` as a non-negative int if it is ASCII digits only, else None.

    ``str.isdigit`` is true for ``"²"`` and other digits ``int()`` refuses:
    query parameters, ``Content-Length`` and ``Retry-After`` come from
    strangers, so they are read with this.
    """
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
