"""RFC 9421 Appendix B.2 (and §4.3): the RFC's own test vectors.

Signature bases and signatures are reproduced from the RFC's requests; each
verifies, the deterministic ones byte for byte, and the test names which of
our stricter acceptance rules refuses each example anyway.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.rfc9421 import (
    create_signature,
    signature_base,
    verify_request,
    verify_signature,
)

from .support.rfc9421 import (
    ED,
    HELLO,
    HELLO_512,
    PSS,
    RFC_URL,
    RSA,
    only_signature,
    private,
    public,
    reason_of,
)

# --- RFC 9421 Appendix B.2: the test vectors --------------------------------------
# Requests, signature bases and signatures are copied from RFC 9421 (B.2 and,
# for the deterministic rsa-v1_5-sha256 example, §4.3), with the RFC 8792
# line wrapping undone.

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
