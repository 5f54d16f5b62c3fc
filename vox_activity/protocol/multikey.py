"""Ed25519 public keys as ``Multikey`` objects in actor documents (FEP-521a).

Object Integrity Proofs (FEP-8b32) are checked with a key the actor publishes
in its ``assertionMethod``, written the FEP-521a way::

    "assertionMethod": [{
        "id": "https://server.example/users/alice#ed25519-key",
        "type": "Multikey",
        "controller": "https://server.example/users/alice",
        "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    }]

``publicKeyMultibase`` is multibase base58btc (``z``) of the multicodec
prefix ``ed25519-pub`` (code 0xed, written as the varint bytes ``ed 01``)
followed by the 32 bytes of the key: 34 bytes, 48 characters, always
starting ``z6Mk``.  Fedify publishes its Ed25519 keys this way and reads them
back the same way (``Multikey`` in ``@fedify/vocab``).

Only Ed25519 is supported: it is the key of the ``eddsa-jcs-2022``
cryptosuite, the one FEP-8b32 recommends and the one Fedify signs with.  A
Multikey of another type (RSA, P-256, ...) is refused with its multicodec
named in the reason.

Everything here is pure: the caller fetches the actor document (by the
``verificationMethod`` of a proof without its ``#fragment``, as FEP-521a
says to resolve key ids) and hands it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vox_activity.exceptions import SignatureError
from vox_activity.protocol.multibase import decode_base58btc, encode_base58btc
from vox_activity.protocol.timestamps import parse_timestamp

__all__ = [
    "ED25519_PUB_MULTICODEC",
    "MULTIKEY_CONTEXT",
    "assertion_method_key",
    "decode_public_key",
    "encode_public_key",
    "find_assertion_method",
    "multikey",
]

#: The JSON-LD context that defines ``Multikey``, ``controller`` and
#: ``publicKeyMultibase``; an actor document that carries Multikeys lists it.
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"

#: Multicodec ``ed25519-pub`` (0xed) as an unsigned varint.
ED25519_PUB_MULTICODEC = b"\xed\x01"

ED25519_KEY_LENGTH = 32

#: Names of the multicodecs one may meet in a Multikey, for error messages.
_CODEC_NAMES = {
    0xE7: "secp256k1-pub",
    0xEC: "x25519-pub",
    0xED: "ed25519-pub",
    0x1200: "p256-pub",
    0x1201: "p384-pub",
    0x1205: "rsa-pub",
    0x1300: "ed25519-priv",
}


def encode_public_key(public_key: Ed25519PublicKey) -> str:
    """The ``publicKeyMultibase`` of an Ed25519 public key (``z6Mk…``)."""
    raw = public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return encode_base58btc(ED25519_PUB_MULTICODEC + raw)


def decode_public_key(public_key_multibase: object) -> Ed25519PublicKey:
    """The Ed25519 key in a ``publicKeyMultibase``; SignatureError if it is not one.

    Refused, each with its own reason: not base58btc (another multibase
    prefix, or characters outside the alphabet), another multicodec than
    ``ed25519-pub`` (named when known), and a key that is not 32 bytes.
    """
    data = decode_base58btc(public_key_multibase, what="publicKeyMultibase")
    if not data.startswith(ED25519_PUB_MULTICODEC):
        raise SignatureError(
            "publicKeyMultibase is not an Ed25519 key: its multicodec is "
            f"{_describe_codec(data)}, not ed25519-pub (0xed)."
        )
    raw = data[len(ED25519_PUB_MULTICODEC) :]
    if len(raw) != ED25519_KEY_LENGTH:
        raise SignatureError(
            f"publicKeyMultibase holds {len(raw)} bytes of Ed25519 key, "
            f"not {ED25519_KEY_LENGTH}."
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def multikey(
    public_key: Ed25519PublicKey, *, key_id: str, controller: str
) -> dict[str, str]:
    """The ``Multikey`` object to put in an actor's ``assertionMethod``.

    ``controller`` is the actor's id; FEP-521a recommends a ``key_id`` made
    of the actor's id and a fragment (``<actor>#ed25519-key``), one fragment
    per key.  The actor document's ``@context`` should list
    :data:`MULTIKEY_CONTEXT`, for JSON-LD processors.
    """
    return {
        "id": key_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": encode_public_key(public_key),
    }


def find_assertion_method(
    actor: Mapping[str, Any], method_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The verification method ``method_id`` of an actor document, checked.

    Found in the actor's ``assertionMethod`` (FEP-521a: keys for signing
    objects go there), which may be one object, a list of objects, or IRIs;
    an IRI listed there may name a method the document embeds in
    ``verificationMethod`` instead (W3C Controlled Identifiers, section 2.3).
    The method must be a ``Multikey`` whose ``controller`` is the actor's
    ``id`` (FEP-521a: it MUST match), and must not have ``expires`` or
    ``revoked`` in the past (FEP-521a: an expired key's signatures MUST NOT
    be accepted).  A key listed only under ``authentication`` or
    ``publicKey`` is not found: it was not published for assertions.

    Raises SignatureError, with the reason, for anything else.  It does not
    check that the actor is the one the caller expected: that, and that the
    document was served from its own ``id``, is the caller's part.
    """
    actor_id = actor.get("id")
    if not isinstance(actor_id, str) or not actor_id:
        raise SignatureError("The actor document has no id.")
    method, listed = _lookup(actor.get("assertionMethod"), method_id)
    if method is None and listed:
        method, _ = _lookup(actor.get("verificationMethod"), method_id)
        if method is None:
            raise SignatureError(
                f"The actor's assertionMethod names {method_id} but the actor "
                "document does not describe it."
            )
    if method is None:
        raise SignatureError(f"{method_id} is not in the actor's assertionMethod.")
    types = method.get("type")
    if not (types == "Multikey" or (isinstance(types, list) and "Multikey" in types)):
        raise SignatureError(f"The verification method {method_id} is not a Multikey.")
    if method.get("controller") != actor_id:
        raise SignatureError(
            f"The verification method {method_id} is not controlled by {actor_id}."
        )
    now = now or datetime.now(UTC)
    for field, word in (("expires", "expired"), ("revoked", "was revoked")):
        if field in method:
            moment = parse_timestamp(method[field], what=f"The key's {field}")
            if moment <= now:
                raise SignatureError(f"The key {method_id} {word} at {moment}.")
    return dict(method)


def assertion_method_key(
    actor: Mapping[str, Any], method_id: str, *, now: datetime | None = None
) -> Ed25519PublicKey:
    """The Ed25519 key of :func:`find_assertion_method`, decoded."""
    method = find_assertion_method(actor, method_id, now=now)
    return decode_public_key(method.get("publicKeyMultibase"))


def _lookup(value: object, method_id: str) -> tuple[Mapping[str, Any] | None, bool]:
    """(the embedded object with that id or None, whether the id is listed)."""
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("id") == method_id:
            return entry, True
    return None, method_id in entries


def _describe_codec(data: bytes) -> str:
    code, shift = 0, 0
    for byte in data[:3]:
        code |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    else:
        return "unreadable"
    name = _CODEC_NAMES.get(code)
    return f"{name} (0x{code:x})" if name else f"0x{code:x}"
