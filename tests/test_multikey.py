"""Multikey (FEP-521a) and multibase base58btc: published vectors, refusals, lookups.

Pure: no database, no network.
"""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multibase as reference_multibase

from vox_activity.exceptions import KeyMismatch, SignatureError
from vox_activity.protocol.multibase import decode_base58btc, encode_base58btc
from vox_activity.protocol.multikey import (
    ED25519_PUB_MULTICODEC,
    assertion_method_key,
    decode_public_key,
    encode_public_key,
    find_assertion_method,
    multikey,
)

DATA = Path(__file__).parent / "data"
FEP_521A = json.loads((DATA / "fep-521a.json").read_text())
FEP_8B32 = json.loads((DATA / "fep-8b32.json").read_text())
W3C = json.loads((DATA / "eddsa-jcs-2022-w3c.json").read_text())

ALICE = "https://server.example/users/alice"
ALICE_KEY = "https://server.example/users/alice#ed25519-key"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def fep_actor() -> dict:
    return copy.deepcopy(FEP_8B32["current"]["actor"])


# --- published vectors ---------------------------------------------------------


def test_fep_521a_ed25519_multikey():
    vector = FEP_521A["ed25519"]
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(vector["publicKeyHex"]))

    made = multikey(key, key_id=f"{vector['actorId']}#ed25519-key", controller=ALICE)

    assert made == vector["multikey"]
    decoded = decode_public_key(vector["multikey"]["publicKeyMultibase"])
    assert raw(decoded).hex() == vector["publicKeyHex"]


def test_w3c_key_pair_public_half_matches_private_half():
    """The W3C vectors' private key (multicodec ed25519-priv) gives their public key."""
    private = decode_base58btc(W3C["keyPair"]["privateKeyMultibase"])
    assert private[:2] == b"\x80\x26"  # ed25519-priv, 0x1300 as a varint
    public = Ed25519PrivateKey.from_private_bytes(private[2:]).public_key()

    assert encode_public_key(public) == W3C["keyPair"]["publicKeyMultibase"]
    assert raw(decode_public_key(W3C["keyPair"]["publicKeyMultibase"])) == raw(public)


def test_rsa_multikey_is_refused_and_named():
    with pytest.raises(SignatureError, match=r"not an Ed25519 key.*rsa-pub \(0x1205\)"):
        decode_public_key(FEP_521A["rsa"]["publicKeyMultibase"])


def test_private_key_multibase_is_not_a_public_key():
    with pytest.raises(SignatureError, match=r"ed25519-priv \(0x1300\)"):
        decode_public_key(W3C["keyPair"]["privateKeyMultibase"])


# --- refusals ------------------------------------------------------------------

GOOD = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
GOOD_BYTES = decode_base58btc(GOOD)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "must be a string, not NoneType"),
        (12, "must be a string, not int"),
        (GOOD.encode(), "must be a string, not bytes"),
        ("", "starts with nothing"),
        (GOOD[1:], "must be multibase base58btc.*starts with '6'"),
        ("f" + GOOD_BYTES.hex(), "starts with 'f'"),
        ("uKwE" + "A" * 40, "starts with 'u'"),
        ("z", "not valid base58btc"),
        (GOOD + " ", "not valid base58btc"),
        (" " + GOOD, "starts with ' '"),
        (GOOD + "\n", "not valid base58btc"),
        (GOOD[:10] + "0" + GOOD[11:], "not valid base58btc"),
        (GOOD[:10] + "O" + GOOD[11:], "not valid base58btc"),
        (GOOD[:10] + "I" + GOOD[11:], "not valid base58btc"),
        (GOOD[:10] + "l" + GOOD[11:], "not valid base58btc"),
        (GOOD[:10] + "é" + GOOD[11:], "not valid base58btc"),
        (encode_base58btc(GOOD_BYTES[:-1]), "holds 31 bytes"),
        (encode_base58btc(GOOD_BYTES + b"\x00"), "holds 33 bytes"),
        (encode_base58btc(ED25519_PUB_MULTICODEC), "holds 0 bytes"),
        (encode_base58btc(b""), "not valid base58btc"),
        (encode_base58btc(b"\x12\x20" + bytes(32)), r"multicodec is 0x12,"),
        (encode_base58btc(b"\x80\x24" + bytes(32)), r"p256-pub \(0x1200\)"),
        (encode_base58btc(b"\xff\xff\xff"), "multicodec is unreadable"),
    ],
)
def test_malformed_public_key_multibase_is_refused(value, reason):
    with pytest.raises(SignatureError, match=reason) as caught:
        decode_public_key(value)
    assert not isinstance(caught.value, KeyMismatch)
    assert caught.value.status == 401


# --- round trips -----------------------------------------------------------------


@given(st.binary(min_size=32, max_size=32))
def test_any_ed25519_key_round_trips(seed):
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    encoded = encode_public_key(public)
    assert encoded.startswith("z6Mk")
    assert len(encoded) == 48
    assert raw(decode_public_key(encoded)) == raw(public)


@given(st.binary(max_size=100))
def test_base58btc_agrees_with_multiformats(data):
    """An independent multibase implementation encodes the same string."""
    encoded = encode_base58btc(data)
    assert encoded == reference_multibase.encode(data, "base58btc")
    if data:
        assert decode_base58btc(encoded) == data


@given(st.text(max_size=60))
def test_decoding_garbage_only_raises_signature_error(text):
    with contextlib.suppress(SignatureError):
        decode_public_key(text)


# --- finding the key in an actor document ----------------------------------------


def test_fep_8b32_actor_key_is_found_and_decoded():
    actor = fep_actor()
    method = find_assertion_method(actor, ALICE_KEY, now=NOW)
    assert method == actor["assertionMethod"][0]
    key = assertion_method_key(actor, ALICE_KEY, now=NOW)
    assert encode_public_key(key) == W3C["keyPair"]["publicKeyMultibase"]


def test_assertion_method_may_be_a_single_object():
    actor = fep_actor()
    actor["assertionMethod"] = actor["assertionMethod"][0]
    assert find_assertion_method(actor, ALICE_KEY, now=NOW)["id"] == ALICE_KEY


def test_assertion_method_iri_names_a_method_described_in_verification_method():
    actor = fep_actor()
    method = actor["assertionMethod"][0]
    actor["assertionMethod"] = [ALICE_KEY]
    actor["verificationMethod"] = [{**method, "id": f"{ALICE}#other"}, method]
    assert find_assertion_method(actor, ALICE_KEY, now=NOW) == method


def test_the_right_one_of_several_keys_is_found():
    actor = fep_actor()
    other = {**actor["assertionMethod"][0], "id": f"{ALICE}#second"}
    other["publicKeyMultibase"] = FEP_521A["ed25519"]["multikey"]["publicKeyMultibase"]
    actor["assertionMethod"].insert(0, other)
    assert find_assertion_method(actor, ALICE_KEY, now=NOW)["id"] == ALICE_KEY
    assert find_assertion_method(actor, f"{ALICE}#second", now=NOW) == other


def test_type_may_be_a_list_containing_multikey():
    actor = fep_actor()
    actor["assertionMethod"][0]["type"] = ["Multikey", "VerificationMethod"]
    assert find_assertion_method(actor, ALICE_KEY, now=NOW)["id"] == ALICE_KEY


def test_key_expiring_later_is_accepted():
    actor = fep_actor()
    actor["assertionMethod"][0]["expires"] = "2025-01-01T00:00:01Z"
    assert find_assertion_method(actor, ALICE_KEY, now=NOW)["id"] == ALICE_KEY


def mutate(path: str, value):
    def apply(actor: dict) -> None:
        *parents, last = path.split(".")
        target = actor
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value

    return apply


DELETE = object()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (mutate("id", DELETE), "The actor document has no id"),
        (mutate("id", ["x"]), "The actor document has no id"),
        (mutate("assertionMethod", DELETE), "is not in the actor's assertionMethod"),
        (mutate("assertionMethod", []), "is not in the actor's assertionMethod"),
        (mutate("assertionMethod", "nonsense"), "is not in the actor's"),
        (mutate("assertionMethod.0.id", f"{ALICE}#other"), "is not in the actor's"),
        (
            mutate("assertionMethod", [ALICE_KEY]),
            "names .*#ed25519-key but the actor document does not describe it",
        ),
        (mutate("assertionMethod.0.type", "JsonWebKey"), "is not a Multikey"),
        (mutate("assertionMethod.0.type", DELETE), "is not a Multikey"),
        (mutate("assertionMethod.0.controller", DELETE), "is not controlled by"),
        (
            mutate("assertionMethod.0.controller", "https://server.example/users/bob"),
            "is not controlled by https://server.example/users/alice",
        ),
        (mutate("assertionMethod.0.expires", "2024-12-31T23:59:59Z"), "expired at"),
        (mutate("assertionMethod.0.expires", "2025-01-01T00:00:00Z"), "expired at"),
        (mutate("assertionMethod.0.revoked", "2020-01-01T00:00:00Z"), "was revoked"),
        (mutate("assertionMethod.0.expires", "soon"), "The key's expires is not"),
    ],
)
def test_unusable_assertion_method_is_refused(change, reason):
    actor = fep_actor()
    change(actor)
    with pytest.raises(SignatureError, match=reason):
        find_assertion_method(actor, ALICE_KEY, now=NOW)


def test_key_published_only_for_authentication_is_not_an_assertion_method():
    """The earlier FEP-8b32 test actor listed its key under authentication."""
    actor = fep_actor()
    actor["authentication"] = actor.pop("assertionMethod")
    with pytest.raises(SignatureError, match="is not in the actor's assertionMethod"):
        find_assertion_method(actor, ALICE_KEY, now=NOW)


def test_bad_public_key_multibase_in_actor_is_refused():
    actor = fep_actor()
    short = encode_base58btc(GOOD_BYTES[:-1])
    actor["assertionMethod"][0]["publicKeyMultibase"] = short
    with pytest.raises(SignatureError, match="holds 31 bytes"):
        assertion_method_key(actor, ALICE_KEY, now=NOW)
