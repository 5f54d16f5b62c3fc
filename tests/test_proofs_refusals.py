"""Object Integrity Proofs we refuse: tampering, time, the choice of proof, garbage.

Any changed, added or removed value of the document or of the proof options
is refused; so are other keys, flipped bits, malformed or unsupported proofs,
expired ones and ones from the future; and any garbage raises only a
SignatureError.

No database: only settings (SIGNATURE_MAX_SKEW) are read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.multibase import decode_base58btc, encode_base58btc
from vox_activity.protocol.proofs import proof_of, verify_proof

from .settings import SUITE_VOX_ACTIVITY
from .support.proofs import (
    ALICE_KEY,
    CREATED,
    FEP,
    JSON_VALUES,
    NOW,
    OTHER_KEY,
    W3C_PUBLIC,
    apsig_options,
    fep_document,
    sign_with_options,
    signed_fep_document,
    without_proof,
)

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
