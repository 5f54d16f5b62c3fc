"""RFC 9421 signatures we accept: our rules, one by one.

What a signature must cover (@method, the target, a Content-Digest for a
body), its created and expires times, its parameters and algorithm, the key
it must suit, and which of several signatures is tried.  Each refused request
is validly signed, so only the rule under test can refuse it.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import override_settings

from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.rfc9421 import (
    content_digest,
    key_id_of,
    select_signature,
    verify_request,
)

from .support.rfc9421 import (
    BODY,
    CREATED,
    ED,
    FULL,
    KEY_ID,
    NOW,
    POST_URL,
    PSS,
    RSA,
    forge,
    public,
    reason_of,
    sign_post,
    verify_post,
)

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
