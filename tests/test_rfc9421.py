"""RFC 9421 HTTP Message Signatures and RFC 9530 Content-Digest.

The RFCs' own examples (signature bases, signatures, digests), interop with
the independent ``http-message-signatures`` package both ways, round trips,
our acceptance rules one by one, tampering, and hostile headers.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import http_message_signatures as hms
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from django.test import override_settings
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, algorithms
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.rfc9421 import (
    MAX_FIELD_LENGTH,
    Component,
    SignatureInput,
    Verified,
    check_content_digest,
    content_digest,
    create_signature,
    has_rfc9421_signature,
    key_id_of,
    parse_signatures,
    select_signature,
    sign_request,
    signature_base,
    signature_scheme_of,
    verify_request,
    verify_signature,
)

KEYS = Path(__file__).parent / "data" / "rfc9421"


def private(name: str) -> str:
    return (KEYS / f"{name}.key").read_text()


def public(name: str) -> str:
    return (KEYS / f"{name}.pem").read_text()


RSA, PSS, ED = "test-key-rsa", "test-key-rsa-pss", "test-key-ed25519"


def reason_of(call, *args, exception=SignatureError, **kwargs) -> str:
    with pytest.raises(exception) as info:
        call(*args, **kwargs)
    return info.value.reason


# --- RFC 9530: Content-Digest ---------------------------------------------------
# The values are the RFC 9530 Appendix B examples ({"hello": "world"} is also
# the body of RFC 9421's test-request).

HELLO = b'{"hello": "world"}'
HELLO_256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
HELLO_512 = (
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNN"
    "yealdVLvRwEmTHWXvJwew==:"
)
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


# --- RFC 9421 Appendix B.2: the test vectors --------------------------------------
# Requests, signature bases and signatures are copied from RFC 9421 (B.2 and,
# for the deterministic rsa-v1_5-sha256 example, §4.3), with the RFC 8792
# line wrapping undone.

RFC_URL = "https://example.com/foo?param=Value&Pet=dog"
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": HELLO_512,
    "Content-Length": "18",
}
RFC_CREATED = datetime.fromtimestamp(1618884473, UTC)

B21 = SimpleNamespace(
    key=PSS,
    input=(
        'sig-b21=();created=1618884473;keyid="test-key-rsa-pss"'
        ';nonce="b3k2pp5k7z-50gnwp.yemd"'
    ),
    signature=(
        "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx"
        "31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVu"
        "we8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mK"
        "ZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1f"
        "V5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:"
    ),
    base=(
        '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss"'
        ';nonce="b3k2pp5k7z-50gnwp.yemd"'
    ),
)
B22 = SimpleNamespace(
    key=PSS,
    input=(
        'sig-b22=("@authority" "content-digest" "@query-param";name="Pet")'
        ';created=1618884473;keyid="test-key-rsa-pss";tag="header-example"'
    ),
    signature=(
        "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiL"
        "MlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQi"
        "bbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7"
        "Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0"
        "tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:"
    ),
    base="\n".join(
        [
            '"@authority": example.com',
            f'"content-digest": {HELLO_512}',
            '"@query-param";name="Pet": dog',
            '"@signature-params": ("@authority" "content-digest" '
            '"@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss"'
            ';tag="header-example"',
        ]
    ),
)
B23 = SimpleNamespace(
    key=PSS,
    input=(
        'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" '
        '"content-digest" "content-length");created=1618884473'
        ';keyid="test-key-rsa-pss"'
    ),
    signature=(
        "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0K"
        "h1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme"
        "9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CC"
        "oC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBroh"
        "r9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:"
    ),
    base="\n".join(
        [
            '"date": Tue, 20 Apr 2021 02:07:55 GMT',
            '"@method": POST',
            '"@path": /foo',
            '"@query": ?param=Value&Pet=dog',
            '"@authority": example.com',
            '"content-type": application/json',
            f'"content-digest": {HELLO_512}',
            '"content-length": 18',
            '"@signature-params": ("date" "@method" "@path" "@query" "@authority" '
            '"content-type" "content-digest" "content-length");created=1618884473'
            ';keyid="test-key-rsa-pss"',
        ]
    ),
)
B26 = SimpleNamespace(
    key=ED,
    input=(
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" '
        '"content-length");created=1618884473;keyid="test-key-ed25519"'
    ),
    signature=(
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0"
        "w6vuQv5lIp5WPpBKRCw==:"
    ),
    base="\n".join(
        [
            '"date": Tue, 20 Apr 2021 02:07:55 GMT',
            '"@method": POST',
            '"@path": /foo',
            '"@authority": example.com',
            '"content-type": application/json',
            '"content-length": 18',
            '"@signature-params": ("date" "@method" "@path" "@authority" '
            '"content-type" "content-length");created=1618884473'
            ';keyid="test-key-ed25519"',
        ]
    ),
)
#: RFC 9421 §4.3: the proxy's rsa-v1_5-sha256 signature (the request's other
#: signature, sig1, is ecdsa-p256-sha256, which we do not support).
PROXY_URL = "https://origin.host.internal.example/foo?param=Value&Pet=dog"
PROXY_HEADERS = {
    "Host": "origin.host.internal.example",
    "Date": "Tue, 20 Apr 2021 02:07:56 GMT",
    "Content-Type": "application/json",
    "Content-Length": "18",
    "Forwarded": "for=192.0.2.123;host=example.com;proto=https",
    "Content-Digest": HELLO_512,
}
PROXY = SimpleNamespace(
    key=RSA,
    input=(
        'proxy_sig=("@method" "@authority" "@path" "content-digest" "content-type" '
        '"content-length" "forwarded");created=1618884480;keyid="test-key-rsa"'
        ';alg="rsa-v1_5-sha256";expires=1618884540'
    ),
    signature=(
        "proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8"
        "Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2g"
        "xI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQf"
        "i8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+"
        "YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:"
    ),
    base="\n".join(
        [
            '"@method": POST',
            '"@authority": origin.host.internal.example',
            '"@path": /foo',
            f'"content-digest": {HELLO_512}',
            '"content-type": application/json',
            '"content-length": 18',
            '"forwarded": for=192.0.2.123;host=example.com;proto=https',
            '"@signature-params": ("@method" "@authority" "@path" "content-digest" '
            '"content-type" "content-length" "forwarded");created=1618884480'
            ';keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540',
        ]
    ),
)
VECTORS = {"B.2.1": B21, "B.2.2": B22, "B.2.3": B23, "B.2.6": B26, "4.3": PROXY}


def vector_request(vector) -> tuple[str, dict[str, str]]:
    url, headers = (
        (PROXY_URL, PROXY_HEADERS) if vector is PROXY else (RFC_URL, RFC_HEADERS)
    )
    return url, {
        **headers,
        "Signature-Input": vector.input,
        "Signature": vector.signature,
    }


def only_signature(headers) -> SignatureInput:
    (signature,) = parse_signatures(headers)
    return signature


#: RFC 9421 B.2.1 to B.2.3 have no ``alg``: "the verifier is known by the
#: application to use the RSA PSS algorithm based on the identified key".
KEY_ALGORITHM = {PSS: "rsa-pss-sha512", RSA: None, ED: None}


@pytest.mark.parametrize("name", list(VECTORS))
def test_rfc9421_signature_bases(name):
    vector = VECTORS[name]
    url, headers = vector_request(vector)
    assert signature_base("POST", url, headers, only_signature(headers)) == vector.base


@pytest.mark.parametrize("name", list(VECTORS))
def test_rfc9421_signatures_verify(name):
    vector = VECTORS[name]
    url, headers = vector_request(vector)
    signature = only_signature(headers)
    algorithm = verify_signature(
        "POST",
        url,
        headers,
        signature,
        public(vector.key),
        key_algorithm=KEY_ALGORITHM[vector.key],
    )
    assert algorithm == (KEY_ALGORITHM[vector.key] or signature.algorithm or "ed25519")
    # One flipped bit in the signature, and it no longer verifies.
    raw = signature.signature
    flipped = replace(signature, signature=bytes([raw[0] ^ 1]) + raw[1:])
    reason = reason_of(
        verify_signature,
        "POST",
        url,
        headers,
        flipped,
        public(vector.key),
        key_algorithm=KEY_ALGORITHM[vector.key],
        exception=KeyMismatch,
    )
    assert reason == "signature does not verify"


def test_the_applications_algorithm_must_agree_with_alg():
    # §4.3's proxy signature says alg="rsa-v1_5-sha256": a verifier that
    # knows the key as a PSS key refuses it rather than trusting either.
    url, headers = vector_request(PROXY)
    reason = reason_of(
        verify_signature,
        "POST",
        url,
        headers,
        only_signature(headers),
        public(RSA),
        key_algorithm="rsa-pss-sha512",
        exception=KeyMismatch,
    )
    assert reason == "algorithm rsa-v1_5-sha256 is not the key's rsa-pss-sha512"


def test_rfc9421_b21_covers_nothing_so_any_request_carries_it():
    # B.2.1 signs no component: the RFC warns it "could be applied by an
    # attacker to an unrelated HTTP message", which is why we require some.
    url, headers = vector_request(B21)
    signature = only_signature(headers)
    other = {"Signature-Input": B21.input, "Signature": B21.signature}
    verify_signature(
        "GET",
        "https://evil.example/",
        other,
        signature,
        public(PSS),
        key_algorithm="rsa-pss-sha512",
    )
    assert (
        reason_of(
            verify_request, "POST", url, headers, HELLO, public(PSS), now=RFC_CREATED
        )
        == "signature does not cover @method"
    )


@pytest.mark.parametrize("name", ["B.2.6", "4.3"])
def test_rfc9421_deterministic_signatures_are_reproduced_byte_for_byte(name):
    # Ed25519 and RSASSA-PKCS1-v1_5 are deterministic: signing the RFC's
    # signature base with the RFC's key must give the RFC's bytes.
    vector = VECTORS[name]
    url, headers = vector_request(vector)
    signature = only_signature(headers)
    assert create_signature("POST", url, headers, signature, private(vector.key)) == (
        signature.signature
    )


@pytest.mark.parametrize(
    ("name", "now", "exception", "reason"),
    [
        # No @method (and B.2.1 covers nothing at all).
        ("B.2.1", RFC_CREATED, SignatureError, "signature does not cover @method"),
        ("B.2.2", RFC_CREATED, SignatureError, "signature does not cover @method"),
        # Meets every coverage rule, but has no alg: an RSA key then means
        # rsa-v1_5-sha256 for us (as for Fedify and Mastodon), not PSS.
        ("B.2.3", RFC_CREATED, KeyMismatch, "signature does not verify"),
        # @path without @query on a URL with a query, and no Content-Digest
        # covered on a POST: the first rule to fail is the query one.
        (
            "B.2.6",
            RFC_CREATED,
            SignatureError,
            "signature does not cover @query, and the URL has a query",
        ),
        (
            "4.3",
            RFC_CREATED,
            SignatureError,
            "signature does not cover @query, and the URL has a query",
        ),
        # And, were it otherwise acceptable, 2021 is long past.
        (
            "B.2.3",
            datetime(2026, 1, 1, tzinfo=UTC),
            SignatureError,
            "signature created time is too old",
        ),
    ],
)
def test_which_of_our_rules_refuses_each_rfc_example(name, now, exception, reason):
    vector = VECTORS[name]
    url, headers = vector_request(vector)
    with pytest.raises(exception) as info:
        verify_request("POST", url, headers, HELLO, public(vector.key), now=now)
    assert info.value.reason == reason


def test_rfc9421_43_proxy_signature_expires():
    _, headers = vector_request(PROXY)
    # @query is not covered: on the URL without its query, the proxy's
    # signature still verifies and meets our rules...
    url = "https://origin.host.internal.example/foo"
    signed_at = datetime.fromtimestamp(1618884480, UTC)
    result = verify_request("POST", url, headers, HELLO, public(RSA), now=signed_at)
    assert (result.label, result.key_id, result.algorithm) == (
        "proxy_sig",
        "test-key-rsa",
        "rsa-v1_5-sha256",
    )
    assert (result.created, result.expires) == (1618884480, 1618884540)
    # ... until its expires (a minute later) has passed.
    at_expiry = datetime.fromtimestamp(1618884540, UTC)
    verify_request("POST", url, headers, HELLO, public(RSA), now=at_expiry)
    assert (
        reason_of(
            verify_request,
            "POST",
            url,
            headers,
            HELLO,
            public(RSA),
            now=at_expiry + timedelta(seconds=1),
        )
        == "signature has expired"
    )


# --- RFC 9421 §2: component values ----------------------------------------------------


def base_of(components: str, *, url: str = RFC_URL, method: str = "POST", **headers):
    """The base lines (without @signature-params) for ``components``."""
    headers["Signature-Input"] = f'sig1=({components});created=1;keyid="k"'
    lines = signature_base(method, url, headers, only_signature(headers)).split("\n")
    return lines[:-1]


def test_rfc9421_field_values_are_trimmed_and_unfolded():
    # RFC 9421 §2.1's examples.
    assert base_of(
        '"x-ows-header" "x-obs-fold-header" "cache-control" "example-dict" '
        '"x-empty-header"',
        **{
            "X-OWS-Header": "   Leading and trailing whitespace.  ",
            "X-Obs-Fold-Header": "Obsolete\r\n    line folding.",
            "Cache-Control": "max-age=60, must-revalidate",
            "Example-Dict": " a=1,    b=2;x=1;y=2,   c=(a   b   c)",
            "X-Empty-Header": " ",
        },
    ) == [
        '"x-ows-header": Leading and trailing whitespace.',
        '"x-obs-fold-header": Obsolete line folding.',
        '"cache-control": max-age=60, must-revalidate',
        '"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)',
        '"x-empty-header": ',
    ]


def test_rfc9421_structured_field_parameters():
    # RFC 9421 §2.1.1 and §2.1.2's examples.
    dictionary = {"Example-Dict": "  a=1, b=2;x=1;y=2, c=(a   b    c), d"}
    assert base_of(
        '"example-dict";key="a" "example-dict";key="d" "example-dict";key="b" '
        '"example-dict";key="c"',
        **dictionary,
    ) == [
        '"example-dict";key="a": 1',
        '"example-dict";key="d": ?1',
        '"example-dict";key="b": 2;x=1;y=2',
        '"example-dict";key="c": (a b c)',
    ]
    assert base_of('"content-digest";sf', **{"Content-Digest": f"  {HELLO_256}"}) == [
        f'"content-digest";sf: {HELLO_256}'
    ]
    assert base_of('"cache-control";sf', **{"Cache-Control": "max-age=60 ,  a"}) == [
        '"cache-control";sf: max-age=60, a'
    ]


@pytest.mark.parametrize(
    ("components", "headers", "reason"),
    [
        ('"example-dict";key="z"', {"Example-Dict": "a=1"}, "has no member 'z'"),
        ('"example-dict";key="a"', {"Example-Dict": "a=("}, "malformed example-dict"),
        ('"example-dict";sf', {"Example-Dict": "a=1"}, "not a known structured"),
        ('"cache-control";sf', {"Cache-Control": "a=("}, "not a valid structured"),
        ('"example-dict";bs', {"Example-Dict": "a"}, "unsupported parameter bs"),
        ('"example-dict";req', {"Example-Dict": "a"}, "unsupported parameter req"),
        ('"example-dict";tr', {"Example-Dict": "a"}, "unsupported parameter tr"),
        ('"example-dict";sf=2', {"Example-Dict": "a=1"}, "sf on header"),
        ('"example-dict";key=1', {"Example-Dict": "a=1"}, "key on header"),
        ('"x-missing"', {}, "covered header x-missing is missing"),
        ('"x-nl"', {"X-NL": "a\nb"}, "x-nl has a line break"),
        ('"x-8bit"', {"X-8bit": "caf\xe9"}, "non-ASCII"),
        ('"@status"', {}, "unsupported derived component @status"),
        ('"@method";req', {}, "unsupported parameter req on component @method"),
        ('"@query-param"', {}, '@query-param needs exactly one string "name"'),
        ('"@query-param";name="nope"', {}, "query parameter 'nope' is not in the URL"),
    ],
)
def test_components_we_cannot_derive(components, headers, reason):
    headers["Signature-Input"] = f'sig1=({components});created=1;keyid="k"'
    signature = only_signature(headers)
    assert reason in reason_of(signature_base, "POST", RFC_URL, headers, signature)


def test_rfc9421_derived_components():
    # RFC 9421 §2.2's examples, and the normalisations it asks for.
    url = "https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman"
    assert base_of(
        '"@method" "@target-uri" "@authority" "@scheme" "@request-target" "@path" '
        '"@query"',
        url=url,
    ) == [
        '"@method": POST',
        f'"@target-uri": {url}',
        '"@authority": www.example.com',
        '"@scheme": https',
        '"@request-target": /path?param=value&foo=bar&baz=bat%2Dman',
        '"@path": /path',
        '"@query": ?param=value&foo=bar&baz=bat%2Dman',
    ]
    assert base_of('"@query" "@path"', url="http://www.example.com") == [
        '"@query": ?',
        '"@path": /',
    ]
    assert base_of('"@query"', url="http://www.example.com/path?queryString") == [
        '"@query": ?queryString'
    ]


@pytest.mark.parametrize(
    ("url", "target_uri", "authority"),
    [
        (
            "HTTPS://WWW.Example.COM:443/P?Q",
            "https://www.example.com/P?Q",
            "www.example.com",
        ),
        ("http://example.com:80", "http://example.com/", "example.com"),
        ("http://example.com:443/", "http://example.com:443/", "example.com:443"),
        (
            "https://u:pw@example.com:8443/x#frag",
            "https://example.com:8443/x",
            "example.com:8443",
        ),
        ("https://[::1]:8443/inbox", "https://[::1]:8443/inbox", "[::1]:8443"),
        (
            "https://bücher.example/ä?q=ü b",
            "https://xn--bcher-kva.example/%C3%A4?q=%C3%BC%20b",
            "xn--bcher-kva.example",
        ),
        ("https://example.com/a?", "https://example.com/a?", "example.com"),
    ],
)
def test_target_uri_and_authority_are_normalised(url, target_uri, authority):
    assert base_of('"@target-uri" "@authority"', url=url) == [
        f'"@target-uri": {target_uri}',
        f'"@authority": {authority}',
    ]


def test_rfc9421_query_params():
    # RFC 9421 §2.2.8: values (and names) are decoded, then percent-encoded
    # with the application/x-www-form-urlencoded set, spaces as %20.
    url = (
        "https://example.com/parameters?var=this%20is%20a%20big%0Amultiline%20value"
        "&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something&qux=&t=a~b"
    )
    assert base_of(
        '"@query-param";name="var" "@query-param";name="bar" '
        '"@query-param";name="fa%C3%A7ade%22%3A%20" "@query-param";name="qux" '
        '"@query-param";name="t"',
        url=url,
    ) == [
        '"@query-param";name="var": this%20is%20a%20big%0Amultiline%20value',
        '"@query-param";name="bar": with%20plus%20whitespace',
        '"@query-param";name="fa%C3%A7ade%22%3A%20": something',
        '"@query-param";name="qux": ',
        '"@query-param";name="t": a%7Eb',
    ]
    headers = {"Signature-Input": 'sig1=("@query-param";name="a");created=1;keyid="k"'}
    assert "occurs more than once" in reason_of(
        signature_base,
        "GET",
        "https://x.example/?a=1&a=2",
        headers,
        only_signature(headers),
    )


# --- keys, names and fixtures for our own requests --------------------------------

KEY_ID = "https://vox.example/actors/alice#main-key"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
CREATED = int(NOW.timestamp())
AP_JSON = "application/activity+json"
POST_URL = "https://remote.example:8443/users/bob/inbox?notify=1&x=%2F"
GET_URL = "https://remote.example:8443/users/bob/outbox?page=true"
BODY = b'{"type":"Follow","actor":"https://vox.example/actors/alice"}'
KEY_FOR_ALG = {"rsa-v1_5-sha256": RSA, "rsa-pss-sha512": PSS, "ed25519": ED}


def sign_post(body: bytes | None = BODY, algorithm="rsa-v1_5-sha256", **kwargs):
    return sign_request(
        "POST",
        POST_URL,
        {"Content-Type": AP_JSON},
        body,
        key_id=KEY_ID,
        private_key_pem=private(KEY_FOR_ALG[algorithm]),
        algorithm=algorithm,
        now=NOW,
        **kwargs,
    )


def verify_post(headers, body: bytes | None = BODY, key=RSA, url=POST_URL, **kwargs):
    kwargs.setdefault("now", NOW)
    return verify_request("POST", url, headers, body, public(key), **kwargs)


def forge(
    components: str,
    params: str = f'created={CREATED};keyid="{KEY_ID}"',
    *,
    method: str = "POST",
    url: str = POST_URL,
    body: bytes | None = BODY,
    key: str = RSA,
    label: str = "sig1",
    headers: dict[str, str] | None = None,
    sign_as: str | None = None,
) -> dict[str, str]:
    """Headers with a cryptographically valid signature over ``components``.

    Used to build requests that only a policy check (not the signature
    itself) can refuse, so each test fails if that one check is removed.
    ``sign_as`` signs the base with that RSA algorithm whatever ``alg``
    says (or does not say); an ``alg`` we do not support gets dummy bytes.
    """
    headers = {"Content-Type": AP_JSON, **(headers or {})}
    if body is not None and "Content-Digest" not in headers:
        headers["Content-Digest"] = content_digest(body)
    headers["Signature-Input"] = f"{label}=({components});{params}"
    signature = only_signature(headers)
    if sign_as is not None:
        rsa_key = serialization.load_pem_private_key(private(key).encode(), None)
        data = signature_base(method, url, headers, signature).encode()
        if sign_as == "rsa-pss-sha512":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
            value = rsa_key.sign(data, pss, hashes.SHA512())
        else:
            value = rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif signature.algorithm in ("hmac-sha256", "ecdsa-p256-sha256"):
        value = b"\x01\x02\x03"
    else:
        value = create_signature(method, url, headers, signature, private(key))
    headers["Signature"] = f"{label}=:{base64.b64encode(value).decode()}:"
    return headers


FULL = '"@method" "@target-uri" "content-digest"'


# --- round trips --------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519"])
def test_post_round_trip(algorithm):
    headers = sign_post(algorithm=algorithm)
    assert headers["Content-Type"] == AP_JSON
    assert headers["Content-Digest"] == content_digest(BODY)
    assert headers["Signature-Input"] == (
        f'sig1=("@method" "@target-uri" "content-digest");created={CREATED}'
        f';keyid="{KEY_ID}";alg="{algorithm}"'
    )
    assert headers["Signature"].startswith("sig1=:")
    result = verify_post(headers, key=KEY_FOR_ALG[algorithm])
    assert result == Verified(
        label="sig1",
        key_id=KEY_ID,
        algorithm=algorithm,
        created=CREATED,
        expires=None,
        components=(
            Component("@method"),
            Component("@target-uri"),
            Component("content-digest"),
        ),
    )
    assert result.names == ("@method", "@target-uri", "content-digest")
    assert key_id_of(headers) == KEY_ID


def test_get_round_trip_has_no_digest():
    headers = sign_request(
        "get",
        GET_URL,
        {"Accept": AP_JSON},
        None,
        key_id=KEY_ID,
        private_key_pem=private(ED),
        algorithm="ed25519",
        now=NOW,
    )
    assert "Content-Digest" not in headers
    assert only_signature(headers).names == ("@method", "@target-uri")
    result = verify_request("GET", GET_URL, headers, None, public(ED), now=NOW)
    assert result.algorithm == "ed25519"
    verify_request("GET", GET_URL, headers, b"", public(ED), now=NOW)


def test_empty_post_still_covers_a_digest_of_nothing():
    headers = sign_post(body=None)
    assert headers["Content-Digest"] == content_digest(b"")
    verify_post(headers, body=None)
    verify_post(headers, body=b"")
    assert reason_of(verify_post, headers, body=b"x") == (
        "Content-Digest does not match the body"
    )


def test_verify_accepts_key_objects_and_naive_times():
    headers = sign_post(algorithm="ed25519")
    key = serialization.load_pem_public_key(public(ED).encode())
    verify_request("POST", POST_URL, headers, BODY, key, now=NOW.replace(tzinfo=None))


def test_signing_and_verifying_default_to_the_current_time():
    headers = sign_request(
        "POST", POST_URL, {}, BODY, key_id=KEY_ID, private_key_pem=private(RSA)
    )
    verify_request("POST", POST_URL, headers, BODY, public(RSA))


def test_sign_keeps_headers_and_replaces_stale_signatures():
    headers = sign_request(
        "POST",
        POST_URL,
        {
            "Content-Type": AP_JSON,
            "content-digest": "sha-256=:AAAA:",
            "signature": 'keyId="cavage"',
            "SIGNATURE-INPUT": "old=()",
            "Accept": "x",
        },
        BODY,
        key_id=KEY_ID,
        private_key_pem=private(RSA),
        now=NOW,
    )
    assert {"content-digest", "signature", "SIGNATURE-INPUT"}.isdisjoint(headers)
    assert headers["Accept"] == "x"
    verify_post(headers)


def test_sign_can_cover_more_components_and_use_another_label():
    headers = sign_post(
        label="vox",
        components=["@method", "@authority", "@path", "@query", "content-type"],
    )
    assert headers["Signature-Input"].startswith(
        'vox=("@method" "@authority" "@path" "@query" "content-type" "content-digest")'
    )
    assert verify_post(headers).label == "vox"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algorithm": "hmac-sha256"}, "unsupported algorithm 'hmac-sha256'"),
        ({"algorithm": "ed25519"}, "cannot sign with an RSA key"),
        ({"label": "Sig1"}, "is not a structured field key"),
        ({"label": "a b"}, "is not a structured field key"),
        ({"key_id": "k\u00e9"}, "cannot be put in a Signature-Input"),
        ({"key_id": "k\n"}, "cannot be put in a Signature-Input"),
        ({"key_id": ""}, "cannot be put in a Signature-Input"),
        ({"url": "ftp://remote.example/x"}, "not an absolute http(s) URL"),
        ({"url": "/relative"}, "not an absolute http(s) URL"),
        ({"url": "https://remote.example:99999/"}, "cannot sign this request"),
        ({"components": ["x-absent"]}, "covered header x-absent is missing"),
    ],
)
def test_sign_refuses_programming_errors(kwargs, message):
    arguments = {
        "key_id": KEY_ID,
        "private_key_pem": private(RSA),
        "url": POST_URL,
        **kwargs,
    }
    url = arguments.pop("url")
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        sign_request("POST", url, {}, BODY, **arguments)


def test_sign_refuses_keys_it_cannot_use():
    ec_key = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="needs an RSA or Ed25519 key"):
        sign_request("GET", GET_URL, {}, None, key_id=KEY_ID, private_key_pem=ec_key)
    with pytest.raises(ValueError, match="cannot sign with an Ed25519 key"):
        sign_request(
            "GET",
            GET_URL,
            {},
            None,
            key_id=KEY_ID,
            private_key_pem=private(ED),
            algorithm="rsa-pss-sha512",
        )


def test_sign_percent_encodes_the_url_as_http_clients_send_it():
    url = "https://bücher.example/users/zoë?q=ä b"
    headers = sign_request(
        "GET", url, {}, None, key_id=KEY_ID, private_key_pem=private(RSA), now=NOW
    )
    sent = "https://xn--bcher-kva.example/users/zo%C3%AB?q=%C3%A4%20b"
    assert verify_request("GET", sent, headers, None, public(RSA), now=NOW)
    assert verify_request("GET", url, headers, None, public(RSA), now=NOW)


# --- interop with http-message-signatures ----------------------------------------

HMS_ALGORITHMS = {
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "ed25519": algorithms.ED25519,
}


def hms_keys() -> hms.MappingKeyResolver:
    return hms.MappingKeyResolver(
        public_keys={KEY_ID: b""}
        | {name: public(name).encode() for name in (RSA, PSS, ED)},
        private_keys={name: private(name).encode() for name in (RSA, PSS, ED)},
    )


@pytest.mark.parametrize("algorithm", list(HMS_ALGORITHMS))
def test_http_message_signatures_verifies_ours(algorithm):
    name = KEY_FOR_ALG[algorithm]
    headers = sign_request(
        "POST",
        POST_URL,
        {"Content-Type": AP_JSON},
        BODY,
        key_id=name,
        private_key_pem=private(name),
        algorithm=algorithm,
    )
    verifier = HTTPMessageVerifier(
        signature_algorithm=HMS_ALGORITHMS[algorithm], key_resolver=hms_keys()
    )
    message = SimpleNamespace(method="POST", url=POST_URL, headers=headers)
    (result,) = verifier.verify(
        message, body=BODY, require_components=("@method", "@target-uri")
    )
    assert (result.label, result.parameters["keyid"]) == ("sig1", name)
    assert result.body == BODY  # it checked our Content-Digest against the body
    # The same verifier refuses our request sent elsewhere, so the pass above
    # is not a verifier that says yes to everything.
    moved = SimpleNamespace(method="POST", url=POST_URL + "&y", headers=headers)
    with pytest.raises(hms.InvalidSignature):
        verifier.verify(moved, body=BODY)


@pytest.mark.parametrize("algorithm", list(HMS_ALGORITHMS))
def test_we_verify_http_message_signatures(algorithm):
    name = KEY_FOR_ALG[algorithm]
    message = SimpleNamespace(
        method="POST", url=POST_URL, headers={"Content-Type": AP_JSON}
    )
    HTTPMessageSigner(
        signature_algorithm=HMS_ALGORITHMS[algorithm], key_resolver=hms_keys()
    ).sign(
        message,
        key_id=name,
        created=NOW,
        body=BODY,
        covered_component_ids=("@method", "@authority", "@target-uri"),
    )
    headers = message.headers
    assert headers["Signature-Input"].startswith(
        'pyhms=("@method" "@authority" "@target-uri" "content-digest")'
    )
    assert key_id_of(headers) == name
    result = verify_post(headers, key=name)
    assert (result.label, result.algorithm) == ("pyhms", algorithm)
    assert reason_of(verify_post, headers, body=BODY + b" ") == (
        "Content-Digest does not match the body"
    )
    assert (
        reason_of(
            verify_post, headers, url=POST_URL + "&y", key=name, exception=KeyMismatch
        )
        == "signature does not verify"
    )


def test_we_verify_the_shapes_peers_send():
    # Fedify's default (packages/fedify/src/sig/http.ts): alg, keyid, created
    # and @method @target-uri @authority host date content-digest.
    fedify = forge(
        '"@method" "@target-uri" "@authority" "host" "date" "content-digest"',
        f'alg="rsa-v1_5-sha256";keyid="{KEY_ID}";created={CREATED}',
        headers={
            "Host": "remote.example:8443",
            "Date": "Wed, 04 Mar 2026 05:06:07 GMT",
        },
    )
    assert verify_post(fedify).algorithm == "rsa-v1_5-sha256"
    # Mastodon's documented example: no alg (an RSA key means v1.5).
    mastodon = forge(FULL, f'created={CREATED};keyid="{KEY_ID}"')
    assert verify_post(mastodon).algorithm == "rsa-v1_5-sha256"


# --- our rules ----------------------------------------------------------------


def test_signature_error_answers_401():
    error = SignatureError("because")
    assert (error.status, error.reason) == (401, "because")
    assert isinstance(KeyMismatch("x"), SignatureError)


@pytest.mark.parametrize(
    "components",
    [
        FULL,
        '"@method" "@authority" "@path" "@query" "content-digest"',
        '"@method" "@authority" "@request-target" "content-digest"',
        '"content-digest" "@target-uri" "@method"',  # any order
    ],
)
def test_accepted_coverage(components):
    assert verify_post(forge(components)).key_id == KEY_ID


@pytest.mark.parametrize(
    ("components", "reason"),
    [
        ('"@target-uri" "content-digest"', "signature does not cover @method"),
        (
            '"@method" "content-digest"',
            "signature covers neither @target-uri nor @authority",
        ),
        (
            '"@method" "@path" "@query" "content-digest"',
            "signature covers neither @target-uri nor @authority",
        ),
        (
            '"@method" "@authority" "content-digest"',
            "signature covers neither @target-uri nor @path",
        ),
        (
            '"@method" "@authority" "@path" "content-digest"',
            "signature does not cover @query, and the URL has a query",
        ),
        ('"@method" "@target-uri"', "signature does not cover content-digest"),
    ],
)
def test_refused_coverage(components, reason):
    headers = forge(components)
    assert reason_of(verify_post, headers) == reason


def test_path_without_query_is_enough_for_a_url_without_one():
    url = "https://remote.example:8443/inbox"
    headers = forge('"@method" "@authority" "@path" "content-digest"', url=url)
    verify_post(headers, url=url)
    # Adding a query to that URL is then refused, not silently accepted.
    assert reason_of(verify_post, headers, url=url + "?x=1") == (
        "signature does not cover @query, and the URL has a query"
    )


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_body_needs_a_digest_whatever_the_method(method):
    headers = forge('"@method" "@target-uri"', method=method, body=None)
    verify_request(method, POST_URL, headers, None, public(RSA), now=NOW)
    assert (
        reason_of(
            verify_request, method, POST_URL, headers, b"{}", public(RSA), now=NOW
        )
        == "signature does not cover content-digest"
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_body_methods_need_a_digest_even_when_empty(method):
    headers = forge('"@method" "@target-uri"', method=method, body=None)
    assert (
        reason_of(verify_request, method, POST_URL, headers, b"", public(RSA), now=NOW)
        == "signature does not cover content-digest"
    )


def test_a_covered_digest_is_checked_even_without_a_body():
    headers = forge(FULL, method="GET", body=BODY)
    assert (
        reason_of(verify_request, "GET", POST_URL, headers, None, public(RSA), now=NOW)
        == "Content-Digest does not match the body"
    )


def test_a_covered_digest_must_be_present():
    headers = forge(FULL)
    del headers["Content-Digest"]
    assert reason_of(verify_post, headers) == "missing Content-Digest header"


def test_sha512_digests_are_accepted():
    headers = forge(FULL, headers={"Content-Digest": content_digest(BODY, "sha-512")})
    verify_post(headers)


@pytest.mark.parametrize(
    ("shift", "reason"),
    [
        (3601, "signature created time is too old"),
        (-3601, "signature created time is in the future"),
    ],
)
def test_created_must_be_within_the_skew(shift, reason):
    headers = sign_post()
    verify_post(headers, now=NOW + timedelta(seconds=3600))
    verify_post(headers, now=NOW - timedelta(seconds=3600))
    assert reason_of(verify_post, headers, now=NOW + timedelta(seconds=shift)) == reason


def test_skew_comes_from_the_setting_or_the_argument():
    headers = sign_post()
    later = NOW + timedelta(seconds=600)
    verify_post(headers, now=later)
    with override_settings(VOX_ACTIVITY={"SIGNATURE_MAX_SKEW": 300}):
        assert reason_of(verify_post, headers, now=later) == (
            "signature created time is too old"
        )
    assert reason_of(verify_post, headers, now=later, max_skew=599) == (
        "signature created time is too old"
    )


def test_expires_in_the_past_is_refused():
    headers = forge(FULL, f'created={CREATED};keyid="{KEY_ID}";expires={CREATED + 60}')
    assert verify_post(headers, now=NOW + timedelta(seconds=60)).expires == CREATED + 60
    assert reason_of(verify_post, headers, now=NOW + timedelta(seconds=61)) == (
        "signature has expired"
    )


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (f'keyid="{KEY_ID}"', "signature has no created time"),
        (f"created={CREATED}", "signature has no keyid"),
        (
            f'created={CREATED};keyid="{KEY_ID}";alg="hmac-sha256"',
            "unsupported algorithm 'hmac-sha256'",
        ),
        (
            f'created={CREATED};keyid="{KEY_ID}";alg="ecdsa-p256-sha256"',
            "unsupported algorithm 'ecdsa-p256-sha256'",
        ),
    ],
)
def test_refused_parameters(params, reason):
    headers = forge(FULL, params)
    assert reason_of(verify_post, headers) == reason
    assert reason_of(key_id_of, headers) == reason


@pytest.mark.parametrize(
    ("alg", "key", "public_key", "reason"),
    [
        ("ed25519", ED, RSA, "algorithm ed25519 does not match the RSA key"),
        (
            "rsa-v1_5-sha256",
            RSA,
            ED,
            "algorithm rsa-v1_5-sha256 does not match the Ed25519 key",
        ),
        (
            "rsa-pss-sha512",
            PSS,
            ED,
            "algorithm rsa-pss-sha512 does not match the Ed25519 key",
        ),
    ],
)
def test_alg_must_suit_the_key(alg, key, public_key, reason):
    headers = sign_post(algorithm=alg)
    assert reason_of(verify_post, headers, key=public_key, exception=KeyMismatch) == (
        reason
    )


@pytest.mark.parametrize(
    ("alg", "signed_as"),
    [("rsa-pss-sha512", "rsa-v1_5-sha256"), ("rsa-v1_5-sha256", "rsa-pss-sha512")],
)
def test_alg_is_not_taken_on_trust_for_rsa(alg, signed_as):
    # A PKCS#1 v1.5 signature relabelled as PSS, or the other way round,
    # does not verify; signed as labelled, the same request does.
    params = f'created={CREATED};keyid="{KEY_ID}";alg="{alg}"'
    assert verify_post(forge(FULL, params, sign_as=alg)).algorithm == alg
    headers = forge(FULL, params, sign_as=signed_as)
    assert reason_of(verify_post, headers, exception=KeyMismatch) == (
        "signature does not verify"
    )


def test_without_alg_the_key_decides():
    assert verify_post(forge(FULL, key=ED), key=ED).algorithm == "ed25519"
    # A PSS signature without alg is checked as v1.5 against an RSA key.
    pss = forge(FULL, key=PSS, sign_as="rsa-pss-sha512")
    assert reason_of(verify_post, pss, key=PSS, exception=KeyMismatch) == (
        "signature does not verify"
    )


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("not a key", "the public key is not valid PEM"),
        (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
            .decode(),
            "unsupported public key type",
        ),
    ],
)
def test_unusable_public_keys(key, reason):
    assert reason in reason_of(
        verify_request,
        "POST",
        POST_URL,
        sign_post(),
        BODY,
        key,
        now=NOW,
        exception=KeyMismatch,
    )


def test_wrong_public_key():
    headers = sign_post(algorithm="rsa-pss-sha512")
    assert reason_of(verify_post, headers, key=RSA, exception=KeyMismatch) == (
        "signature does not verify"
    )


# --- several signatures -------------------------------------------------------


def two_signatures(first: str, second: str) -> dict[str, str]:
    """Two independently valid signatures, ``first`` then ``second``."""
    a = forge(first, label="a", key=ED)
    b = forge(second, label="b", params=f'created={CREATED};keyid="rsa-key"')
    return {
        **a,
        "Signature-Input": f"{a['Signature-Input']}, {b['Signature-Input']}",
        "Signature": f"{a['Signature']}, {b['Signature']}",
    }


def test_the_first_acceptable_signature_is_chosen():
    # a covers too little, so b is the one we would verify, with its key.
    headers = two_signatures('"@target-uri" "content-digest"', FULL)
    assert select_signature(headers).label == "b"
    assert key_id_of(headers) == "rsa-key"
    result = verify_post(headers, key=RSA)
    assert (result.label, result.key_id) == ("b", "rsa-key")
    # When both are acceptable, the first wins.
    both = two_signatures(FULL, FULL)
    assert key_id_of(both) == KEY_ID
    assert verify_post(both, key=ED).label == "a"


def test_the_chosen_signature_is_the_only_one_tried():
    # a passes every rule the headers alone can tell, but lacks @query for
    # this URL (a rule that needs the URL): it is refused, b is never tried.
    headers = two_signatures('"@method" "@authority" "@path" "content-digest"', FULL)
    assert key_id_of(headers) == KEY_ID
    assert reason_of(verify_post, headers, key=ED) == (
        "signature does not cover @query, and the URL has a query"
    )


def test_no_acceptable_signature_names_each():
    headers = two_signatures('"@target-uri"', '"@method"')
    assert reason_of(verify_post, headers) == (
        "no acceptable signature (a: signature does not cover @method; "
        "b: signature covers neither @target-uri nor @authority)"
    )


def test_a_label_without_a_signature_value():
    headers = forge(FULL)
    headers["Signature"] = headers["Signature"].replace("sig1=", "other=")
    assert reason_of(verify_post, headers) == (
        "Signature header has no value for label sig1"
    )


# --- tampering ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_changed_method(method):
    assert (
        reason_of(
            verify_request,
            method,
            POST_URL,
            sign_post(),
            BODY,
            public(RSA),
            now=NOW,
            exception=KeyMismatch,
        )
        == "signature does not verify"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://remote.example:8443/users/bob/inbox?notify=1",  # query changed
        "https://remote.example:8443/users/bob/inbox?x=%2F&notify=1",  # reordered
        "https://remote.example:8443/users/bob/inbox?notify=1&x=/",  # decoded
        "https://remote.example:8443/users/eve/inbox?notify=1&x=%2F",  # path
        "https://remote.example:8443/users/bob/inbox/?notify=1&x=%2F",  # slash
        "https://remote.example/users/bob/inbox?notify=1&x=%2F",  # port
        "https://evil.example:8443/users/bob/inbox?notify=1&x=%2F",  # host
        "http://remote.example:8443/users/bob/inbox?notify=1&x=%2F",  # scheme
    ],
)
def test_changed_target(url):
    assert reason_of(verify_post, sign_post(), url=url, exception=KeyMismatch) == (
        "signature does not verify"
    )


@pytest.mark.parametrize(
    "components",
    [
        '"@method" "@authority" "@path" "@query" "content-digest"',
        '"@method" "@authority" "@request-target" "content-digest"',
    ],
)
@pytest.mark.parametrize(
    "url",
    [
        "https://remote.example:8443/users/bob/inbox?notify=2&x=%2F",
        "https://remote.example:8443/users/eve/inbox?notify=1&x=%2F",
        "https://other.example:8443/users/bob/inbox?notify=1&x=%2F",
    ],
)
def test_changed_target_with_split_components(components, url):
    headers = forge(components)
    assert reason_of(verify_post, headers, url=url, exception=KeyMismatch) == (
        "signature does not verify"
    )


def test_changed_body():
    assert reason_of(verify_post, sign_post(), body=BODY + b" ") == (
        "Content-Digest does not match the body"
    )


def test_changed_body_and_digest():
    headers = sign_post()
    headers["Content-Digest"] = content_digest(b"{}")
    assert reason_of(verify_post, headers, body=b"{}", exception=KeyMismatch) == (
        "signature does not verify"
    )


def test_changed_signature_parameters():
    headers = sign_post()
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        f"created={CREATED}", f"created={CREATED + 1}"
    )
    assert reason_of(verify_post, headers, exception=KeyMismatch) == (
        "signature does not verify"
    )


def test_flipped_and_truncated_signature_bytes():
    headers = sign_post(algorithm="ed25519")
    raw = only_signature(headers).signature
    for forged in (bytes([raw[0] ^ 1]) + raw[1:], raw[:-1]):
        headers["Signature"] = f"sig1=:{base64.b64encode(forged).decode()}:"
        assert reason_of(verify_post, headers, key=ED, exception=KeyMismatch) == (
            "signature does not verify"
        )


# --- malformed and hostile headers --------------------------------------------

GOOD = ":" + base64.b64encode(b"\x01\x02\x03").decode() + ":"


@pytest.mark.parametrize(
    ("signature_input", "signature", "reason"),
    [
        (
            'sig1=("@method"), sig1=("@method")',
            f"sig1={GOOD}",
            "malformed Signature-Input header: sig1 is given twice",
        ),
        (
            'sig1=("@method");created=1;keyid="k"',
            f"sig1={GOOD}, sig1={GOOD}",
            "malformed Signature header: sig1 is given twice",
        ),
        (
            'sig1=("@method");created=1;created=2;keyid="k"',
            f"sig1={GOOD}",
            "parameter created is repeated",
        ),
        (
            'sig1=("@method" "@method");created=1;keyid="k"',
            f"sig1={GOOD}",
            "covers @method twice",
        ),
        ('sig1=("x";sf "x";sf);created=1;keyid="k"', f"sig1={GOOD}", "covers x twice"),
        ('sig1=("@Method");created=1;keyid="k"', f"sig1={GOOD}", "not in lower case"),
        ('sig1=(method);created=1;keyid="k"', f"sig1={GOOD}", "not a string"),
        ('sig1=("");created=1;keyid="k"', f"sig1={GOOD}", "not in lower case"),
        ('sig1="@method";created=1;keyid="k"', f"sig1={GOOD}", "not an inner list"),
        (
            'sig1=("@method");created="1";keyid="k"',
            f"sig1={GOOD}",
            "created is not a timestamp",
        ),
        (
            'sig1=("@method");created;keyid="k"',
            f"sig1={GOOD}",
            "created is not a timestamp",
        ),
        (
            'sig1=("@method");created=-1;keyid="k"',
            f"sig1={GOOD}",
            "created is not a timestamp",
        ),
        (
            'sig1=("@method");created=1.5;keyid="k"',
            f"sig1={GOOD}",
            "created is not a timestamp",
        ),
        (
            'sig1=("@method");created=1;expires=?1;keyid="k"',
            f"sig1={GOOD}",
            "expires is not a timestamp",
        ),
        (
            'sig1=("@method");created=1;keyid=k',
            f"sig1={GOOD}",
            "keyid is not a non-empty string",
        ),
        (
            'sig1=("@method");created=1;keyid=""',
            f"sig1={GOOD}",
            "keyid is not a non-empty string",
        ),
        (
            'sig1=("@method");created=1;keyid="k";alg=ed25519',
            f"sig1={GOOD}",
            "alg is not a non-empty string",
        ),
        (
            'sig1=("@method");created=1;keyid="k"',
            'sig1="AQID"',
            "malformed Signature header: sig1 is not a byte sequence",
        ),
        ('sig1=("@method");created=1;keyid="k"', "sig1=:!!:", "malformed Signature"),
        ("", f"sig1={GOOD}", "malformed Signature-Input header: no signature"),
        ("sig1=(", f"sig1={GOOD}", "malformed Signature-Input header"),
        ('sig1=("@method");keyid="ключ"', f"sig1={GOOD}", "non-ASCII"),
        ("sig1=(" + '"a" ' * MAX_FIELD_LENGTH + ")", f"sig1={GOOD}", "too long"),
    ],
)
def test_malformed_headers(signature_input, signature, reason):
    headers = {"Signature-Input": signature_input, "Signature": signature}
    assert reason in reason_of(key_id_of, headers)
    assert reason in reason_of(verify_post, headers)


def test_missing_headers():
    headers = sign_post()
    without_input = {k: v for k, v in headers.items() if k != "Signature-Input"}
    assert reason_of(verify_post, without_input) == "missing Signature-Input header"
    without_signature = {k: v for k, v in headers.items() if k != "Signature"}
    assert reason_of(verify_post, without_signature) == "missing Signature header"
    assert key_id_of({"Date": "x"}) is None
    assert select_signature({}) is None


def test_a_header_in_two_spellings_is_refused():
    headers = {**sign_post(), "signature-input": 'sig1=();created=1;keyid="k"'}
    assert reason_of(verify_post, headers) == (
        "header signature-input is given more than once"
    )


def test_header_names_in_any_case():
    headers = sign_post()
    verify_post({name.lower(): value for name, value in headers.items()})
    verify_post({name.upper(): value for name, value in headers.items()})


ASCII = st.characters(min_codepoint=0, max_codepoint=0x7F)
#: Pieces of real Signature-Input and Signature values, so that generated
#: headers get past the first byte of the parser and reach our own checks.
FRAGMENTS = st.sampled_from(
    [
        "sig1",
        "sig2",
        "=",
        "(",
        ")",
        '"@method"',
        '"@target-uri"',
        '"@path"',
        '"@query"',
        '"@authority"',
        '"content-digest"',
        '"@query-param"',
        '"date"',
        ";name=",
        '"x"',
        ";created=",
        ";expires=",
        ";keyid=",
        ";alg=",
        '"k"',
        '"ed25519"',
        '"rsa-v1_5-sha256"',
        "1",
        "-1",
        "1.5",
        "?1",
        "?0",
        ":AQID:",
        ":!!:",
        "@1",
        '%"x"',
        ", ",
        " ",
        ";sf",
        ";key=",
        ";bs",
        ";req",
        "tok",
        '"@Method"',
        str(CREATED),
        "99999999999999999",
    ]
)
SF_LIKE = st.lists(FRAGMENTS, max_size=24).map("".join)
HOSTILE = st.one_of(st.text(ASCII, max_size=300), st.text(max_size=50), SF_LIKE)


@settings(max_examples=300, deadline=None)
@given(signature_input=HOSTILE, signature=HOSTILE)
@example(
    signature_input='sig1=("@method");created=1;keyid="k"', signature="sig1=:AQID:"
)
@example(
    signature_input='sig1=("@query-param";name=1);created=1;keyid="k"',
    signature="sig1=:AQID:",
)
def test_hostile_headers_only_ever_raise_signature_error(signature_input, signature):
    headers = {
        "Signature-Input": signature_input,
        "Signature": signature,
        "Content-Digest": content_digest(BODY),
    }
    try:
        key_id = key_id_of(headers)
    except SignatureError:
        key_id = None
    else:
        assert key_id is None or isinstance(key_id, str)
    with pytest.raises(SignatureError):
        verify_post(headers)
    for signature_input_ in _parsed_or_nothing(headers):
        with pytest.raises(SignatureError):
            verify_signature("POST", POST_URL, headers, signature_input_, public(ED))


def _parsed_or_nothing(headers):
    try:
        return parse_signatures(headers)
    except SignatureError:
        return ()


@settings(max_examples=100, deadline=None)
@given(url=st.text(max_size=60), method=st.text(max_size=8))
def test_hostile_urls_and_methods_only_ever_raise_signature_error(url, method):
    with pytest.raises(SignatureError):
        verify_request(method, url, sign_post(), BODY, public(RSA), now=NOW)


# --- detection ----------------------------------------------------------------


def test_signature_scheme_of():
    assert signature_scheme_of(sign_post()) == "rfc9421"
    assert has_rfc9421_signature({"signature-INPUT": "x"})
    assert signature_scheme_of({"Signature": 'keyId="k",signature="AA=="'}) == "cavage"
    assert not has_rfc9421_signature({"Signature": 'keyId="k"'})
    assert signature_scheme_of({"Date": "x"}) is None
    assert not has_rfc9421_signature({})


def test_verified_covers_only_what_was_signed():
    headers = forge(
        '"@method" "@target-uri" "content-digest" "content-type"',
        f'created={CREATED};keyid="{KEY_ID}";nonce="n1";tag="t"',
    )
    result = verify_post(headers)
    assert result.names == ("@method", "@target-uri", "content-digest", "content-type")
    assert (result.nonce, result.tag) == ("n1", "t")
    assert [str(component) for component in result.components] == [
        '"@method"',
        '"@target-uri"',
        '"content-digest"',
        '"content-type"',
    ]
    assert str(Component("@query-param", (("name", "Pet"),))) == (
        '"@query-param";name="Pet"'
    )
