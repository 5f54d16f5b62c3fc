"""``acct:`` account addresses (RFC 7565): one parser and one formatter.

People write an account three ways: ``acct:alice@social.example`` (the URI
WebFinger asks for), ``@alice@social.example`` (how Mastodon shows it) and
``alice@social.example``.  :func:`parse_acct` reads all three and refuses
anything that is not clearly one account on one host, so that a URL, a path
or a bare name is never mistaken for an address on another server.

RFC 7565 section 7: the user part is percent-encoded where it holds
characters that would end it (``@``) or break the URI; :func:`parse_acct`
returns it decoded and :func:`acct_uri` encodes it again.  Non-ASCII letters
are written as they are, as Mastodon writes them.  One exception to the
RFC, for the same reason: an instance actor is named after its domain, port
included on a development server (``127.0.0.1:8000``), and Mastodon and our
own WebFinger write that name with a raw colon; a name of that one shape is
read and written with its colon as it is.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["acct_uri", "parse_acct"]

#: A host as RFC 3986 allows it in an authority, with an optional port: a
#: name (non-ASCII letters allowed: internationalised names) or a bracketed
#: IPv6 literal.  No user info, path, query or fragment.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[^\s/?#@\[\]:\\%]+)(?::[0-9]{1,5})?")
#: What never appears raw in a user part: characters that end it, belong to
#: another part of a URI, or are white space; and a ``%`` that starts no
#: escape.  (A colon only in a domain-named account: :data:`_DOMAIN_NAME`.)
_NOT_IN_USER = re.compile(r"[\s/?#@\[\]\\\"<>`{|}^]|%(?![0-9A-Fa-f]{2})")
#: The name of an instance actor on a port: ``host:8000``.
_DOMAIN_NAME = re.compile(r"[^:]+:[0-9]{1,5}")
#: Characters percent-encoded when writing a user part.
_ESCAPED = frozenset('%@/?#[]"<>\\^`{|}: ')


def parse_acct(value: str) -> tuple[str, str] | None:
    """``acct:alice@host``, ``@alice@host`` or ``alice@host`` → ``("alice", "host")``.

    The name comes back percent-decoded, the host lower-cased (hosts are
    case-insensitive; names are compared by whoever owns them).  Returns
    None for anything else: an empty name or host, a second ``@`` in the
    name, a host with a path, query, fragment or user info, another URI
    scheme (``https:``, ``mailto:``), white space inside, a broken
    ``%`` escape, a control character once decoded.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[:5].lower() == "acct:":
        text = text[5:]
    elif text.startswith("@"):
        text = text[1:]
    user, at, host = text.rpartition("@")
    if not at or not user or _NOT_IN_USER.search(user):
        return None
    if ":" in user and not _DOMAIN_NAME.fullmatch(user):
        return None  # another scheme (mailto:), or a colon to encode
    if not _HOST.fullmatch(host):
        return None
    name = unquote(user)
    if not name or not name.isprintable():
        return None
    return name, host.lower()


def acct_uri(name: str, host: str) -> str:
    """``("alice", "host")`` → ``acct:alice@host``, the name percent-encoded
    (but for the colon of a domain-named account, see the module docstring).
    """
    raw_colon = bool(_DOMAIN_NAME.fullmatch(name))
    user = "".join(
        f"%{ord(ch):02X}" if _escaped(ch) and not (raw_colon and ch == ":") else ch
        for ch in name
    )
    return f"acct:{user}@{host}"


def _escaped(ch: str) -> bool:
    return ch in _ESCAPED or ord(ch) < 32 or ord(ch) == 127
