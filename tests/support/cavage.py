"""Builders shared by the draft-cavage HTTP Signatures test modules.

A test-only RSA key pair (``tests/data/test_only_rsa_*.pem``, see
``tests/data/README.txt``), a POST and a GET as we sign them, and
:func:`forge`, which signs any header list validly so that only one of our
policy checks can refuse the request.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from vox_activity.protocol.cavage import (
    SignatureError,
    SignatureParams,
    digest_header,
    sign_request,
    signing_string,
    verify_request,
)

__all__ = [
    "AP_JSON",
    "BODY",
    "DATA",
    "FULL_POST",
    "GET_PATH",
    "GET_URL",
    "KEY_ID",
    "NOW",
    "NOW_HTTP",
    "POST_PATH",
    "POST_URL",
    "PRIVATE",
    "PUBLIC",
    "forge",
    "post_headers",
    "reason_of",
    "sign_get",
    "sign_post",
    "verify_post",
]

DATA = Path(__file__).parent.parent / "data"
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
