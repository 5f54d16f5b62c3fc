"""HTTP Signatures: round trips, interop with httpsig, frozen vectors, tampering.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from django.core.exceptions import SuspiciousOperation

from vox_activity.protocol.cavage import (
    SignatureError,
    SignatureParams,
    digest_header,
    generate_private_key_pem,
    key_id_of,
    parse_signature_header,
    public_key_pem,
    sign_request,
    signing_string,
    verify_request,
)

from .settings import SUITE_VOX_ACTIVITY

DATA = Path(__file__).parent / "data"
PRIVATE = (DATA / "test_only_rsa_private.pem").read_text()
PUBLIC = (DATA / "test_only_rsa_public.pem").read_text()

KEY_ID = "https://vox.example/actors/alice#main-key"
NOW = datetime(2022, 6, 7, 20, 51, 35, tzinfo=UTC)
NOW_HTTP = "Tue, 07 Jun 2022 20:51:35 GMT"
AP_JSON = "application/activity+json"

POST_URL = "https://remote.example:8443/users/bob/inbox?notify=1&x=%2F"
POST_PATH = "/users/bob/inbox?notify=1&x=%2F"
GET_URL = "https://remote.example:8443/users/bob/outbox?page=true"
GET_PATH = "/users/bob/outbox?page=true"
BODY = b'{"type":"Follow","actor":"https://vox.example/actors/alice"}'


def sign_post(body: bytes = BODY, **kwargs) -> dict[str, str]:
    return sign_request(
        "POST",
        POST_URL,
        {"Content-Type": AP_JSON},
        body,
        key_id=KEY_ID,
        private_key_pem=PRIVATE,
        now=NOW,
        **kwargs,
    )


def sign_get(**kwargs) -> dict[str, str]:
    return sign_request(
        "GET",
        GET_URL,
        {"Accept": AP_JSON},
        None,
        key_id=KEY_ID,
        private_key_pem=PRIVATE,
        now=NOW,
        **kwargs,
    )


def verify_post(headers, body: bytes | None = BODY, **kwargs) -> SignatureParams:
    kwargs.setdefault("now", NOW)
    return verify_request("POST", POST_PATH, headers, body, PUBLIC, **kwargs)


def reason_of(call, *args, **kwargs) -> str:
    with pytest.raises(SignatureError) as info:
        call(*args, **kwargs)
    return info.value.reason


def forge(
    method: str,
    path: str,
    headers: dict[str, str],
    signed: list[str],
    *,
    algorithm: str | None = "rsa-sha256",
    extra: str = "",
    created: int | None = None,
    expires: int | None = None,
) -> dict[str, str]:
    """``headers`` plus a cryptographically valid Signature over ``signed``.

    Used to build requests that only a policy check (not the signature
    itself) can reject, so each test fails if that one check is removed.
    """
    text = signing_string(
        signed,
        method=method,
        path_with_query=path,
        headers={k.lower(): v for k, v in headers.items()},
        created=created,
        expires=expires,
    )
    key = serialization.load_pem_private_key(PRIVATE.encode(), password=None)
    raw = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    parts = [f'keyId="{KEY_ID}"']
    if algorithm is not None:
        parts.append(f'algorithm="{algorithm}"')
    parts.append(f'headers="{" ".join(signed)}"')
    if extra:
        parts.append(extra)
    parts.append(f'signature="{base64.b64encode(raw).decode()}"')
    return {**headers, "Signature": ",".join(parts)}


def post_headers(**overrides: str) -> dict[str, str]:
    """Unsigned POST headers as we would send them."""
    headers = {
        "Content-Type": AP_JSON,
        "Host": "remote.example:8443",
        "Date": NOW_HTTP,
        "Digest": digest_header(BODY),
    }
    headers.update(overrides)
    return headers


FULL_POST = ["(request-target)", "host", "date", "digest", "content-type"]


@pytest.fixture(scope="module")
def other_private_key() -> str:
    return generate_private_key_pem()


# --- keys and digests ---------------------------------------------------------


def test_generated_keys_are_pkcs8_and_spki_and_work(other_private_key):
    assert other_private_key.startswith("-----BEGIN PRIVATE KEY-----\n")
    public = public_key_pem(other_private_key)
    assert public.startswith("-----BEGIN PUBLIC KEY-----\n")
    key = serialization.load_pem_public_key(public.encode())
    assert key.key_size == 2048
    headers = sign_request(
        "POST",
        POST_URL,
        {"Content-Type": AP_JSON},
        BODY,
        key_id=KEY_ID,
        private_key_pem=other_private_key,
        now=NOW,
    )
    verify_request("POST", POST_PATH, headers, BODY, public, now=NOW)
    assert reason_of(verify_post, headers) == "signature does not verify"


def test_public_key_pem_matches_openssl():
    # The stored public key was written by ``openssl pkey -pubout``.
    assert public_key_pem(PRIVATE) == PUBLIC


def test_digest_header_matches_openssl():
    # printf '' | openssl dgst -sha256 -binary | base64
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert (
        digest_header(BODY)
        == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    )


def test_signature_error_is_a_400_with_a_reason():
    error = SignatureError("because")
    assert isinstance(error, SuspiciousOperation)
    assert error.reason == "because"
    assert str(error) == "because"


# --- round trips ------------------------------------------------------------------


def test_post_round_trip_with_port_and_query():
    headers = sign_post()
    assert headers["Content-Type"] == AP_JSON
    assert headers["Host"] == "remote.example:8443"
    assert headers["Date"] == NOW_HTTP
    assert headers["Digest"] == digest_header(BODY)
    params = parse_signature_header(headers["Signature"])
    assert params.key_id == KEY_ID
    assert params.algorithm == "rsa-sha256"
    assert params.headers == FULL_POST
    assert headers["Signature"].startswith(
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
        'headers="(request-target) host date digest content-type",signature="'
    )
    result = verify_post(headers)
    assert result == params


def test_get_round_trip_with_accept():
    headers = sign_get()
    assert "Digest" not in headers
    params = parse_signature_header(headers["Signature"])
    assert params.headers == ["(request-target)", "host", "date", "accept"]
    result = verify_request("GET", GET_PATH, headers, None, PUBLIC, now=NOW)
    assert result.key_id == KEY_ID
    # An empty body is no body.
    verify_request("GET", GET_PATH, headers, b"", PUBLIC, now=NOW)


def test_get_without_accept_signs_only_what_is_there():
    headers = sign_request(
        "get", GET_URL, {}, None, key_id=KEY_ID, private_key_pem=PRIVATE, now=NOW
    )
    params = parse_signature_header(headers["Signature"])
    assert params.headers == ["(request-target)", "host", "date"]
    verify_request("GET", GET_PATH, headers, None, PUBLIC, now=NOW)


def test_date_defaults_to_the_current_time_and_verifies_by_default():
    headers = sign_request(
        "GET", GET_URL, {}, None, key_id=KEY_ID, private_key_pem=PRIVATE
    )
    verify_request("GET", GET_PATH, headers, None, PUBLIC)
    assert headers["Date"].endswith(" GMT")


def test_given_host_and_date_are_kept_and_signed():
    headers = sign_request(
        "GET",
        GET_URL,
        {"host": "alias.example", "date": "Tue, 07 Jun 2022 20:00:00 GMT"},
        None,
        key_id=KEY_ID,
        private_key_pem=PRIVATE,
        now=NOW,
    )
    assert "Host" not in headers
    assert "Date" not in headers
    verify_request("GET", GET_PATH, headers, None, PUBLIC, now=NOW)
    wrong_host = {**headers, "host": "remote.example:8443"}
    assert (
        reason_of(verify_request, "GET", GET_PATH, wrong_host, None, PUBLIC, now=NOW)
        == "signature does not verify"
    )


def test_stale_digest_and_signature_headers_are_replaced():
    headers = sign_request(
        "POST",
        POST_URL,
        {"Content-Type": AP_JSON, "digest": "SHA-256=old", "signature": "old"},
        BODY,
        key_id=KEY_ID,
        private_key_pem=PRIVATE,
        now=NOW,
    )
    assert "digest" not in headers
    assert "signature" not in headers
    verify_post(headers)


@pytest.mark.parametrize(
    ("url", "host", "target"),
    [
        ("https://remote.example/inbox", "remote.example", "/inbox"),
        ("https://remote.example:443/inbox", "remote.example", "/inbox"),
        ("http://remote.example:80/a?b=c", "remote.example", "/a?b=c"),
        ("http://remote.example:443/", "remote.example:443", "/"),
        ("https://remote.example:80", "remote.example:80", "/"),
        ("https://Remote.Example:8443/x#frag", "Remote.Example:8443", "/x"),
        ("https://user:pw@remote.example:8443/x", "remote.example:8443", "/x"),
        ("https://[::1]:8443/inbox", "[::1]:8443", "/inbox"),
        ("https://[::1]:443/inbox", "[::1]", "/inbox"),
        ("https://bücher.example:8443/x", "xn--bcher-kva.example:8443", "/x"),
    ],
)
def test_host_and_request_target_come_from_the_url(url, host, target):
    headers = sign_request(
        "GET", url, {}, None, key_id=KEY_ID, private_key_pem=PRIVATE, now=NOW
    )
    assert headers["Host"] == host
    verify_request("GET", target, headers, None, PUBLIC, now=NOW)


@pytest.mark.parametrize("url", ["ftp://remote.example/x", "/relative", "https:///x"])
def test_sign_refuses_non_http_urls(url):
    with pytest.raises(ValueError, match="not an http"):
        sign_request(
            "GET", url, {}, None, key_id=KEY_ID, private_key_pem=PRIVATE, now=NOW
        )


def test_sign_refuses_a_body_without_content_type():
    with pytest.raises(ValueError, match="Content-Type"):
        sign_request("POST", POST_URL, {}, BODY, key_id=KEY_ID, private_key_pem=PRIVATE)


def test_empty_post_still_gets_a_signed_digest():
    headers = sign_request(
        "POST",
        POST_URL,
        {"Content-Type": AP_JSON},
        None,
        key_id=KEY_ID,
        private_key_pem=PRIVATE,
        now=NOW,
    )
    assert headers["Digest"] == digest_header(b"")
    assert "digest" in parse_signature_header(headers["Signature"]).headers
    verify_post(headers, body=b"")
    verify_post(headers, body=None)


@pytest.mark.parametrize("key_id", ['a"b', "a\\b", "a\nb"])
def test_sign_refuses_key_ids_that_break_the_header(key_id):
    with pytest.raises(ValueError, match="keyId"):
        sign_request("GET", GET_URL, {}, None, key_id=key_id, private_key_pem=PRIVATE)


def test_verify_reads_header_names_in_any_case():
    headers = sign_post()
    verify_post({name.lower(): value for name, value in headers.items()})
    verify_post({name.upper(): value for name, value in headers.items()})


def test_header_values_are_trimmed_as_the_draft_says():
    headers = sign_post()
    headers["Content-Type"] = f"  {AP_JSON} \t"
    verify_post(headers)


def test_verify_refuses_the_same_header_in_two_spellings():
    headers = {**sign_post(), "date": "Tue, 07 Jun 2022 20:51:36 GMT"}
    assert reason_of(verify_post, headers) == "header date is given more than once"


# --- interop with httpsig ------------------------------------------------------


def test_httpsig_verifies_our_post(httpsig):
    headers = sign_post()
    verifier = httpsig.HeaderVerifier(
        headers,
        PUBLIC,
        required_headers=FULL_POST,
        method="POST",
        path=POST_PATH,
        sign_header="signature",
    )
    assert verifier.verify() is True
    # The same verifier rejects the request sent to another path, so the
    # True above is not a verifier that says yes to everything.
    other = httpsig.HeaderVerifier(
        headers, PUBLIC, method="POST", path="/users/bob/inbox", sign_header="signature"
    )
    assert other.verify() is False


def test_httpsig_verifies_our_get(httpsig):
    headers = sign_get()
    verifier = httpsig.HeaderVerifier(
        headers,
        PUBLIC,
        required_headers=["(request-target)", "host", "date", "accept"],
        method="GET",
        path=GET_PATH,
        sign_header="signature",
    )
    assert verifier.verify() is True


def _httpsig_signed_post(httpsig, body: bytes = BODY) -> dict[str, str]:
    signer = httpsig.HeaderSigner(
        KEY_ID,
        PRIVATE,
        algorithm="rsa-sha256",
        headers=FULL_POST,
        sign_header="signature",
    )
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    headers = {
        "Host": "remote.example:8443",
        "Date": formatdate(NOW.timestamp(), usegmt=True),
        "Digest": "SHA-256=" + digest,
        "Content-Type": AP_JSON,
    }
    return dict(signer.sign(headers, method="POST", path=POST_PATH))


def test_we_verify_httpsig_post(httpsig):
    headers = _httpsig_signed_post(httpsig)
    assert set(headers) == {"host", "date", "digest", "content-type", "signature"}
    params = verify_post(headers)
    assert params.key_id == KEY_ID
    assert params.headers == FULL_POST
    # PKCS#1 v1.5 is deterministic: both libraries produce the same bytes.
    ours = parse_signature_header(sign_post()["Signature"]).signature
    assert params.signature == ours
    assert (
        reason_of(verify_post, headers, body=BODY + b" ")
        == "Digest does not match the body"
    )


def test_we_verify_httpsig_get(httpsig):
    signer = httpsig.HeaderSigner(
        KEY_ID,
        PRIVATE,
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date"],
        sign_header="signature",
    )
    headers = signer.sign(
        {"Host": "remote.example:8443", "Date": NOW_HTTP},
        method="GET",
        path=GET_PATH,
    )
    verify_request("GET", GET_PATH, dict(headers), None, PUBLIC, now=NOW)
    reason = reason_of(
        verify_request, "GET", "/users/bob/outbox", dict(headers), None, PUBLIC, now=NOW
    )
    assert reason == "signature does not verify"


# --- frozen vectors ---------------------------------------------------------------
# The signatures below were made with openssl, not with this package:
#   printf '<signing string>' | openssl dgst -sha256 \
#       -sign tests/data/test_only_rsa_private.pem | base64 -w0

VECTOR_POST_BODY = b'{"type":"Follow","actor":"https://vox.example/actors/alice"}'
VECTOR_POST_DIGEST = "SHA-256=XdBNhcfEw+ohFutgm3QU2F6iAVf6f+HYNoPjFvd9iEs="
VECTOR_POST_STRING = (
    "(request-target): post /users/bob/inbox\n"
    "host: mastodon.example\n"
    "date: Tue, 07 Jun 2022 20:51:35 GMT\n"
    "digest: SHA-256=XdBNhcfEw+ohFutgm3QU2F6iAVf6f+HYNoPjFvd9iEs=\n"
    "content-type: application/activity+json"
)
VECTOR_POST_SIGNATURE = (
    "fyKzWPIR+GNRbyHxnqFZ8jJsNPr0FLiRA8tecyl0j1S5dmqCShELndhGLWNTGyHZ9RA6ioiF"
    "P0LhRAivIVjNN5eie1RhRWPwkq4/1j0TEBBLjwpCL/J/DOoueWNsUw12r73avf/GpAR/kMhj"
    "gvEsP3/61dRKrKfzZptWwtaPX2t/uI4dOR5icuvMKS0BxCRiNOg1qszVJBvWiUokpChJctm7"
    "zCMsEnaVBA3/4Y8RMXdvQ/1HUiaBE6jS5hHIjDhccw76/3dGvhXTAchqtqCDebZQfXKkqi9F"
    "gti1cSpmnOwrnQ+BQNeseOvmvSda6nlYbDAMnbqz6jv0wsFvSJyyrQ=="
)
VECTOR_GET_STRING = (
    "(request-target): get /users/bob/outbox?page=true&min_id=0\n"
    "host: remote.example:8443\n"
    "date: Tue, 07 Jun 2022 20:51:35 GMT\n"
    "accept: application/activity+json"
)
VECTOR_GET_SIGNATURE = (
    "IEU8PRsRBw6TcI/L1ZTfdQDIeWrJe4FuRVaQZL4Ib5sH9V/G3Go5dlRhhWEAbrqKGNL6yn1S"
    "jNnG1u4loPrZZynTF1O8aNv0UUSyDC/Oku0GAXYd/9IbzPgPhUAKYLilJQDaNFx18UpFvSZN"
    "LcGd8h3yYuuPNB40Z98bT1MRHFh/mwaeXEXEwgaHQjqKaHiSapyt8w4Vzm4Lo9EIlmATVo7y"
    "pKThpNpqUpIuPFvVXXiUjNeQhM6Nb6Z2P0qjIgrsdap37Md/1o5gx4mvgxGXSJqIGedIFgNR"
    "WgdxPg3+KNMIamkA4xn0YVZEowUeW4JickVwHMVfAsVCknx6XkzVzg=="
)


def test_frozen_post_vector():
    headers = sign_request(
        "POST",
        "https://mastodon.example/users/bob/inbox",
        {"Content-Type": AP_JSON},
        VECTOR_POST_BODY,
        key_id=KEY_ID,
        private_key_pem=PRIVATE,
        now=NOW,
    )
    assert headers == {
        "Content-Type": AP_JSON,
        "Host": "mastodon.example",
        "Date": NOW_HTTP,
        "Digest": VECTOR_POST_DIGEST,
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
            'headers="(request-target) host date digest content-type",'
            f'signature="{VECTOR_POST_SIGNATURE}"'
        ),
    }
    text = signing_string(
        FULL_POST,
        method="POST",
        path_with_query="/users/bob/inbox",
        headers={k.lower(): v for k, v in headers.items()},
    )
    assert text == VECTOR_POST_STRING
    params = verify_request(
        "POST", "/users/bob/inbox", headers, VECTOR_POST_BODY, PUBLIC, now=NOW
    )
    assert params.signature == base64.b64decode(VECTOR_POST_SIGNATURE)


def test_frozen_get_vector():
    headers = sign_request(
        "GET",
        "https://remote.example:8443/users/bob/outbox?page=true&min_id=0",
        {"Accept": AP_JSON},
        None,
        key_id=KEY_ID,
        private_key_pem=PRIVATE,
        now=NOW,
    )
    assert headers == {
        "Accept": AP_JSON,
        "Host": "remote.example:8443",
        "Date": NOW_HTTP,
        "Signature": (
            f'keyId="{KEY_ID}",algorithm="rsa-sha256",'
            'headers="(request-target) host date accept",'
            f'signature="{VECTOR_GET_SIGNATURE}"'
        ),
    }
    text = signing_string(
        ["(request-target)", "host", "date", "accept"],
        method="GET",
        path_with_query="/users/bob/outbox?page=true&min_id=0",
        headers={k.lower(): v for k, v in headers.items()},
    )
    assert text == VECTOR_GET_STRING
    verify_request(
        "GET", "/users/bob/outbox?page=true&min_id=0", headers, None, PUBLIC, now=NOW
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
    assert reason_of(verify_post, _expiring(3601)) == "signature has expired"


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


# --- parsing ----------------------------------------------------------------------

GOOD_B64 = base64.b64encode(b"\x01\x02\x03").decode()


def test_parse_a_full_header():
    params = parse_signature_header(
        f' KeyID="k\\"1" , ALGORITHM="HS2019",headers="(Request-Target) Host  Date",'
        f'signature="{GOOD_B64}",created=1654635095,expires=1654635395,future="x" '
    )
    assert params == SignatureParams(
        key_id='k"1',
        algorithm="hs2019",
        headers=["(request-target)", "host", "date"],
        signature=b"\x01\x02\x03",
        created=1654635095,
        expires=1654635395,
    )


def test_parse_defaults():
    params = parse_signature_header(f'keyId="k",signature="{GOOD_B64}"')
    assert params.algorithm is None
    assert params.headers == ["date"]
    assert params.created is None
    assert params.expires is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "no keyId"),
        ("   ,  ", "no keyId"),
        ("garbage", "expected name=value at offset 0"),
        ("=,=", "expected name=value at offset 0"),
        (f'Signature keyId="k",signature="{GOOD_B64}"', "expected name=value"),
        (f'"keyId"="k",signature="{GOOD_B64}"', "expected name=value"),
        (f'keyId=,signature="{GOOD_B64}"', "expected name=value"),
        ('keyId="k",algorithm="rsa-sha256",headers="date"', "no signature"),
        ('keyId="k",signature=""', "no signature"),
        (f'signature="{GOOD_B64}"', "no keyId"),
        (f'keyId="",signature="{GOOD_B64}"', "no keyId"),
        ('keyId="k",signature="!!!notbase64"', "signature is not base64"),
        ('keyId="k",signature="AAA"', "signature is not base64"),
        ('keyId="k",signature="AA AA"', "signature is not base64"),
        ('keyId="k",signature=AA AA', "expected a comma"),
        (f'keyId="k" signature="{GOOD_B64}"', "expected a comma"),
        ('keyId="k,signature="AAAA"', "expected a comma"),
        (f'keyId="a",keyid="b",signature="{GOOD_B64}"', "keyid given twice"),
        (f'keyId="k",headers="",signature="{GOOD_B64}"', "empty headers"),
        (f'keyId="k",headers="date host:",signature="{GOOD_B64}"', "bad header"),
        (f'keyId="k",signature="{GOOD_B64}",created="soon"', "not a timestamp"),
        (f'keyId="k",signature="{GOOD_B64}",expires=-5', "not a timestamp"),
        (f'keyId="k"\r\nX-Evil: 1,signature="{GOOD_B64}"', "control bytes"),
        (f'keyId="ключ",signature="{GOOD_B64}"', "non-ASCII"),
        ('keyId="k",signature="' + "A" * 9000 + '"', "too long"),
    ],
)
def test_malformed_signature_headers(value, reason):
    parsed = reason_of(parse_signature_header, value)
    assert parsed.startswith("malformed Signature header: ")
    assert reason in parsed
    # The same garbage in a request fails verification for the same reason.
    headers = {**sign_post(), "Signature": value}
    assert reason_of(verify_post, headers) == parsed


def test_key_id_of():
    assert key_id_of(sign_post()) == KEY_ID
    assert key_id_of({"signature": f'keyId="k",signature="{GOOD_B64}"'}) == "k"
    assert key_id_of({"Date": NOW_HTTP}) is None
    with pytest.raises(SignatureError, match="malformed"):
        key_id_of({"Signature": "garbage"})
