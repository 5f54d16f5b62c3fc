"""draft-cavage HTTP Signatures against outside tools: httpsig and OpenSSL.

The independent ``httpsig`` package verifies our signatures and we verify
its; frozen vectors whose signatures were made with ``openssl dgst`` (not
with this package) verify, and so pin the signing string byte for byte.

No database: these tests only need settings (for SIGNATURE_MAX_SKEW).
"""

from __future__ import annotations

import base64
import hashlib
from email.utils import formatdate

from vox_activity.protocol.cavage import (
    parse_signature_header,
    sign_request,
    signing_string,
    verify_request,
)

from .support.cavage import (
    AP_JSON,
    BODY,
    FULL_POST,
    GET_PATH,
    KEY_ID,
    NOW,
    NOW_HTTP,
    POST_PATH,
    PRIVATE,
    PUBLIC,
    reason_of,
    sign_get,
    sign_post,
    verify_post,
)

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
