"""draft-cavage HTTP Signatures we make: keys, digests, round trips, parsing.

Generated keys and digests agree with OpenSSL; a POST or GET we sign
verifies, with exactly the headers the draft and Mastodon expect signed;
Signature headers parse, and malformed ones are refused with a reason.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import SuspiciousOperation

from vox_activity.protocol.cavage import (
    MAX_SIGNATURE_HEADER_LENGTH,
    SignatureError,
    SignatureParams,
    digest_header,
    key_id_of,
    parse_signature_header,
    public_key_pem,
    sign_request,
    verify_request,
)

from .support.cavage import (
    AP_JSON,
    BODY,
    FULL_POST,
    GET_PATH,
    GET_URL,
    KEY_ID,
    NOW,
    NOW_HTTP,
    POST_PATH,
    POST_URL,
    PRIVATE,
    PUBLIC,
    reason_of,
    sign_get,
    sign_post,
    verify_post,
)

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
        ("https://bücher.example/x", "xn--bcher-kva.example", "/x"),
        ("https://bücher.example:443/x", "xn--bcher-kva.example", "/x"),
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


def test_a_header_of_exactly_the_limit_is_parsed():
    """8,192 characters is long (a 4096-bit key's signature is 684) but allowed."""
    head = 'keyId="k",signature="'
    padding = MAX_SIGNATURE_HEADER_LENGTH - len(head) - len(GOOD_B64) - len('",x=""')
    value = f'{head}{GOOD_B64}",x="{"y" * padding}"'
    assert len(value) == MAX_SIGNATURE_HEADER_LENGTH
    assert parse_signature_header(value).key_id == "k"
    too_long = value[:-1] + 'y"'
    assert "too long" in reason_of(parse_signature_header, too_long)


def test_key_id_of():
    assert key_id_of(sign_post()) == KEY_ID
    assert key_id_of({"signature": f'keyId="k",signature="{GOOD_B64}"'}) == "k"
    assert key_id_of({"Date": NOW_HTTP}) is None
    with pytest.raises(SignatureError, match="malformed"):
        key_id_of({"Signature": "garbage"})
