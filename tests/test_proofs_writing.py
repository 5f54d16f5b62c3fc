"""Object Integrity Proofs we write, and the @context rules of the Recommendation.

What a proof we make holds (whole UTC seconds, the document unchanged, a
Linked Data Signature kept but not signed), what JCS cannot express, and how
the document's and the proof's @context must agree.

No database: only settings (SIGNATURE_MAX_SKEW) are read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.proofs import (
    DATA_INTEGRITY_CONTEXT,
    create_proof,
    verify_proof,
    with_data_integrity_context,
)

from .support.proofs import (
    ALICE_KEY,
    AS,
    CREATED,
    NOW,
    W3C_KEY,
    W3C_PUBLIC,
    fep_document,
    signed_fep_document,
    without_proof,
)

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
