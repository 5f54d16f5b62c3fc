"""Builders shared by the RFC 9421 (and RFC 9530) test modules.

The RFC's test keys (``tests/data/rfc9421``: RFC 9421 Appendix B.1.1,
B.1.2 and B.1.4), the RFC 9530 example body and digests, our own request
(``sign_post``, ``verify_post``) and :func:`forge`, which builds a validly
signed request that only one of our policy checks can refuse.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from vox_activity.exceptions import SignatureError
from vox_activity.protocol.rfc9421 import (
    SignatureInput,
    content_digest,
    create_signature,
    parse_signatures,
    sign_request,
    signature_base,
    verify_request,
)

__all__ = [
    "AP_JSON",
    "BODY",
    "CREATED",
    "ED",
    "FULL",
    "GET_URL",
    "HELLO",
    "HELLO_256",
    "HELLO_512",
    "KEYS",
    "KEY_FOR_ALG",
    "KEY_ID",
    "NOW",
    "POST_URL",
    "PSS",
    "RFC_URL",
    "RSA",
    "forge",
    "only_signature",
    "private",
    "public",
    "reason_of",
    "sign_post",
    "verify_post",
]

#: RFC 9421 Appendix B.1.1, B.1.2 and B.1.4 (``tests/data/README.txt``).
KEYS = Path(__file__).parent.parent / "data" / "rfc9421"


def private(name: str) -> str:
    return (KEYS / f"{name}.key").read_text()


def public(name: str) -> str:
    return (KEYS / f"{name}.pem").read_text()


RSA, PSS, ED = "test-key-rsa", "test-key-rsa-pss", "test-key-ed25519"


def reason_of(call, *args, exception=SignatureError, **kwargs) -> str:
    with pytest.raises(exception) as info:
        call(*args, **kwargs)
    return info.value.reason


#: RFC 9530 Appendix B's body and digests ({"hello": "world"} is also the
#: body of RFC 9421's test-request).
HELLO = b'{"hello": "world"}'
HELLO_256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
HELLO_512 = (
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNN"
    "yealdVLvRwEmTHWXvJwew==:"
)

#: RFC 9421's example request URL (Appendix B.2).
RFC_URL = "https://example.com/foo?param=Value&Pet=dog"


def only_signature(headers) -> SignatureInput:
    (signature,) = parse_signatures(headers)
    return signature


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
