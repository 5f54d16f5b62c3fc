"""Object Integrity Proofs (FEP-8b32, eddsa-jcs-2022) against the outside world.

Published vectors (W3C, FEP-8b32) reproduced and verified, proofs made by
Fedify, and interop with an independent Python implementation (apsig) both
ways, on the vectors and on any generated JSON document.

No database: only settings (SIGNATURE_MAX_SKEW) are read.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from apsig import ProofSigner, ProofVerifier
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vox_activity.exceptions import KeyMismatch
from vox_activity.protocol.multibase import decode_base58btc
from vox_activity.protocol.multikey import assertion_method_key
from vox_activity.protocol.proofs import (
    DATA_INTEGRITY_CONTEXT,
    VerifiedProof,
    canonicalize,
    create_proof,
    proof_of,
    proofs_of,
    signing_input,
    verify_proof,
)

from .support.proofs import (
    ALICE_KEY,
    AS,
    CREATED,
    FEDIFY,
    FEP,
    JSON_VALUES,
    NOW,
    W3C,
    W3C_KEY,
    W3C_PUBLIC,
    apsig_options,
    fep_document,
    private_key_from_jwk,
    private_key_from_multibase,
    sha256_hex,
    signed_fep_document,
    without_proof,
)

# --- W3C vc-di-eddsa test vectors ------------------------------------------------


def test_w3c_canonical_document_and_its_hash():
    unsecured = without_proof(W3C["current"]["signedDocument"]["value"])
    canonical = canonicalize(unsecured)
    assert canonical.decode() == W3C["canonicalDocument"]["value"]
    assert sha256_hex(canonical) == W3C["documentHashHex"]["value"]


def test_w3c_current_proof_is_reproduced_exactly():
    vector = W3C["current"]
    signed = vector["signedDocument"]["value"]
    options = vector["proofOptions"]["value"]

    made = create_proof(
        without_proof(signed), W3C_KEY, options["verificationMethod"], created=CREATED
    )

    assert made == signed
    proof_options = {k: v for k, v in made["proof"].items() if k != "proofValue"}
    assert proof_options == options
    signature = decode_base58btc(made["proof"]["proofValue"])
    assert signature.hex() == vector["signatureHex"]["value"]


def test_w3c_current_proof_verifies():
    signed = W3C["current"]["signedDocument"]["value"]
    verified = verify_proof(signed, W3C_PUBLIC, now=NOW)
    assert verified == VerifiedProof(
        verification_method=signed["proof"]["verificationMethod"],
        created=CREATED,
        proof_purpose="assertionMethod",
        cryptosuite="eddsa-jcs-2022",
    )


def test_w3c_did_key_revision_intermediate_values():
    vector = W3C["didKeyRevision"]
    unsecured = without_proof(W3C["current"]["signedDocument"]["value"])
    config = json.loads(vector["canonicalProofConfig"]["value"])

    canonical = canonicalize(config)

    assert canonical.decode() == vector["canonicalProofConfig"]["value"]
    assert sha256_hex(canonical) == vector["proofHashHex"]["value"]
    assert signing_input(config, unsecured).hex() == vector["combinedHashHex"]["value"]


def test_w3c_revision_without_context_in_the_proof():
    """A proof without @context, hashed without one (2023 drafts): still accepted."""
    vector = W3C["withoutContextRevision"]
    signed = vector["signedDocument"]["value"]
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}

    assert sha256_hex(canonicalize(options)) == vector["proofHashHex"]["value"]
    verified = verify_proof(signed, W3C_PUBLIC, now=NOW)
    assert verified.verification_method == options["verificationMethod"]


# --- FEP-8b32 test vectors -------------------------------------------------------


def test_fep_8b32_signing_vector_is_reproduced_exactly():
    vector = FEP["current"]
    key = private_key_from_multibase(vector["secretKeyMultibase"])
    created = datetime.fromisoformat(vector["created"])

    made = create_proof(
        vector["document"], key, vector["verificationMethod"], created=created
    )

    assert made == vector["signedDocument"]


def test_fep_8b32_verifying_vector_with_the_actors_key():
    vector = FEP["current"]
    proof = proof_of(vector["signedDocument"])
    key = assertion_method_key(vector["actor"], proof["verificationMethod"], now=NOW)

    verified = verify_proof(vector["signedDocument"], key, now=NOW)

    assert verified.verification_method == ALICE_KEY


def test_fep_8b32_earlier_vector_without_context_in_the_proof():
    signed = FEP["earlier"]["signedDocument"]
    assert "@context" not in signed["proof"]
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).created == CREATED


# --- proofs made by Fedify ---------------------------------------------------------

FEDIFY_FEP_KEY = private_key_from_jwk(FEDIFY["keys"]["fep"]["jwk"])
FEDIFY_PERSON2_KEY = private_key_from_jwk(FEDIFY["keys"]["person2"]["jwk"])
PERSON2_KEY_ID = FEDIFY["keys"]["person2"]["id"]


def test_fedify_fep_key_is_the_w3c_key():
    assert FEDIFY_FEP_KEY.public_key() == W3C_PUBLIC


def test_our_proof_is_byte_for_byte_fedifys():
    document = FEDIFY["unsignedDocument"]["value"]
    made = create_proof(document, FEDIFY_FEP_KEY, ALICE_KEY, created=CREATED)
    assert made == FEDIFY["signObject"]["signedOnce"]


def test_our_proof_set_is_fedifys():
    """Signing a signed document adds a second proof, as Fedify's signObject() does."""
    once = FEDIFY["signObject"]["signedOnce"]
    twice = create_proof(once, FEDIFY_PERSON2_KEY, PERSON2_KEY_ID, created=CREATED)
    assert twice == FEDIFY["signObject"]["signedTwice"]
    assert once == FEDIFY["signObject"]["signedOnce"], "the input is not changed"


@pytest.mark.parametrize(
    "document",
    [FEDIFY["signObject"]["signedTwice"], FEDIFY["verifyObject"]["value"]],
    ids=["with-context", "without-context"],
)
def test_fedify_proof_sets_verify_with_each_key(document):
    """With @context in the proofs (signObject) and without (verifyObject)."""
    first, second = proofs_of(document)
    assert proof_of(document) == first

    assert verify_proof(document, W3C_PUBLIC, now=NOW).verification_method == (
        ALICE_KEY
    )
    key = FEDIFY_PERSON2_KEY.public_key()
    verified = verify_proof(document, key, now=NOW, proof=second)
    assert verified.verification_method == PERSON2_KEY_ID
    with pytest.raises(KeyMismatch):
        verify_proof(document, key, now=NOW)


# --- interop with apsig, an independent implementation --------------------------


def test_apsig_verifies_our_proof():
    signed = signed_fep_document()
    verifier = ProofVerifier(W3C["keyPair"]["publicKeyMultibase"])
    assert verifier.verify_proof(copy.deepcopy(signed), raise_on_fail=True) == (
        ALICE_KEY
    )


def test_we_verify_apsigs_proof():
    signed = ProofSigner(W3C_KEY).sign(fep_document(), apsig_options())
    assert signed["proof"]["@context"] == fep_document()["@context"]
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


def test_apsig_refuses_our_proof_of_a_changed_document():
    """The interop test can fail: apsig does check what we sign."""
    signed = signed_fep_document()
    signed["object"]["content"] = "Goodbye world"
    verifier = ProofVerifier(W3C_PUBLIC)
    assert verifier.verify_proof(copy.deepcopy(signed)) is None


DOCUMENTS = st.dictionaries(
    st.text(max_size=10).filter(lambda k: k not in ("proof", "signature", "@context")),
    JSON_VALUES,
    max_size=6,
).map(lambda document: {"@context": [AS, DATA_INTEGRITY_CONTEXT], **document})


@hypothesis_settings(max_examples=60, deadline=None)
@given(DOCUMENTS)
def test_interop_both_ways_on_any_json_document(document):
    """Two JCS implementations (rfc8785 and jcs) and two signers agree."""
    ours = create_proof(document, W3C_KEY, ALICE_KEY, created=CREATED)
    verifier = ProofVerifier(W3C_PUBLIC)
    assert verifier.verify_proof(copy.deepcopy(ours), raise_on_fail=True) == ALICE_KEY

    theirs = ProofSigner(W3C_KEY).sign(copy.deepcopy(document), apsig_options())
    assert verify_proof(theirs, W3C_PUBLIC, now=NOW).created == CREATED
