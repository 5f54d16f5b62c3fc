"""RFC 9421 signatures we make: round trips, interop, detection.

Our signatures verify with our verifier and with the independent
``http-message-signatures`` package, and theirs (and the shapes Fedify and
Mastodon send) with ours; the scheme of a request's signature is detected.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

from types import SimpleNamespace

import http_message_signatures as hms
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, algorithms

from vox_activity.exceptions import KeyMismatch
from vox_activity.protocol.rfc9421 import (
    Component,
    Verified,
    content_digest,
    has_rfc9421_signature,
    key_id_of,
    sign_request,
    signature_scheme_of,
    verify_request,
)

from .support.rfc9421 import (
    AP_JSON,
    BODY,
    CREATED,
    ED,
    FULL,
    GET_URL,
    KEY_FOR_ALG,
    KEY_ID,
    NOW,
    POST_URL,
    PSS,
    RSA,
    forge,
    only_signature,
    private,
    public,
    reason_of,
    sign_post,
    verify_post,
)

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
