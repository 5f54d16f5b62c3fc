"""HTTP Signatures (draft-cavage-http-signatures-12), signed and checked as Mastodon.

The Fediverse authenticates server-to-server requests with this old draft, not
with RFC 9421: the sender signs a few request headers with the private key of
an actor and names that actor's public key in ``keyId``; the receiver fetches
the key and checks the signature.  This module only does the cryptography and
the header rules.  It imports no models and touches no database or network,
so fetching keys and deciding who may post stay with the callers.

What we send is what Mastodon sends (RSA-SHA256, PKCS#1 v1.5):

* POST: ``(request-target) host date digest content-type``;
* GET: ``(request-target) host date`` and ``accept`` when there is one.

What we accept is a little stricter than what Mastodon accepts, never looser
than what Mastodon and the other large servers send: see :func:`verify_request`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from vox_activity.conf import get_setting
from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.private_keys import load_private_key

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "SignatureError",
    "SignatureParams",
    "digest_header",
    "generate_private_key_pem",
    "key_id_of",
    "parse_signature_header",
    "public_key_pem",
    "sign_request",
    "signing_string",
    "verify_request",
]

#: ``algorithm=`` values we verify.  ``hs2019`` means "ask the key", and every
#: key we can fetch is RSA, so it is checked exactly like ``rsa-sha256``.
SUPPORTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
SIGN_ALGORITHM = "rsa-sha256"

REQUEST_TARGET = "(request-target)"
CREATED = "(created)"
EXPIRES = "(expires)"

#: Methods whose requests always carry a body, so always need a Digest.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

#: A real Signature header is well under 1 KiB even for 4096-bit keys; the
#: limit stops a hostile client from making us parse megabytes.
MAX_SIGNATURE_HEADER_LENGTH = 8192

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: One ``name=value`` of a Signature header: a quoted string or a bare token.
_PARAM = re.compile(
    r'([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^\s,"]+)'
)
_HEADER_NAME = re.compile(r"^(\([a-z0-9-]+\)|[!#$%&'*+.^_`|~0-9a-z-]+)$")
_TIMESTAMP = re.compile(r"^[0-9]{1,15}$")
_KNOWN_PARAMS = {
    "keyid": "keyId",
    "algorithm": "algorithm",
    "headers": "headers",
    "signature": "signature",
    "created": "created",
    "expires": "expires",
}


@dataclass(frozen=True)
class SignatureParams:
    """The parameters of a ``Signature`` header.

    ``algorithm`` is lower-cased, or None when the header has none (the draft
    then lets the key decide; :func:`verify_request` treats that as
    ``hs2019``, like Mastodon).  ``headers`` is lower-cased; when the header
    has no ``headers=`` the parser fills in ``["date"]``, the default of the
    drafts that ``rsa-sha256`` comes from (draft 12 and Mastodon default to
    ``(created)`` for ``hs2019``; either way :func:`verify_request` then
    refuses it, since ``(request-target)`` is not signed).  ``created`` and
    ``expires`` are Unix times.
    """

    key_id: str
    algorithm: str | None
    headers: list[str]
    signature: bytes
    created: int | None = None
    expires: int | None = None


# --- keys ----------------------------------------------------------------------


def generate_private_key_pem(bits: int = 2048) -> str:
    """A new RSA private key as unencrypted PKCS#8 PEM.

    2048 bits is what Mastodon generates; every Fediverse server can check it.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(private_key_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM (``publicKeyPem`` of an actor) of a key."""
    key = _load_private_key(private_key_pem)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )


def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Our RSA key, parsed once per process (:mod:`.private_keys`)."""
    key = load_private_key(pem)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"HTTP Signatures need an RSA key, not {type(key).__name__}")
    return key


def _load_public_key(pem: str) -> rsa.RSAPublicKey:
    """The RSA public key in ``pem``; it came from a remote actor, so any
    problem with it is the request's fault and raises :class:`SignatureError`."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeError) as exc:
        raise KeyMismatch("the public key is not valid PEM") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyMismatch(f"unsupported public key type {type(key).__name__}")
    return key


# --- building blocks -------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """The ``Digest`` header for a body (RFC 3230, the form Mastodon sends)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` keyed by lower-case name; two spellings of one name are an
    error because we could not tell which of them was signed."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in lowered:
            raise SignatureError(f"header {key} is given more than once")
        lowered[key] = value
    return lowered


def _request_target(method: str, path_with_query: str) -> str:
    return f"{method.lower()} {path_with_query}"


def signing_string(
    signed_headers: list[str],
    *,
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """The text that is signed: one ``name: value`` line per signed header.

    ``headers`` must be keyed by lower-case name.  Values are stripped of
    surrounding whitespace as the draft says (servers strip it on receipt
    anyway).  A header or pseudo-header that cannot be filled in raises
    :class:`SignatureError`.
    """
    lines = []
    for name in signed_headers:
        if name == REQUEST_TARGET:
            value = _request_target(method, path_with_query)
        elif name in (CREATED, EXPIRES):
            stamp = created if name == CREATED else expires
            if stamp is None:
                raise SignatureError(f"{name} is signed but has no parameter")
            value = str(stamp)
        elif name.startswith("("):
            raise SignatureError(f"unsupported pseudo-header {name}")
        elif name in headers:
            value = headers[name].strip()
        else:
            raise SignatureError(f"signed header missing from request: {name}")
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def _host_of(url: str) -> tuple[str, str]:
    """``(host header, path with query)`` of an absolute URL.

    The Host keeps a non-default port, as HTTP clients send it; user info and
    the fragment are never sent, so they are dropped.
    """
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"cannot sign a request to {url!r}: not an http(s) URL")
    host = parts.netloc.rpartition("@")[2]
    port = parts.port  # raises ValueError for a bad port
    if port is not None and port == _DEFAULT_PORTS[parts.scheme]:
        host = host.rsplit(":", 1)[0]
    if not host.isascii():
        name = parts.hostname.encode("idna").decode("ascii")
        keep_port = port is not None and port != _DEFAULT_PORTS[parts.scheme]
        host = f"{name}:{port}" if keep_port else name
    path = parts.path or "/"
    return host, path + ("?" + parts.query if parts.query else "")


def _http_date(now: datetime) -> str:
    """RFC 7231 IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    return formatdate(_aware(now).timestamp(), usegmt=True)


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- signing ---------------------------------------------------------------------


def sign_request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to send: ``headers`` plus Host, Date, Digest and Signature.

    A Host or Date already in ``headers`` is kept and signed (it is what the
    HTTP client will send); otherwise Host comes from the URL and Date from
    ``now``.  A request with a body (and any POST, PUT or PATCH) gets a fresh
    ``Digest`` and signs it with ``Content-Type``, which such a request must
    therefore have: Mastodon refuses a POST whose Digest is not signed, and the
    signature would otherwise not cover the body at all.
    """
    if '"' in key_id or "\\" in key_id or not key_id.isprintable():
        raise ValueError(f"keyId {key_id!r} cannot be put in a Signature header")
    method = method.upper()
    host, path_with_query = _host_of(url)
    out = dict(headers)
    present = {name.lower(): name for name in out}
    for name in ("digest", "signature"):
        if name in present:
            del out[present.pop(name)]
    if "host" not in present:
        out["Host"] = host
    if "date" not in present:
        out["Date"] = _http_date(now or datetime.now(UTC))

    signed = [REQUEST_TARGET, "host", "date"]
    if body is not None or method in BODY_METHODS:
        if "content-type" not in present:
            raise ValueError(f"a signed {method} with a body needs a Content-Type")
        out["Digest"] = digest_header(body or b"")
        signed += ["digest", "content-type"]
    elif "accept" in present:
        signed.append("accept")

    text = signing_string(
        signed,
        method=method,
        path_with_query=path_with_query,
        headers={name.lower(): value for name, value in out.items()},
    )
    key = _load_private_key(private_key_pem)
    signature = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="{SIGN_ALGORITHM}",'
        f'headers="{" ".join(signed)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return out


# --- parsing ---------------------------------------------------------------------


def parse_signature_header(value: str) -> SignatureParams:
    """Parse ``keyId="…",algorithm="…",headers="…",signature="…"``.

    The value comes straight from an untrusted client, so anything that is
    not a comma-separated list of ``name=value`` pairs (quoted strings, or bare
    digits for ``created``/``expires``) raises :class:`SignatureError`, as do
    repeated, missing or empty required parameters.  Unknown parameters are
    ignored, as the draft asks, so later extensions do not break us.
    """
    if not isinstance(value, str):
        raise SignatureError("malformed Signature header: not a string")
    if len(value) > MAX_SIGNATURE_HEADER_LENGTH:
        raise SignatureError("malformed Signature header: too long")
    if not value.isascii() or any(
        (c < " " and c != "\t") or c == "\x7f" for c in value
    ):
        raise SignatureError("malformed Signature header: non-ASCII or control bytes")
    raw: dict[str, str] = {}
    pos, end = 0, len(value)
    while True:
        while pos < end and value[pos] in " \t,":
            pos += 1
        if pos == end:
            break
        match = _PARAM.match(value, pos)
        if match is None:
            raise SignatureError(
                f"malformed Signature header: expected name=value at offset {pos}"
            )
        name, text = match.group(1).lower(), match.group(2)
        if text.startswith('"'):
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        if name in raw:
            raise SignatureError(f"malformed Signature header: {name} given twice")
        raw[name] = text
        pos = match.end()
        while pos < end and value[pos] in " \t":
            pos += 1
        if pos < end and value[pos] != ",":
            raise SignatureError(
                f"malformed Signature header: expected a comma at offset {pos}"
            )
    params = {_KNOWN_PARAMS[k]: v for k, v in raw.items() if k in _KNOWN_PARAMS}

    key_id = params.get("keyId", "")
    if not key_id:
        raise SignatureError("malformed Signature header: no keyId")
    signature = _decode_signature(params.get("signature", ""))
    algorithm = params["algorithm"].lower() if "algorithm" in params else None
    if "headers" in params:
        headers = params["headers"].lower().split()
        if not headers:
            raise SignatureError("malformed Signature header: empty headers")
        for header in headers:
            if not _HEADER_NAME.match(header):
                raise SignatureError(
                    f"malformed Signature header: bad header name {header!r}"
                )
    else:
        headers = ["date"]
    return SignatureParams(
        key_id=key_id,
        signature=signature,
        algorithm=algorithm,
        headers=headers,
        created=_timestamp(params, "created"),
        expires=_timestamp(params, "expires"),
    )


def _decode_signature(text: str) -> bytes:
    if not text:
        raise SignatureError("malformed Signature header: no signature")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(
            "malformed Signature header: signature is not base64"
        ) from exc


def _timestamp(params: dict[str, str], name: str) -> int | None:
    if name not in params:
        return None
    if not _TIMESTAMP.match(params[name]):
        raise SignatureError(f"malformed Signature header: {name} is not a timestamp")
    return int(params[name])


def key_id_of(headers: Mapping[str, str]) -> str | None:
    """The ``keyId`` of a request's signature, without checking anything.

    The key has to be fetched before the signature can be verified, so this
    reads it first.  None when the request has no Signature header; a header
    that does not parse raises :class:`SignatureError`.
    """
    value = _lower_headers(headers).get("signature")
    if value is None:
        return None
    return parse_signature_header(value).key_id


# --- verifying -------------------------------------------------------------------


def verify_request(
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key_pem: str,
    *,
    now: datetime | None = None,
    max_skew: int | None = None,
    params: SignatureParams | None = None,
) -> SignatureParams:
    """Check a request's signature against ``public_key_pem``; return its params.

    ``params`` is the already parsed ``Signature`` header, if the caller
    parsed it to learn the ``keyId`` first (it is then not parsed again).

    ``path_with_query`` is the request target exactly as received (with the
    query string); ``headers`` may use any case.  Any failure raises
    :class:`SignatureError` with the reason.  Beyond a valid signature we
    insist on:

    * ``(request-target)`` and ``host`` being signed, or a signature captured
      for one URL or server could be replayed against another;
    * ``digest`` being signed, present and matching the body whenever there is
      a body (or the method is POST, PUT or PATCH): the signature covers
      headers only, so without a signed Digest anyone holding one signed
      request could swap in a body of their own;
    * ``date`` (or, with ``hs2019``, ``(created)``) being signed and within
      ``max_skew`` seconds of ``now`` either way (setting
      ``SIGNATURE_MAX_SKEW``, an hour by default).  That bounds how long a
      captured request can be replayed while tolerating badly set clocks and
      deliveries that sat in a queue; Mastodon signs every retry afresh, so
      real senders never need more.
    """
    lowered = _lower_headers(headers)
    if max_skew is None:
        max_skew = int(get_setting("SIGNATURE_MAX_SKEW"))
    moment = _aware(now or datetime.now(UTC))
    raw = lowered.get("signature")
    if raw is None:
        raise SignatureError("missing Signature header")
    if params is None:
        params = parse_signature_header(raw)

    algorithm = params.algorithm or "hs2019"
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise SignatureError(f"unsupported algorithm {algorithm!r}")
    signed = params.headers
    if algorithm != "hs2019" and (CREATED in signed or EXPIRES in signed):
        raise SignatureError(f"(created) and (expires) cannot be used with {algorithm}")

    for required in (REQUEST_TARGET, "host"):
        if required not in signed:
            raise SignatureError(f"{required} is not signed")
    if "date" not in signed and CREATED not in signed:
        raise SignatureError("date is not signed")
    needs_digest = bool(body) or method.upper() in BODY_METHODS
    if needs_digest and "digest" not in signed:
        raise SignatureError("digest is not signed")
    if needs_digest or "digest" in lowered:
        if "digest" not in lowered:
            raise SignatureError("missing Digest header")
        _check_digest(lowered["digest"], body or b"")

    text = signing_string(
        signed,
        method=method,
        path_with_query=path_with_query,
        headers=lowered,
        created=params.created,
        expires=params.expires,
    )
    _check_time(params, lowered, moment, max_skew)

    key = _load_public_key(public_key_pem)
    try:
        key.verify(
            params.signature, text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as exc:
        raise KeyMismatch("signature does not verify") from exc
    return params


def _check_digest(value: str, body: bytes) -> None:
    """Accept ``SHA-256=…`` in any case, among other comma-separated digests."""
    expected = hashlib.sha256(body).digest()
    found = False
    for item in value.split(","):
        name, _, encoded = item.strip().partition("=")
        if name.strip().lower() != "sha-256":
            continue
        found = True
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, expected):
            return
    if not found:
        raise SignatureError("Digest has no SHA-256 value")
    raise SignatureError("Digest does not match the body")


def _check_time(
    params: SignatureParams,
    headers: Mapping[str, str],
    now: datetime,
    max_skew: int,
) -> None:
    if "date" in params.headers:
        try:
            sent = _aware(parsedate_to_datetime(headers["date"]))
        except (TypeError, ValueError, IndexError) as exc:
            raise SignatureError("Date header is not a date") from exc
        _check_window("Date", (now - sent).total_seconds(), max_skew)
    if CREATED in params.headers and params.created is not None:
        _check_window("(created)", now.timestamp() - params.created, max_skew)
    if params.expires is not None and now.timestamp() > params.expires + max_skew:
        raise SignatureError("signature has expired")


def _check_window(what: str, age: float, max_skew: int) -> None:
    if age > max_skew:
        raise SignatureError(f"{what} is too old")
    if age < -max_skew:
        raise SignatureError(f"{what} is in the future")
