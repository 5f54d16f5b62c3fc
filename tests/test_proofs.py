"""Object Integrity Proofs (FEP-8b32, eddsa-jcs-2022).

Published vectors (W3C, FEP-8b32), proofs made by Fedify, interop with an
independent Python implementation (apsig) both ways, tampering, and garbage.
No database: only settings (SIGNATURE_MAX_SKEW) are read.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from apsig import ProofSigner, ProofVerifier
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.multibase import decode_base58btc, encode_base58btc
from vox_activity.protocol.multikey import assertion_method_key, decode_public_key
from vox_activity.protocol.proofs import (
    DATA_INTEGRITY_CONTEXT,
    VerifiedProof,
    canonicalize,
    create_proof,
    proof_of,
    proofs_of,
    signing_input,
    verify_proof,
    with_data_integrity_context,
)

from .settings import SUITE_VOX_ACTIVITY

DATA = Path(__file__).parent / "data"
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


def apsig_options(created: str = "2023-02-24T23:36:38Z") -> dict:
    return {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": ALICE_KEY,
        "proofPurpose": "assertionMethod",
        "created": created,
    }


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


# --- what we write -----------------------------------------------------------------


def test_created_is_whole_utc_seconds():
    paris = timezone(timedelta(hours=2))
    created = datetime(2024, 6, 1, 9, 30, 15, 987654, tzinfo=paris)
    signed = create_proof(fep_document(), W3C_KEY, ALICE_KEY, created=created)
    assert signed["proof"]["created"] == "2024-06-01T07:30:15Z"
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).created == datetime(
        2024, 6, 1, 7, 30, 15, tzinfo=UTC
    )


def test_created_defaults_to_now():
    before = datetime.now(UTC).replace(microsecond=0)
    signed = create_proof(fep_document(), W3C_KEY, ALICE_KEY)
    created = verify_proof(signed, W3C_PUBLIC).created
    assert before <= created <= datetime.now(UTC)


def test_naive_created_is_a_programming_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        create_proof(fep_document(), W3C_KEY, ALICE_KEY, created=datetime(2024, 1, 1))


def test_document_is_not_changed():
    document = fep_document()
    create_proof(document, W3C_KEY, ALICE_KEY, created=CREATED)
    assert document == fep_document()


def test_document_without_context_gets_a_proof_without_context():
    document = without_proof(fep_document())
    del document["@context"]
    signed = create_proof(document, W3C_KEY, ALICE_KEY, created=CREATED)
    assert "@context" not in signed["proof"]
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


def test_linked_data_signature_is_kept_but_not_signed():
    """FEP-8b32: a proof is made before, and checked after, the LD signature."""
    document = {**fep_document(), "signature": {"type": "RsaSignature2017"}}
    signed = create_proof(document, W3C_KEY, ALICE_KEY, created=CREATED)
    assert signed["signature"] == {"type": "RsaSignature2017"}
    assert signed["proof"] == signed_fep_document()["proof"]

    signed["signature"] = {"type": "RsaSignature2017", "signatureValue": "changed"}
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


def test_cannot_sign_what_jcs_cannot_express():
    with pytest.raises(ValueError, match="safe integer"):
        create_proof({"n": 2**60}, W3C_KEY, ALICE_KEY, created=CREATED)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (AS, [AS, DATA_INTEGRITY_CONTEXT]),
        ([AS], [AS, DATA_INTEGRITY_CONTEXT]),
        (
            [AS, {"toot": "http://joinmastodon.org/ns#"}],
            [AS, {"toot": "http://joinmastodon.org/ns#"}, DATA_INTEGRITY_CONTEXT],
        ),
        (
            [AS, "https://w3id.org/security/data-integrity/v1"],
            [AS, "https://w3id.org/security/data-integrity/v1"],
        ),
        ([AS, DATA_INTEGRITY_CONTEXT], [AS, DATA_INTEGRITY_CONTEXT]),
    ],
)
def test_with_data_integrity_context(context, expected):
    document = {"@context": context, "type": "Note"}
    expected_document = {"@context": expected, "type": "Note"}
    assert with_data_integrity_context(document) == expected_document
    assert document["@context"] == context


def test_with_data_integrity_context_leaves_embedded_objects_alone():
    assert with_data_integrity_context({"type": "Note"}) == {"type": "Note"}


# --- the @context rules of the Recommendation ------------------------------------


def test_document_context_may_be_extended_after_signing():
    """W3C verify step 4: the document's @context must start with the proof's."""
    signed = signed_fep_document()
    signed["@context"] = [*signed["@context"], {"Hashtag": "as:Hashtag"}]
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


@pytest.mark.parametrize(
    "context",
    [
        [AS],
        [DATA_INTEGRITY_CONTEXT, AS],
        AS,
        ["https://www.w3.org/ns/activitystreams#", DATA_INTEGRITY_CONTEXT],
    ],
)
def test_document_context_not_starting_with_the_proofs_is_refused(context):
    signed = signed_fep_document()
    signed["@context"] = context
    with pytest.raises(SignatureError, match="does not start with the proof's") as e:
        verify_proof(signed, W3C_PUBLIC, now=NOW)
    assert not isinstance(e.value, KeyMismatch)


def test_document_without_context_but_proof_with_one_is_refused():
    signed = signed_fep_document()
    del signed["@context"]
    with pytest.raises(SignatureError, match="the document has none"):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


def test_string_context_matches_itself():
    document = {**fep_document(), "@context": AS}
    signed = create_proof(document, W3C_KEY, ALICE_KEY, created=CREATED)
    assert signed["proof"]["@context"] == AS
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


def test_proof_stripped_of_its_context_still_verifies():
    """Fedify's form: the configuration is rebuilt with the document's @context."""
    signed = signed_fep_document()
    del signed["proof"]["@context"]
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


def test_proof_context_changed_is_refused():
    signed = signed_fep_document()
    signed["proof"]["@context"] = [AS]
    with pytest.raises(KeyMismatch):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


# --- tampering ---------------------------------------------------------------------


def leaves(value, path=()):
    """(path, value) of every scalar in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return f"{value}x"


def set_at(document, path, value):
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


DOCUMENT_LEAVES = [
    path
    for path, _ in leaves(without_proof(FEP["current"]["document"]))
    if path[0] != "@context"
]


@pytest.mark.parametrize("path", DOCUMENT_LEAVES, ids=lambda p: ".".join(map(str, p)))
def test_any_changed_document_value_is_refused(path):
    signed = signed_fep_document()
    original = dict(leaves(signed))[path]
    set_at(signed, path, changed(original))
    with pytest.raises(KeyMismatch, match=r"does not verify with the key of .*alice"):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(cc=["https://www.w3.org/ns/activitystreams#Public"]),
        lambda d: d["object"].update(sensitive=True),
        lambda d: d["object"].pop("location"),
        lambda d: d.pop("id"),
        lambda d: d["object"]["location"].update(longitude=-71.1849021),
        lambda d: d["object"].update(content="Hello world "),
        lambda d: d.update(type="Update"),
    ],
    ids=[
        "added",
        "nested-added",
        "nested-removed",
        "removed",
        "float",
        "space",
        "type",
    ],
)
def test_added_or_removed_document_field_is_refused(change):
    signed = signed_fep_document()
    change(signed)
    with pytest.raises(KeyMismatch):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("verificationMethod", "https://server.example/users/mallory#ed25519-key"),
        ("created", "2023-02-24T23:36:39Z"),
        ("created", "2023-02-24T23:36:38.000Z"),
        ("created", "2023-02-25T00:36:38+01:00"),
        ("nonce", "added"),
        ("domain", "server.example"),
        ("expires", "2100-01-01T00:00:00Z"),
        ("id", "urn:uuid:added"),
    ],
)
def test_any_changed_or_added_proof_option_is_refused(field, value):
    signed = signed_fep_document()
    signed["proof"][field] = value
    with pytest.raises(KeyMismatch):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


def test_wrong_key_is_refused():
    signed = signed_fep_document()
    with pytest.raises(KeyMismatch, match="does not verify"):
        verify_proof(signed, OTHER_KEY.public_key(), now=NOW)


def test_another_valid_signature_is_refused():
    signed = signed_fep_document()
    signature = OTHER_KEY.sign(b"something else")
    signed["proof"]["proofValue"] = encode_base58btc(signature)
    with pytest.raises(KeyMismatch):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


def test_signature_with_a_flipped_bit_is_refused():
    signed = signed_fep_document()
    signature = bytearray(decode_base58btc(signed["proof"]["proofValue"]))
    signature[10] ^= 1
    signed["proof"]["proofValue"] = encode_base58btc(bytes(signature))
    with pytest.raises(KeyMismatch):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


GOOD_VALUE = signed_fep_document()["proof"]["proofValue"]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("type", "Ed25519Signature2020", "proof type 'Ed25519Signature2020'"),
        ("type", ["DataIntegrityProof"], "Unsupported proof type"),
        ("type", None, "Unsupported proof type None"),
        ("cryptosuite", "eddsa-rdfc-2022", "Unsupported cryptosuite 'eddsa-rdfc-2022'"),
        ("cryptosuite", "jcs-eddsa-2022", "Unsupported cryptosuite"),
        ("cryptosuite", "ecdsa-jcs-2019", "Unsupported cryptosuite"),
        ("proofPurpose", "authentication", "Unsupported proofPurpose 'authentication'"),
        ("proofPurpose", "capabilityInvocation", "Unsupported proofPurpose"),
        ("verificationMethod", {"id": ALICE_KEY}, "verificationMethod must be an IRI"),
        ("verificationMethod", "", "verificationMethod must be an IRI"),
        ("created", "yesterday", "created is not a date-time with a time zone"),
        ("created", "2023-02-24T23:36:38", "created is not a date-time with a time"),
        ("created", "2023-02-30T23:36:38Z", "created is not a valid date-time"),
        ("created", 1677281798, "created is not a date-time"),
        ("expires", "never", "expires is not a date-time"),
        ("expires", "2024-01-01T00:00:00Z", "The proof expired at 2024-01-01"),
        ("previousProof", "urn:uuid:1", r"Chained proofs \(previousProof\)"),
        ("proofValue", GOOD_VALUE[1:], "proofValue must be multibase base58btc"),
        ("proofValue", "u" + "A" * 86, "proofValue must be multibase base58btc"),
        ("proofValue", GOOD_VALUE + "0", "proofValue is not valid base58btc"),
        ("proofValue", GOOD_VALUE[:-3], r"proofValue holds \d+ bytes, not an Ed25519"),
        ("proofValue", encode_base58btc(bytes(65)), "proofValue holds 65 bytes"),
        ("proofValue", 42, "proofValue must be a string"),
    ],
)
def test_malformed_or_unsupported_proof_is_refused(field, value, reason):
    signed = signed_fep_document()
    signed["proof"][field] = value
    with pytest.raises(SignatureError, match=reason) as caught:
        verify_proof(signed, W3C_PUBLIC, now=NOW)
    assert not isinstance(caught.value, KeyMismatch), "no key can cure this"


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("type", "Unsupported proof type None"),
        ("cryptosuite", "Unsupported cryptosuite None"),
        ("proofPurpose", "Unsupported proofPurpose None"),
        ("verificationMethod", "verificationMethod must be an IRI"),
        ("created", "The proof has no created time"),
        ("proofValue", "The proof has no proofValue"),
    ],
)
def test_missing_proof_field_is_refused_with_its_reason(field, reason):
    signed = signed_fep_document()
    del signed["proof"][field]
    with pytest.raises(SignatureError, match=reason) as caught:
        verify_proof(signed, W3C_PUBLIC, now=NOW)
    assert not isinstance(caught.value, KeyMismatch)


def test_signed_expiry_in_the_future_is_accepted():
    options = {**apsig_options(), "expires": "2026-01-01T00:00:00Z"}
    signed = sign_with_options(fep_document(), options)
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


def test_signed_but_expired_proof_is_refused():
    options = {**apsig_options(), "expires": "2024-12-31T00:00:00Z"}
    signed = sign_with_options(fep_document(), options)
    with pytest.raises(SignatureError, match="expired"):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


def test_unknown_signed_proof_fields_are_part_of_the_configuration():
    """The Recommendation hashes every option: a signed nonce verifies."""
    options = {**apsig_options(), "nonce": "1234", "id": "urn:uuid:proof-1"}
    signed = sign_with_options(fep_document(), options)
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


# --- time --------------------------------------------------------------------------


def test_proof_from_the_near_future_is_accepted():
    """Clocks differ: up to SIGNATURE_MAX_SKEW (an hour) ahead is tolerated."""
    signed = signed_fep_document()
    verify_proof(signed, W3C_PUBLIC, now=CREATED - timedelta(minutes=59))


def test_proof_from_the_future_is_refused():
    signed = signed_fep_document()
    with pytest.raises(SignatureError, match="created in the future"):
        verify_proof(signed, W3C_PUBLIC, now=CREATED - timedelta(minutes=61))


def test_skew_is_a_setting(settings):
    settings.VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "SIGNATURE_MAX_SKEW": 60}
    signed = signed_fep_document()
    verify_proof(signed, W3C_PUBLIC, now=CREATED - timedelta(seconds=59))
    with pytest.raises(SignatureError, match="created in the future"):
        verify_proof(signed, W3C_PUBLIC, now=CREATED - timedelta(seconds=61))


def test_old_proofs_are_accepted():
    """Relayed and fetched documents are verified long after they were signed."""
    signed = signed_fep_document()
    verify_proof(signed, W3C_PUBLIC, now=CREATED + timedelta(days=3650))


def test_fedify_nanosecond_created_is_read():
    options = {**apsig_options(created="2024-06-18T12:34:56.123456789Z")}
    signed = sign_with_options(fep_document(), options)
    created = verify_proof(signed, W3C_PUBLIC, now=NOW).created
    assert created == datetime(2024, 6, 18, 12, 34, 56, 123456, tzinfo=UTC)


# --- which proof ---------------------------------------------------------------


def test_proof_of_a_document_without_proof_is_none():
    assert proof_of(fep_document()) is None
    assert proof_of({**fep_document(), "proof": []}) is None
    with pytest.raises(SignatureError, match="has no integrity proof"):
        verify_proof(fep_document(), W3C_PUBLIC, now=NOW)


@pytest.mark.parametrize("value", ["z42ff", 12, True, ["z42ff"], [{}, "x"]])
def test_proof_that_is_not_an_object_is_refused(value):
    with pytest.raises(SignatureError, match="proof must be an object"):
        proof_of({**fep_document(), "proof": value})


def test_proof_of_prefers_a_supported_proof():
    signed = signed_fep_document()
    other = {**signed["proof"], "cryptosuite": "ecdsa-jcs-2019"}
    signed["proof"] = [other, signed["proof"]]
    assert proof_of(signed) == signed["proof"][1]
    assert verify_proof(signed, W3C_PUBLIC, now=NOW).verification_method == ALICE_KEY


def test_proof_of_falls_back_to_the_first_so_the_reason_is_given():
    signed = signed_fep_document()
    signed["proof"] = [{**signed["proof"], "cryptosuite": "bbs-2023"}]
    with pytest.raises(SignatureError, match="Unsupported cryptosuite 'bbs-2023'"):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


# --- garbage -------------------------------------------------------------------


def test_document_jcs_cannot_express_is_refused():
    """json.loads reads 1e400 as infinity; JCS has no way to write it."""
    signed = json.loads(json.dumps(signed_fep_document()).replace("25.273962", "1e400"))
    with pytest.raises(SignatureError, match="cannot be canonicalised"):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


def test_too_large_integer_in_a_proof_option_is_refused():
    signed = signed_fep_document()
    signed["proof"]["nonce"] = 2**64
    with pytest.raises(SignatureError, match="cannot be canonicalised"):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


def test_deeply_nested_document_is_refused_not_crashed():
    nested: object = "deep"
    for _ in range(5000):
        nested = [nested]
    signed = {**signed_fep_document(), "deep": nested}
    with pytest.raises(SignatureError, match="cannot be canonicalised"):
        verify_proof(signed, W3C_PUBLIC, now=NOW)


def test_document_must_be_an_object():
    with pytest.raises(SignatureError, match="must be an object"):
        verify_proof(["not", "an", "object"], W3C_PUBLIC, now=NOW)  # type: ignore[arg-type]


PROOF_FIELDS = [
    "@context",
    "type",
    "cryptosuite",
    "verificationMethod",
    "proofPurpose",
    "created",
    "expires",
    "proofValue",
    "previousProof",
]


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_any_garbage_proof_raises_only_signature_error(garbage):
    document = {**fep_document(), "proof": garbage}
    try:
        verify_proof(document, W3C_PUBLIC, now=NOW)
    except SignatureError:
        return
    pytest.fail("garbage verified")


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PROOF_FIELDS), JSON_VALUES)
def test_any_garbage_proof_field_raises_only_signature_error(field, garbage):
    signed = signed_fep_document()
    signed["proof"][field] = garbage
    try:
        verify_proof(signed, W3C_PUBLIC, now=NOW)
    except SignatureError:
        return
    # Only the value that was signed can verify.
    assert garbage == signed_fep_document()["proof"].get(field)


@hypothesis_settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(PROOF_FIELDS), JSON_VALUES, max_size=9))
def test_any_garbage_proof_object_raises_only_signature_error(proof):
    document = {**fep_document(), "proof": proof}
    with pytest.raises(SignatureError):
        verify_proof(document, W3C_PUBLIC, now=NOW)
