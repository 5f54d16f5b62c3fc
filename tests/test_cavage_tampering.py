"""draft-cavage HTTP Signatures we refuse: tampering, and each rule alone.

A changed body, digest, date, method, path, host or signature byte fails,
each for its stated reason; so do unsigned required headers, unknown
algorithms and pseudo-headers, expired signatures and unusable keys.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from vox_activity.protocol.cavage import (
    digest_header,
    parse_signature_header,
    public_key_pem,
    verify_request,
)

from .settings import SUITE_VOX_ACTIVITY
from .support.cavage import (
    BODY,
    FULL_POST,
    GET_PATH,
    NOW,
    POST_PATH,
    PUBLIC,
    forge,
    post_headers,
    reason_of,
    sign_get,
    sign_post,
    verify_post,
)

# --- tampering: each must fail, for the stated reason -----------------------------


def test_changed_body_fails_the_digest():
    assert (
        reason_of(verify_post, sign_post(), body=BODY.replace(b"Follow", b"Delete"))
        == "Digest does not match the body"
    )


def test_changed_body_with_a_matching_new_digest_fails_the_signature():
    evil = b'{"type":"Delete"}'
    headers = {**sign_post(), "Digest": digest_header(evil)}
    assert reason_of(verify_post, headers, body=evil) == "signature does not verify"


def test_missing_digest_header_on_post():
    headers = sign_post()
    del headers["Digest"]
    assert reason_of(verify_post, headers) == "missing Digest header"


def test_digest_must_be_signed_on_post():
    signed = ["(request-target)", "host", "date", "content-type"]
    headers = forge("POST", POST_PATH, post_headers(), signed)
    assert reason_of(verify_post, headers) == "digest is not signed"


def test_digest_must_be_signed_whenever_there_is_a_body():
    signed = ["(request-target)", "host", "date"]
    headers = forge("GET", GET_PATH, post_headers(Host="remote.example:8443"), signed)
    reason = reason_of(
        verify_request, "GET", GET_PATH, headers, b"body", PUBLIC, now=NOW
    )
    assert reason == "digest is not signed"


@pytest.mark.parametrize(
    "digest",
    [
        "sha-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode(),
        "SHA-512=AAAA," + digest_header(BODY),
        "SHA-256=AAAA, " + digest_header(BODY),
        "SHA-256=not*base64, " + digest_header(BODY),
    ],
)
def test_digest_variants_that_are_accepted(digest):
    headers = forge("POST", POST_PATH, post_headers(Digest=digest), FULL_POST)
    verify_post(headers)


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("SHA-512=" + "A" * 88, "Digest has no SHA-256 value"),
        ("MD5=AAAA", "Digest has no SHA-256 value"),
        ("", "Digest has no SHA-256 value"),
        ("SHA-256=AAAA", "Digest does not match the body"),
        ("SHA-256=not*base64", "Digest does not match the body"),
        # The right digest with a stray character: strict base64, no match.
        ("SHA-256=*" + digest_header(BODY)[8:], "Digest does not match the body"),
        (digest_header(b"other"), "Digest does not match the body"),
    ],
)
def test_digest_variants_that_are_refused(digest, reason):
    headers = forge("POST", POST_PATH, post_headers(Digest=digest), FULL_POST)
    assert reason_of(verify_post, headers) == reason


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (timedelta(seconds=3601), "Date is too old"),
        (timedelta(seconds=-3601), "Date is in the future"),
        (timedelta(days=2), "Date is too old"),
        (timedelta(days=-2), "Date is in the future"),
    ],
)
def test_date_outside_the_window(offset, reason):
    assert reason_of(verify_post, sign_post(), now=NOW + offset) == reason


@pytest.mark.parametrize("seconds", [3600, -3600, 0, 59])
def test_date_inside_the_window(seconds):
    verify_post(sign_post(), now=NOW + timedelta(seconds=seconds))


def test_max_skew_argument_narrows_the_window():
    headers = sign_post()
    verify_post(headers, now=NOW + timedelta(seconds=60), max_skew=60)
    reason = reason_of(
        verify_post, headers, now=NOW + timedelta(seconds=61), max_skew=60
    )
    assert reason == "Date is too old"


def test_max_skew_setting_is_read_at_call_time(settings):
    headers = sign_post()
    verify_post(headers, now=NOW + timedelta(seconds=600))
    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "SIGNATURE_MAX_SKEW": 300}
    reason = reason_of(verify_post, headers, now=NOW + timedelta(seconds=600))
    assert reason == "Date is too old"


def test_naive_now_is_utc():
    verify_post(sign_post(), now=NOW.replace(tzinfo=None))


def test_date_must_be_signed():
    signed = ["(request-target)", "host", "digest", "content-type"]
    headers = forge("POST", POST_PATH, post_headers(), signed)
    assert reason_of(verify_post, headers) == "date is not signed"


@pytest.mark.parametrize("missing", ["(request-target)", "host"])
def test_request_target_and_host_must_be_signed(missing):
    signed = [name for name in FULL_POST if name != missing]
    headers = forge("POST", POST_PATH, post_headers(), signed)
    assert reason_of(verify_post, headers) == f"{missing} is not signed"


def test_unparsable_signed_date():
    headers = forge("POST", POST_PATH, post_headers(Date="yesterday"), FULL_POST)
    assert reason_of(verify_post, headers) == "Date header is not a date"


def test_altered_signature_bytes():
    headers = sign_post()
    params = parse_signature_header(headers["Signature"])
    flipped = bytearray(params.signature)
    flipped[100] ^= 0x01
    old = base64.b64encode(params.signature).decode()
    new = base64.b64encode(bytes(flipped)).decode()
    headers["Signature"] = headers["Signature"].replace(old, new)
    assert reason_of(verify_post, headers) == "signature does not verify"


def test_truncated_signature_bytes():
    headers = sign_post()
    params = parse_signature_header(headers["Signature"])
    old = base64.b64encode(params.signature).decode()
    new = base64.b64encode(params.signature[:-1]).decode()
    headers["Signature"] = headers["Signature"].replace(old, new)
    assert reason_of(verify_post, headers) == "signature does not verify"


def test_wrong_public_key(other_private_key):
    other_public = public_key_pem(other_private_key)
    reason = reason_of(
        verify_request, "POST", POST_PATH, sign_post(), BODY, other_public, now=NOW
    )
    assert reason == "signature does not verify"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "get", "DELETE"])
def test_changed_method(method):
    reason = reason_of(
        verify_request, method, POST_PATH, sign_post(), BODY, PUBLIC, now=NOW
    )
    assert reason == "signature does not verify"


@pytest.mark.parametrize(
    "path",
    [
        "/users/bob/inbox",  # query dropped
        "/users/bob/inbox?notify=1",  # one parameter dropped
        "/users/bob/inbox?notify=2&x=%2F",  # value changed
        "/users/bob/inbox?x=%2F&notify=1",  # reordered
        "/users/bob/inbox?notify=1&x=/",  # decoded
        "/users/eve/inbox?notify=1&x=%2F",  # path changed
        "/users/bob/inbox/?notify=1&x=%2F",  # trailing slash
    ],
)
def test_changed_path_or_query(path):
    reason = reason_of(verify_request, "POST", path, sign_post(), BODY, PUBLIC, now=NOW)
    assert reason == "signature does not verify"


@pytest.mark.parametrize(
    "host", ["remote.example", "remote.example:443", "evil.example:8443"]
)
def test_changed_host(host):
    headers = {**sign_post(), "Host": host}
    assert reason_of(verify_post, headers) == "signature does not verify"


@pytest.mark.parametrize(
    "algorithm", ["hmac-sha256", "rsa-sha512", "ed25519", "rsa-sha1", "none"]
)
def test_unknown_algorithm(algorithm):
    headers = forge("POST", POST_PATH, post_headers(), FULL_POST, algorithm=algorithm)
    assert reason_of(verify_post, headers) == f"unsupported algorithm {algorithm!r}"


@pytest.mark.parametrize("algorithm", ["hs2019", "HS2019", "RSA-SHA256", None])
def test_hs2019_and_missing_algorithm_verify_as_rsa_sha256(algorithm):
    headers = forge("POST", POST_PATH, post_headers(), FULL_POST, algorithm=algorithm)
    verify_post(headers)


def test_hs2019_with_created_instead_of_date():
    created = int(NOW.timestamp())
    signed = ["(request-target)", "host", "(created)", "digest"]
    headers = post_headers()
    del headers["Date"]
    headers = forge(
        "POST",
        POST_PATH,
        headers,
        signed,
        algorithm="hs2019",
        extra=f"created={created}",
        created=created,
    )
    assert verify_post(headers).created == created
    later = NOW + timedelta(seconds=3601)
    assert reason_of(verify_post, headers, now=later) == "(created) is too old"
    earlier = NOW - timedelta(seconds=3601)
    assert reason_of(verify_post, headers, now=earlier) == "(created) is in the future"


def test_created_is_refused_with_rsa_sha256():
    created = int(NOW.timestamp())
    signed = ["(request-target)", "host", "(created)", "digest"]
    headers = forge(
        "POST",
        POST_PATH,
        post_headers(),
        signed,
        extra=f"created={created}",
        created=created,
    )
    reason = reason_of(verify_post, headers)
    assert reason == "(created) and (expires) cannot be used with rsa-sha256"


def _expiring(seconds_ago: int) -> dict[str, str]:
    stamp = int(NOW.timestamp()) - seconds_ago
    return forge(
        "POST",
        POST_PATH,
        post_headers(),
        [*FULL_POST, "(expires)"],
        algorithm="hs2019",
        extra=f"expires={stamp}",
        expires=stamp,
    )


def test_expired_signature():
    # Expiry gets the same clock-skew allowance as Date.
    verify_post(_expiring(3599))
    verify_post(_expiring(3600))  # the last second of the allowance
    assert reason_of(verify_post, _expiring(3601)) == "signature has expired"


def test_an_unsigned_created_parameter_is_not_read():
    """``created`` counts only when ``(created)`` is signed: anyone on the path
    could have written it, so an old one refuses nothing."""
    created = int(NOW.timestamp()) - 86400
    headers = forge(
        "POST",
        POST_PATH,
        post_headers(),
        FULL_POST,
        algorithm="hs2019",
        extra=f"created={created}",
    )
    assert "(created)" not in headers["Signature"]
    verify_post(headers)


def test_signed_pseudo_header_without_its_parameter():
    signed = [*FULL_POST, "(expires)"]
    headers = forge("POST", POST_PATH, post_headers(), FULL_POST, algorithm="hs2019")
    headers["Signature"] = headers["Signature"].replace(
        'headers="' + " ".join(FULL_POST), 'headers="' + " ".join(signed)
    )
    reason = reason_of(verify_post, headers)
    assert reason == "(expires) is signed but has no parameter"


def test_unknown_pseudo_header():
    headers = forge("POST", POST_PATH, post_headers(), FULL_POST)
    headers["Signature"] = headers["Signature"].replace(
        "content-type", "content-type (foo)"
    )
    assert reason_of(verify_post, headers) == "unsupported pseudo-header (foo)"


def test_header_listed_but_missing():
    headers = sign_get()
    del headers["Accept"]
    reason = reason_of(verify_request, "GET", GET_PATH, headers, None, PUBLIC, now=NOW)
    assert reason == "signed header missing from request: accept"


def test_missing_signature_header():
    headers = sign_post()
    del headers["Signature"]
    assert reason_of(verify_post, headers) == "missing Signature header"


def test_public_key_that_is_not_pem():
    reason = reason_of(
        verify_request, "POST", POST_PATH, sign_post(), BODY, "not a key", now=NOW
    )
    assert reason == "the public key is not valid PEM"


def test_public_key_that_is_not_rsa():
    ed_public = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )
    reason = reason_of(
        verify_request, "POST", POST_PATH, sign_post(), BODY, ed_public, now=NOW
    )
    assert reason == "unsupported public key type Ed25519PublicKey"
