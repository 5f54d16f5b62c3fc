"""Which usernames other servers accept (vox_activity.protocol.usernames).

The rule is Mastodon's for remote accounts (``Account::USERNAME_ONLY_RE``,
at most ``USERNAME_LENGTH_HARD_LIMIT`` characters); the names below are the
kinds real sites have: Django's default validator allows ``@``, ``.``,
``+``, ``-`` and any Unicode letter, and sites often use e-mail addresses.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from vox_activity.protocol.usernames import (
    USERNAME_MAX_LENGTH,
    is_federatable_username,
    username_key,
    username_problem,
    validate_federatable_username,
)

ACCEPTED = [
    "alice",
    "Gargron",  # case is kept; Mastodon compares it case-insensitively
    "bob_smith",
    "_",
    "__init__",
    "x",
    "1234",
    "jean.dupont",
    "mary-jane",
    "a.b-c_d",
    "a..b",  # dots and dashes may run together in the middle
    "a.-b",
    "a" * USERNAME_MAX_LENGTH,
]

REFUSED = {
    "": "empty",
    "admin@other.example": "contains '@'",
    "alice@": "contains '@'",
    "@alice": "contains '@'",
    "john.doe@example.com": "contains '@'",
    "mary jane": "whitespace",
    " alice": "whitespace",
    "alice\n": "whitespace",
    "tab\there": "whitespace",
    "Zoë": "'ë' (latin small letter e with diaeresis)",
    "José": "'é' (latin small letter e with acute)",
    "Ærøskøbing": "'Æ' (latin capital letter ae)",
    "山田": "'山' (cjk unified ideograph-5c71)",
    "Дмитрий": "'Д' (cyrillic capital letter de)",
    "p\u0430ypal": "'\u0430' (cyrillic small letter a)",  # a look-alike
    "kelvin\u212a": "'\u212a' (kelvin sign)",  # matches [a-z] under re.IGNORECASE
    "long\u017fs": "'\u017f' (latin small letter long s)",
    "zero\u200bwidth": "U+200B (zero width space)",
    "nul\x00": "U+0000",
    "alice+news": "'+' (plus sign)",
    "o'brien": '"\'" (apostrophe)',
    "a/b": "'/' (solidus)",
    "a:b": "':' (colon)",
    "a%40b": "'%' (percent sign)",
    ".alice": "starts or ends with '.' or '-'",
    "alice.": "starts or ends with '.' or '-'",
    "-alice": "starts or ends with '.' or '-'",
    "alice-": "starts or ends with '.' or '-'",
    ".": "starts or ends with '.' or '-'",
    "-": "starts or ends with '.' or '-'",
    "a" * (USERNAME_MAX_LENGTH + 1): "2049 characters long; Mastodon accepts at most",
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_names_mastodon_accepts(name):
    assert is_federatable_username(name)
    assert username_problem(name) is None
    validate_federatable_username(name)  # does not raise


@pytest.mark.parametrize(("name", "reason"), REFUSED.items())
def test_names_mastodon_refuses_and_why(name, reason):
    assert not is_federatable_username(name)
    problem = username_problem(name)
    assert problem is not None and reason in problem
    with pytest.raises(ValidationError) as raised:
        validate_federatable_username(name)
    assert raised.value.code == "not_federatable"
    assert raised.value.messages == [problem]


def test_the_at_sign_is_explained_as_another_servers_account():
    assert username_problem("admin@other.example") == (
        "'admin@other.example' contains '@': its handle "
        "admin@other.example@<this site> would read as an account on another "
        "server."
    )


@pytest.mark.parametrize("name", [None, 42, b"alice", ["alice"]])
def test_non_strings_are_refused(name):
    assert not is_federatable_username(name)
    assert "must be a string" in username_problem(name)


def test_username_key_groups_names_mastodon_takes_for_one():
    names = ["Alice", "alice", "ALICE", "bob", "Bob.Smith", "bob.smith"]
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(username_key(name), []).append(name)
    assert {key: group for key, group in groups.items() if len(group) > 1} == {
        "alice": ["Alice", "alice", "ALICE"],
        "bob.smith": ["Bob.Smith", "bob.smith"],
    }


# Mastodon's USERNAME_ONLY_RE, transcribed to Python with ASCII-only classes.
MASTODON_USERNAME = re.compile(r"[a-zA-Z0-9_]+(?:[.-]+[a-zA-Z0-9_]+)*", re.ASCII)

NAMES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="aZ09_.-@ é", max_size=12),
)


@given(NAMES)
def test_the_rule_is_mastodons_and_the_reason_agrees(name):
    expected = MASTODON_USERNAME.fullmatch(name) is not None
    assert is_federatable_username(name) is expected
    assert (username_problem(name) is None) is expected


def test_a_long_hostile_name_is_judged_quickly():
    """No backtracking blow-up: the classes around the separators are disjoint."""
    name = "a." * 1000 + "!"
    assert not is_federatable_username(name)
    assert "'!'" in username_problem(name)
