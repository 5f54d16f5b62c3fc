"""Which usernames other servers can take: the rule, and why a name fails it.

A local actor is known to the Fediverse as ``preferredUsername@<site host>``
(its WebFinger ``acct:``).  Mastodon, and the servers that follow it,
require that handle to be a real username (mastodon/mastodon
``FEDERATION.md``: "each ActivityPub actor uniquely maps back to an
``acct:`` URI that can be resolved via WebFinger").  Its rule for the
usernames of *remote* accounts (``app/models/account.rb``)::

    USERNAME_RE      = /[a-z0-9_]+([.-]+[a-z0-9_]+)*/i
    USERNAME_ONLY_RE = /\\A#{USERNAME_RE}\\z/i
    USERNAME_LENGTH_HARD_LIMIT = 2048
    validates :username, format: { with: USERNAME_ONLY_RE },
              length: { maximum: USERNAME_LENGTH_HARD_LIMIT }, if: remote?

that is: ASCII letters, digits and underscores, with dots and dashes only
between them (never first or last), at most 2048 characters.  An account
whose username fails it is never saved: such an actor cannot be followed
from Mastodon, nor can its posts be shown there.

``@`` is the dangerous case.  An actor named ``admin@other.example`` has the
WebFinger subject ``acct:admin@other.example@this.example``, and Mastodon
splits ``acct:`` on every ``@`` (``ActivityPub::FetchRemoteActorService
#split_acct``): it reads ``admin`` at ``other.example``, somebody else.

Case: Mastodon compares usernames case-insensitively (its
``UniqueUsernameValidator`` lower-cases both sides; WebFinger answers are
compared with ``casecmp``), so ``Alice`` and ``alice`` on one server are one
account to it, and the second one it meets is refused.  :func:`username_key`
gives the form to compare local names by.

Early Mastodon releases accepted no dash at all.  The letters here are
ASCII only: the class spells out both cases rather than using
``re.IGNORECASE``, which in Python also matches the Kelvin sign and the
long s against ``[a-z]``.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

__all__ = [
    "USERNAME_MAX_LENGTH",
    "is_federatable_username",
    "username_key",
    "username_problem",
    "validate_federatable_username",
]

#: Mastodon's ``Account::USERNAME_LENGTH_HARD_LIMIT`` for remote accounts.
USERNAME_MAX_LENGTH = 2048

_WORD = "A-Za-z0-9_"
_USERNAME = re.compile(rf"[{_WORD}]+(?:[.\-]+[{_WORD}]+)*\Z", re.ASCII)
_ALLOWED_CHARACTER = re.compile(rf"[{_WORD}.\-]", re.ASCII)


def is_federatable_username(name: str) -> bool:
    """Whether other servers (Mastodon first) accept ``name`` as a username."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= USERNAME_MAX_LENGTH
        and _USERNAME.match(name) is not None
    )


def _describe(character: str) -> str:
    label = unicodedata.name(character, None)
    code = f"U+{ord(character):04X}"
    shown = repr(character) if character.isprintable() else code
    return f"{shown} ({label.lower()})" if label else shown


def username_problem(name: object) -> str | None:
    """Why ``name`` cannot be a federated username, in one sentence; or None.

    Meant for a system-check or form message: it names the first problem
    found, most telling first (an ``@``, spaces, a character outside ASCII
    letters, digits, ``_``, ``.`` and ``-``, a dot or dash at either end).
    """
    if not isinstance(name, str):
        return f"A username must be a string, not {type(name).__name__}."
    if not name:
        return "The username is empty."
    if len(name) > USERNAME_MAX_LENGTH:
        return (
            f"The username is {len(name)} characters long; Mastodon accepts "
            f"at most {USERNAME_MAX_LENGTH}."
        )
    if "@" in name:
        return (
            f"{name!r} contains '@': its handle {name}@<this site> would read as "
            "an account on another server."
        )
    for character in name:
        if not _ALLOWED_CHARACTER.match(character):
            what = "whitespace" if character.isspace() else _describe(character)
            return (
                f"{name!r} contains {what}; usernames other servers accept have "
                "only ASCII letters, digits, '_', '.' and '-'."
            )
    if name[0] in ".-" or name[-1] in ".-":
        return f"{name!r} starts or ends with '.' or '-'; Mastodon refuses that."
    return None


def username_key(name: str) -> str:
    """``name`` as Mastodon compares usernames: case-insensitively.

    Two local actors whose keys are equal are one account to Mastodon; a
    check can group names by this key to find them.
    """
    return name.lower()


def validate_federatable_username(name: str) -> None:
    """A Django validator: raise ``ValidationError`` with the reason."""
    problem = username_problem(name)
    if problem is not None:
        raise ValidationError(problem, code="not_federatable")
