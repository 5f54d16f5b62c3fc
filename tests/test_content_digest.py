"""RFC 9530 Content-Digest: the RFC's examples, accepted and refused values.

Every value of the header that is not a matching sha-256 or sha-512 digest is
refused with a SignatureError naming why, whatever the generated input.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from vox_activity.exceptions import SignatureError
from vox_activity.protocol.rfc9421 import (
    MAX_FIELD_LENGTH,
    check_content_digest,
    content_digest,
)

from .support.rfc9421 import HELLO, HELLO_256, HELLO_512, reason_of

# --- RFC 9530: Content-Digest ---------------------------------------------------
# The values are the RFC 9530 Appendix B examples ({"hello": "world"} is also
# the body of RFC 9421's test-request).

#: RFC 9530 B.4: the Brotli-encoded {"hello": "world"}, shown there in base64.
BROTLI = base64.b64decode("iwiAeyJoZWxsbyI6ICJ3b3JsZCJ9Aw==")


@pytest.mark.parametrize(
    ("body", "algorithm", "expected"),
    [
        (HELLO, "sha-256", HELLO_256),
        (HELLO, "sha-512", HELLO_512),
        (b"", "sha-256", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"),
        (
            b'"hello"',
            "sha-256",
            "sha-256=:Wqdirjg/u3J688ejbUlApbjECpiUUtIwT8lY/z81Tno=:",
        ),
        (BROTLI, "sha-256", "sha-256=:4REjxQ4yrqUVicfSKYNO/cF9zNj5ANbzgDZt3/h3Qxo=:"),
        (
            BROTLI,
            "sha-512",
            "sha-512=:pxo7aYzcGI88pnDnoSmAnaOEVys0MABhgvHY9+VI+ElE60jBCwnMPyA/"
            "s3NF3ZO5oIWA7lf8ukk+5KJzm3p5og==:",
        ),
        (
            b'{"title": "New Title"}',
            "sha-256",
            "sha-256=:bWopGGNiZtbVgHsG+I4knzfEJpmmmQHf7RHDXA3o1hQ=:",
        ),
    ],
)
def test_content_digest_matches_rfc9530_examples(body, algorithm, expected):
    assert content_digest(body, algorithm) == expected
    check_content_digest(expected, body)
    assert reason_of(check_content_digest, expected, body + b" ") == (
        "Content-Digest does not match the body"
    )


def test_content_digest_defaults_to_sha256_and_refuses_others():
    assert content_digest(HELLO) == HELLO_256
    with pytest.raises(ValueError, match="unsupported digest algorithm 'md5'"):
        content_digest(HELLO, "md5")


@pytest.mark.parametrize(
    "value",
    [
        f"{HELLO_256}, {HELLO_512}",
        f"{HELLO_512},{HELLO_256}",
        f"unixsum=:AAAA:, {HELLO_256}",  # unknown members are ignored (RFC 9530 §2)
        f"  {HELLO_512}  ",
        f"{HELLO_256};future=1",
    ],
)
def test_check_content_digest_accepts(value):
    check_content_digest(value, HELLO)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("unixsum=:AAAA:", "Content-Digest has no sha-256 or sha-512 digest"),
        ("", "Content-Digest has no sha-256 or sha-512 digest"),
        (
            f"{HELLO_256}, sha-512=:AAAA:",
            "Content-Digest does not match the body",
        ),  # every known member must match
        ('sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="', "not a byte seq"),
        ("sha-256=X48E9", "sha-256 is not a byte sequence"),
        ("SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", "malformed"),
        (f"{HELLO_256}, {HELLO_256}", "sha-256 is given twice"),
        ("sha-256=:!!!:", "malformed Content-Digest header"),
        (f"{HELLO_256}, é", "non-ASCII"),
        ("sha-256=:" + "A" * MAX_FIELD_LENGTH + ":", "too long"),
    ],
)
def test_check_content_digest_refuses(value, reason):
    assert reason in reason_of(check_content_digest, value, HELLO)


@given(st.text(max_size=200))
@example("sha-256=:")
@example("sha-256=(a b), sha-512=?1")
@example("a=1;b;c=2.5, sha-256=@123")
def test_check_content_digest_only_ever_raises_signature_error(value):
    with pytest.raises(SignatureError):
        check_content_digest(value, HELLO)
