"""Object Integrity Proofs (FEP-8b32) with the ``eddsa-jcs-2022`` cryptosuite.

An HTTP signature proves who *sent* a request; an integrity proof proves who
*wrote* a document, wherever it travels.  A relay, or a server forwarding a
reply to its followers (ActivityPub section 7.1.2), delivers an activity
signed by the author's key inside the activity itself, under ``proof``::

    "proof": {
      "@context": ["https://www.w3.org/ns/activitystreams",
                   "https://w3id.org/security/data-integrity/v2"],
      "type": "DataIntegrityProof",
      "cryptosuite": "eddsa-jcs-2022",
      "verificationMethod": "https://server.example/users/alice#ed25519-key",
      "proofPurpose": "assertionMethod",
      "created": "2023-02-24T23:36:38Z",
      "proofValue": "z42ffGu6…"
    }

The cryptosuite (W3C "Data Integrity EdDSA Cryptosuites v1.0", section 3.3)
signs, with Ed25519, the 64 bytes ``SHA-256(JCS(proof configuration)) ||
SHA-256(JCS(document))``, where the proof configuration is the proof without
``proofValue``, the document is the document without ``proof``, and JCS is
the JSON Canonicalization Scheme of RFC 8785.  ``proofValue`` is the
signature in multibase base58btc.  The key is a ``Multikey`` in the author's
``assertionMethod`` (FEP-521a, :mod:`vox_activity.protocol.multikey`).

The ``@context`` of the proof configuration
-------------------------------------------
This is where implementations differ, and where interoperability is decided:

* **What the W3C Recommendation says** (vc-di-eddsa, "Create Proof
  (eddsa-jcs-2022)" and "Verify Proof (eddsa-jcs-2022)"): when creating, if
  the document has an ``@context``, the proof gets a copy of it as its own
  ``@context``, and that proof (with ``@context``) is the configuration that
  is hashed.  When verifying, the configuration is the received proof minus
  ``proofValue``; if it has an ``@context``, the document's ``@context``
  must *start with* the same values in the same order, and the document is
  then hashed with the proof's ``@context`` in place of its own.  The current
  W3C test vectors and FEP-8b32's own examples and test vector
  (``fep-8b32.feature``) are made this way: the proof carries ``@context``.
* **What Fedify does** (``packages/fedify/src/sig/proof.ts``): when creating,
  it hashes a configuration whose ``@context`` is the document's (it does not
  depend on the proof carrying one).  When verifying, it rebuilds the
  configuration from the proof's ``type``, ``cryptosuite``,
  ``verificationMethod``, ``proofPurpose`` and ``created`` (re-serialised
  with ``Temporal.Instant.toString()``), always with the *document's*
  ``@context``, whatever the proof says, and ignoring any other proof field.
  Its JSON-LD serialisation happens to write the ``@context`` into the proof
  too, but the proofs in its own tests also come without one.
* **Older drafts** (the 2023 W3C test vectors, FEP-8b32's earlier test
  vector) and some libraries (``bovine``) hash a configuration *without*
  ``@context`` when the proof has none.

So, to be read by everyone, :func:`create_proof` writes the document's
``@context`` into the proof and hashes that configuration: it is the W3C
form, Fedify rebuilds the identical configuration from it, and JSON-only
verifiers find it in the proof.  And :func:`verify_proof` accepts:

* a proof with ``@context``: exactly as the Recommendation says;
* a proof without ``@context`` on a document with one: the configuration is
  tried with the document's ``@context`` (Fedify, earlier drafts), then
  without (older vectors, bovine).  Both configurations are fixed by what
  was received; trying the second only spares a false refusal.

Other rules
-----------
* Linked Data Signatures (``signature``, Mastodon's RsaSignature2017) are
  left out of the hashed document: FEP-8b32 says a proof is created before
  that signature is added and verified after it is removed, and Fedify's
  inbox removes it (``detachSignature``) before checking proofs.
* Several proofs (a proof set) are all made over the document without any
  ``proof``; :func:`proof_of` picks the one to check (the first
  ``eddsa-jcs-2022`` one).  Proof chains (``previousProof``) are refused.
* Accepted only: ``type`` ``DataIntegrityProof``, ``cryptosuite``
  ``eddsa-jcs-2022``, ``proofPurpose`` ``assertionMethod`` (FEP-8b32: it
  MUST be), a ``verificationMethod`` IRI, a ``created`` not later than
  ``SIGNATURE_MAX_SKEW`` from now (Fedify requires ``created`` too), and an
  ``expires``, if any, not past by more than that.  A proof is not refused
  for being old: activities are relayed and fetched long after they were
  written, and an id is processed once anyway.

JCS comes from the ``rfc8785`` package (maintained by Trail of Bits): pure
Python, no dependencies, typed, and it formats numbers the way RFC 8785
requires (the ECMAScript algorithm JavaScript peers such as Fedify use):
``-71.184902`` stays ``-71.184902``, ``1.0`` becomes ``1``.  It refuses, with
an error instead of a wrong hash, what JCS cannot express: integers beyond
2**53 (JavaScript could not read them either), infinities (``json`` parses
``1e400`` as one), lone surrogates and non-JSON types.  A received document
that cannot be canonicalised is refused with the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from vox_activity.conf import get_setting
from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.multibase import decode_base58btc, encode_base58btc
from vox_activity.protocol.timestamps import format_timestamp, parse_timestamp

__all__ = [
    "CRYPTOSUITE",
    "DATA_INTEGRITY_CONTEXT",
    "PROOF_PURPOSE",
    "PROOF_TYPE",
    "VerifiedProof",
    "canonicalize",
    "create_proof",
    "proof_of",
    "proofs_of",
    "signing_input",
    "verify_proof",
    "with_data_integrity_context",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_PURPOSE = "assertionMethod"

#: The JSON-LD context defining ``proof``, ``DataIntegrityProof`` and its
#: fields.  JSON-LD processors (Fedify) see a proof only if the document's
#: ``@context`` defines it: see :func:`with_data_integrity_context`.
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
_DATA_INTEGRITY_CONTEXTS = frozenset(
    {DATA_INTEGRITY_CONTEXT, "https://w3id.org/security/data-integrity/v1"}
)

ED25519_SIGNATURE_LENGTH = 64

#: Not hashed with the document: its proofs, and a Linked Data Signature.
_NOT_SIGNED = ("proof", "signature")


@dataclass(frozen=True)
class VerifiedProof:
    """What a verified proof says: who signed (the key's id), when, and how."""

    verification_method: str
    created: datetime
    proof_purpose: str
    cryptosuite: str


def canonicalize(value: Any) -> bytes:
    """``value`` in the JSON Canonicalization Scheme (RFC 8785), as UTF-8.

    Raises :class:`rfc8785.CanonicalizationError` (a ValueError) for what JCS
    cannot express; :func:`verify_proof` turns that into a SignatureError.
    """
    return rfc8785.dumps(value)


def signing_input(
    proof_config: Mapping[str, Any], unsecured: Mapping[str, Any]
) -> bytes:
    """The 64 bytes Ed25519 signs: SHA-256 of each canonical form, concatenated.

    The proof configuration comes first (vc-di-eddsa, "Hashing
    (eddsa-jcs-2022)").
    """
    return (
        hashlib.sha256(canonicalize(proof_config)).digest()
        + hashlib.sha256(canonicalize(unsecured)).digest()
    )


def with_data_integrity_context(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` whose ``@context`` defines integrity proofs.

    Call it before :func:`create_proof` on an activity: JSON-LD processors
    such as Fedify's read ``proof`` only when the ``@context`` defines it, and
    the context must be in place *before* signing, since it is signed.
    :data:`DATA_INTEGRITY_CONTEXT` is appended unless a data-integrity
    context (v1 or v2) is already there; a document without ``@context`` is
    returned as it is (an embedded object inherits its parent's).
    """
    copy = dict(document)
    if "@context" not in copy:
        return copy
    context = copy["@context"]
    contexts = list(context) if isinstance(context, list) else [context]
    if not any(
        isinstance(entry, str) and entry in _DATA_INTEGRITY_CONTEXTS
        for entry in contexts
    ):
        copy["@context"] = [*contexts, DATA_INTEGRITY_CONTEXT]
    return copy


def create_proof(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    *,
    created: datetime | None = None,
    proof_purpose: str = PROOF_PURPOSE,
) -> dict[str, Any]:
    """``document`` with an ``eddsa-jcs-2022`` proof by ``private_key`` attached.

    ``verification_method`` is the id of the key's Multikey in the signer's
    ``assertionMethod``; ``created`` defaults to now and is written in whole
    UTC seconds (see :mod:`vox_activity.protocol.timestamps` for why).  The
    proof carries the document's ``@context`` when it has one, as the W3C
    Recommendation says (see the module docstring).  ``document`` is not
    changed; the result is a new dict.  If it already has a proof, the new one
    is added beside it (a proof set, as Fedify does); a ``signature`` (Linked
    Data Signature) stays but is not signed.

    Raises ValueError if the document cannot be canonicalised (an integer
    beyond 2**53, a float infinity, a non-JSON value).
    """
    proof: dict[str, Any] = {}
    if "@context" in document:
        proof["@context"] = document["@context"]
    proof.update(
        {
            "type": PROOF_TYPE,
            "cryptosuite": CRYPTOSUITE,
            "verificationMethod": verification_method,
            "proofPurpose": proof_purpose,
            "created": format_timestamp(created or datetime.now(UTC)),
        }
    )
    unsecured = {k: v for k, v in document.items() if k not in _NOT_SIGNED}
    signature = private_key.sign(signing_input(proof, unsecured))
    proof["proofValue"] = encode_base58btc(signature)
    secured = dict(document)
    existing = proofs_of(document) if "proof" in document else []
    secured["proof"] = [*existing, proof] if existing else proof
    return secured


def proofs_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every proof of ``document`` (``proof`` is one object or a list of them).

    An absent ``proof``, or an empty list, is no proof.  Anything else than
    objects is refused with SignatureError: a sender who writes ``proof``
    means to be checked by it.
    """
    value = document.get("proof")
    if value is None:
        return []
    entries = value if isinstance(value, list) else [value]
    if not all(isinstance(entry, Mapping) for entry in entries):
        raise SignatureError("proof must be an object or a list of objects.")
    return [dict(entry) for entry in entries]


def proof_of(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The proof of ``document`` to verify, or None if it has none.

    The caller reads its ``verificationMethod`` to fetch the key, then calls
    :func:`verify_proof`.  With several proofs, the first whose ``type`` and
    ``cryptosuite`` we support is chosen, else the first (so that
    :func:`verify_proof` refuses it with the reason).
    """
    proofs = proofs_of(document)
    for proof in proofs:
        if proof.get("type") == PROOF_TYPE and proof.get("cryptosuite") == CRYPTOSUITE:
            return proof
    return proofs[0] if proofs else None


def verify_proof(
    document: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    *,
    now: datetime | None = None,
    proof: Mapping[str, Any] | None = None,
) -> VerifiedProof:
    """Check the integrity proof of ``document`` with ``public_key``.

    ``proof`` is the proof to check, one of :func:`proofs_of`; by default
    :func:`proof_of`'s.  The caller has fetched ``public_key`` from the
    proof's ``verificationMethod`` (an actor's ``assertionMethod``, see
    :func:`vox_activity.protocol.multikey.assertion_method_key`) and must
    still check that this actor is the one the document speaks for.

    Raises SignatureError when there is no proof or it is malformed,
    unsupported, from the future or expired, or its ``@context`` does not
    match the document's; KeyMismatch (a SignatureError) when it is well
    formed but the signature does not verify with this key: the document or
    the proof was changed, or the key is not the signer's (it may have been
    rotated, so fetching it again may help).  Nothing else is raised for any
    JSON the sender could write.
    """
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError("public_key must be an Ed25519PublicKey.")
    if not isinstance(document, Mapping):
        raise SignatureError("The signed document must be an object.")
    if proof is None:
        proof = proof_of(document)
    if proof is None:
        raise SignatureError("The document has no integrity proof.")
    verified, options, signature = _read_proof(proof, now or datetime.now(UTC))
    unsecured = {k: v for k, v in document.items() if k not in _NOT_SIGNED}
    if "@context" in options:
        _check_context_prefix(document.get("@context"), options["@context"])
        unsecured["@context"] = options["@context"]
        configs = [options]
    elif "@context" in document:
        configs = [{**options, "@context": document["@context"]}, options]
    else:
        configs = [options]
    document_hash = _sha256_jcs(unsecured, what="The document")
    for config in configs:
        message = _sha256_jcs(config, what="The proof") + document_hash
        try:
            public_key.verify(signature, message)
        except InvalidSignature:
            continue
        return verified
    raise KeyMismatch(
        f"The integrity proof does not verify with the key of "
        f"{verified.verification_method}."
    )


def _read_proof(
    proof: Mapping[str, Any], now: datetime
) -> tuple[VerifiedProof, dict[str, Any], bytes]:
    """Check a proof's fields: (what it says, its options, its signature)."""
    if not isinstance(proof, Mapping):
        raise SignatureError("proof must be an object.")
    kind = proof.get("type")
    if kind != PROOF_TYPE:
        raise SignatureError(f"Unsupported proof type {kind!r}; expected {PROOF_TYPE}.")
    suite = proof.get("cryptosuite")
    if suite != CRYPTOSUITE:
        raise SignatureError(
            f"Unsupported cryptosuite {suite!r}; expected {CRYPTOSUITE}."
        )
    purpose = proof.get("proofPurpose")
    if purpose != PROOF_PURPOSE:
        raise SignatureError(
            f"Unsupported proofPurpose {purpose!r}; expected {PROOF_PURPOSE}."
        )
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or not method:
        raise SignatureError("The proof's verificationMethod must be an IRI.")
    if "previousProof" in proof:
        raise SignatureError("Chained proofs (previousProof) are not supported.")
    if "created" not in proof:
        raise SignatureError("The proof has no created time.")
    created = parse_timestamp(proof["created"], what="The proof's created")
    skew = timedelta(seconds=int(get_setting("SIGNATURE_MAX_SKEW")))
    if created > now + skew:
        raise SignatureError(f"The proof was created in the future ({created}).")
    if "expires" in proof:
        expires = parse_timestamp(proof["expires"], what="The proof's expires")
        if expires < now - skew:
            raise SignatureError(f"The proof expired at {expires}.")
    if "proofValue" not in proof:
        raise SignatureError("The proof has no proofValue.")
    signature = decode_base58btc(proof["proofValue"], what="proofValue")
    if len(signature) != ED25519_SIGNATURE_LENGTH:
        raise SignatureError(
            f"proofValue holds {len(signature)} bytes, not an Ed25519 signature "
            f"({ED25519_SIGNATURE_LENGTH})."
        )
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    verified = VerifiedProof(
        verification_method=method,
        created=created,
        proof_purpose=purpose,
        cryptosuite=suite,
    )
    return verified, options, signature


def _check_context_prefix(document_context: object, proof_context: object) -> None:
    """The document's ``@context`` must start with the proof's (W3C, verify step 4)."""
    if document_context is None:
        raise SignatureError("The proof has an @context but the document has none.")
    expected = _as_list(proof_context)
    actual = _as_list(document_context)
    same = len(actual) >= len(expected) and all(
        _sha256_jcs(a, what="The @context")
        == _sha256_jcs(e, what="The proof's @context")
        for a, e in zip(actual, expected, strict=False)
    )
    if not same:
        raise SignatureError("The document's @context does not start with the proof's.")


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _sha256_jcs(value: object, *, what: str) -> bytes:
    try:
        return hashlib.sha256(canonicalize(value)).digest()
    except (rfc8785.CanonicalizationError, RecursionError) as exc:
        raise SignatureError(f"{what} cannot be canonicalised (JCS): {exc}") from None
