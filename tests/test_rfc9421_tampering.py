"""RFC 9421 signatures tampered with, malformed or hostile.

A changed method, target, body, digest, parameter or signature byte fails to
verify; malformed headers are refused with their reason; and any generated
header, URL or method raises only a SignatureError, never anything else.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.rfc9421 import (
    MAX_FIELD_LENGTH,
    content_digest,
    key_id_of,
    parse_signatures,
    select_signature,
    verify_request,
    verify_signature,
)

from .support.rfc9421 import (
    BODY,
    CREATED,
    ED,
    NOW,
    POST_URL,
    RSA,
    forge,
    only_signature,
    public,
    reason_of,
    sign_post,
    verify_post,
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
        (
            'sig1=(method);created=1;keyid="k"',  # a token, not a string
            f"sig1={GOOD}",
            "has a component that is not a string",
        ),
        (
            'sig1=(1);created=1;keyid="k"',
            f"sig1={GOOD}",
            "has a component that is not a string",
        ),
        ("sig1=(" + '"a" ' * MAX_FIELD_LENGTH + ")", f"sig1={GOOD}", "too long"),
    ],
)
def test_malformed_headers(signature_input, signature, reason):
    headers = {"Signature-Input": signature_input, "Signature": signature}
    assert reason in reason_of(key_id_of, headers)
    assert reason in reason_of(verify_post, headers)


def test_a_field_of_exactly_the_limit_is_parsed():
    """The length cap refuses only what is over it."""
    headers = sign_post()
    padding = MAX_FIELD_LENGTH - len(headers["Signature-Input"]) - len(';x=""')
    at_limit = f'{headers["Signature-Input"]};x="{"y" * padding}"'
    assert len(at_limit) == MAX_FIELD_LENGTH
    assert key_id_of({**headers, "Signature-Input": at_limit}) == key_id_of(headers)
    over = at_limit[:-1] + 'y"'
    assert "too long" in reason_of(key_id_of, {**headers, "Signature-Input": over})


def test_created_at_the_epoch_is_a_timestamp():
    """0 is a (very old) timestamp: parsed, then refused by the window."""
    headers = sign_post()
    signed = headers["Signature-Input"]
    assert f"created={CREATED}" in signed
    epoch = {
        **headers,
        "Signature-Input": signed.replace(f"created={CREATED}", "created=0"),
    }
    assert key_id_of(epoch) == key_id_of(headers)
    assert "created" in reason_of(verify_post, epoch)  # outside the window
    minus = {
        **headers,
        "Signature-Input": signed.replace(f"created={CREATED}", "created=-1"),
    }
    assert "created is not a timestamp" in reason_of(key_id_of, minus)


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
