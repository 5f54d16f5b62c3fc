"""vox_activity.protocol.acct: the one acct: parser (RFC 7565), and its formatter."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vox_activity.protocol.acct import acct_uri, parse_acct


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acct:alice@social.example", ("alice", "social.example")),
        ("@alice@social.example", ("alice", "social.example")),
        ("alice@social.example", ("alice", "social.example")),
        ("  acct:alice@social.example\n", ("alice", "social.example")),
        # The scheme and the host are case-insensitive; the name is kept.
        ("ACCT:Alice@Social.Example", ("Alice", "social.example")),
        ("alice@127.0.0.1:8000", ("alice", "127.0.0.1:8000")),
        ("alice@[::1]:8000", ("alice", "[::1]:8000")),
        ("zoë@bücher.example", ("zoë", "bücher.example")),
        # Percent-encoded: an @ in the name, and the domain-named instance actor.
        ("acct:a%40b@social.example", ("a@b", "social.example")),
        ("acct:host%3A8000@host:8000", ("host:8000", "host:8000")),
        # ... or, as Mastodon and our WebFinger write it, with a raw colon.
        ("acct:127.0.0.1:8000@127.0.0.1:8000", ("127.0.0.1:8000", "127.0.0.1:8000")),
    ],
)
def test_accepted(value, expected):
    assert parse_acct(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "alice",
        "@alice",
        "acct:alice",
        "alice@",
        "@alice@",
        "@@social.example",
        "acct:@social.example",
        "acct:@alice@social.example",
        "a@b@social.example",
        "al ice@social.example",
        "alice@social .example",
        "alice@social.example/path",
        "alice@social.example?x=1",
        "alice@social.example#frag",
        "alice@social.example:http",
        "alice@[::1",
        "https://social.example/@alice",
        "https://alice@social.example",
        "mailto:alice@social.example",
        "a:b@social.example",
        "localhost:80x@social.example",
        "/~alice/",
        "acct:%0A@social.example",
        "acct:%@social.example",
    ],
)
def test_refused(value):
    assert parse_acct(value) is None


def test_not_a_string():
    assert parse_acct(None) is None  # type: ignore[arg-type]


def test_acct_uri_encodes_what_would_end_the_name():
    assert acct_uri("alice", "social.example") == "acct:alice@social.example"
    assert acct_uri("a@b c", "h") == "acct:a%40b%20c@h"
    assert acct_uri("a:b", "h") == "acct:a%3Ab@h"
    # The instance actor on a port, as Mastodon writes it.
    assert acct_uri("h:8000", "h:8000") == "acct:h:8000@h:8000"
    assert acct_uri("%41:1", "h") == "acct:%2541:1@h"
    assert acct_uri("zoë", "h") == "acct:zoë@h"


names = st.text(
    st.characters(whitelist_categories=("L", "N", "P", "S"), max_codepoint=0x2FFF),
    min_size=1,
    max_size=20,
)
hosts = st.from_regex(
    r"[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?(:[0-9]{1,5})?", fullmatch=True
)


@given(names, hosts)
def test_acct_uri_and_parse_acct_round_trip(name, host):
    assert parse_acct(acct_uri(name, host)) == (name, host)


@given(names, st.integers(0, 99999), hosts)
def test_domain_named_accounts_round_trip(name, port, host):
    assert parse_acct(acct_uri(f"{name}:{port}", host)) == (f"{name}:{port}", host)
