"""Keys and documents shared by the Object Integrity Proof test modules.

The published vectors (``tests/data/``: W3C vc-di-eddsa, FEP-8b32, proofs
made by Fedify; see ``tests/data/README.txt``), the W3C test key pair, and
builders of signed FEP-8b32 documents, including proofs made by hand from
options we never write ourselves.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st

from vox_activity.protocol.multibase import decode_base58btc, encode_base58btc
from vox_activity.protocol.multikey import decode_public_key
from vox_activity.protocol.proofs import create_proof, signing_input

__all__ = [
    "ALICE_KEY",
    "AS",
    "CREATED",
    "DATA",
    "FEDIFY",
    "FEP",
    "JSON_SCALARS",
    "JSON_VALUES",
    "NOW",
    "OTHER_KEY",
    "W3C",
    "W3C_KEY",
    "W3C_PUBLIC",
    "apsig_options",
    "fep_document",
    "private_key_from_jwk",
    "private_key_from_multibase",
    "sha256_hex",
    "sign_with_options",
    "signed_fep_document",
    "without_proof",
]

DATA = Path(__file__).parent.parent / "data"
W3C = json.loads((DATA / "eddsa-jcs-2022-w3c.json").read_text())
FEP = json.loads((DATA / "fep-8b32.json").read_text())
FEDIFY = json.loads((DATA / "fedify-proofs.json").read_text())

CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
NOW = datetime(2025, 1, 1, tzinfo=UTC)
ALICE_KEY = "https://server.example/users/alice#ed25519-key"
AS = "https://www.w3.org/ns/activitystreams"


def private_key_from_multibase(value: str) -> Ed25519PrivateKey:
    data = decode_base58btc(value)
    assert data[:2] == b"\x80\x26"  # multicodec ed25519-priv
    return Ed25519PrivateKey.from_private_bytes(data[2:])


def private_key_from_jwk(jwk: dict) -> Ed25519PrivateKey:
    def b64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    key = Ed25519PrivateKey.from_private_bytes(b64(jwk["d"]))
    assert key.public_key().public_bytes_raw() == b64(jwk["x"])
    return key


W3C_KEY = private_key_from_multibase(W3C["keyPair"]["privateKeyMultibase"])
W3C_PUBLIC = decode_public_key(W3C["keyPair"]["publicKeyMultibase"])
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def without_proof(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "proof"}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fep_document() -> dict:
    return copy.deepcopy(FEP["current"]["document"])


def signed_fep_document(**kwargs) -> dict:
    return create_proof(fep_document(), W3C_KEY, ALICE_KEY, created=CREATED, **kwargs)


def sign_with_options(document: dict, options: dict, key=W3C_KEY) -> dict:
    """A proof made by hand from exactly these options (fields we never write)."""
    unsecured = without_proof(document)
    value = encode_base58btc(key.sign(signing_input(options, unsecured)))
    return {**unsecured, "proof": {**options, "proofValue": value}}


def apsig_options(created: str = "2023-02-24T23:36:38Z") -> dict:
    """The options of alice's eddsa-jcs-2022 proof, ``created`` as given."""
    return {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": ALICE_KEY,
        "proofPurpose": "assertionMethod",
        "created": created,
    }


#: Any JSON value (as the garbage a proof may be, or a document's fields).
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
