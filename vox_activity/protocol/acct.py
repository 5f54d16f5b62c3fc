"""The one ``acct:`` parser (RFC 7565), as Mastodon users type addresses.

``acct:alice@example.com``, ``@alice@example.com`` and ``alice@example.com``
all name the account ``alice`` on ``example.com``.
"""

from __future__ import annotations

from urllib.parse import unquote

__all__ = ["parse_acct"]


def parse_acct(value: object) -> tuple[str, str] | None:
    """``(user, host)`` of an account address, or None if it is not one."""
    if not isinstance(value, str):
        return None
    handle = value.strip()
    if handle[:5].lower() == "acct:":
        handle = handle[5:]
    handle = handle.removeprefix("@")
    user, _, host = handle.rpartition("@")
    user = unquote(user)
    if (
        not user
        or not host
        or any(c in host for c in "/?#@ ")
        or not host.isprintable()
    ):
        return None
    return user, host
