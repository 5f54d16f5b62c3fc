"""Attaching an Object Integrity Proof (FEP-8b32) to what we publish.

An activity we publish is signed once, when it is stored, with its actor's
Ed25519 key (``eddsa-jcs-2022``), so every copy of it carries the author's
proof wherever it travels: a relay or a server that forwards it to its
followers delivers it signed by another server, and Fedify-based servers
then accept it on the proof (:mod:`vox_activity.protocol.proofs`).  Because
the stored JSON is signed, retries send the very same bytes.

The proof covers what others receive: the activity without blind recipients
(``bto``/``bcc`` are never served or sent, ActivityPub section 6.6), so the
stored document keeps them beside a proof that does not cover them.
Turned off with ``VOX_ACTIVITY["OBJECT_PROOFS"] = False``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vox_activity.conf import get_setting
from vox_activity.models import ActorKey
from vox_activity.outgoing.documents import proof_key_id
from vox_activity.protocol.proofs import create_proof, with_data_integrity_context
from vox_activity.protocol.vocabulary import BLIND_FIELDS, iri_of, public_view
from vox_activity.registry import actor_for_iri, instance_actor_iri

__all__ = ["attach_proof"]


def attach_proof(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with a proof by its local actor (as it is; if none or off)."""
    if not get_setting("OBJECT_PROOFS"):
        return document
    actor_iri = iri_of(document.get("actor"))
    if actor_iri == instance_actor_iri():
        owner = None
    else:
        owner = actor_for_iri(actor_iri) if actor_iri else None
        if owner is None:
            return document  # not ours to sign
    pair = ActorKey.objects.for_actor(owner)
    signed = create_proof(
        with_data_integrity_context(public_view(document)),
        _private_key(pair.ed25519_private_key_pem),
        proof_key_id(actor_iri),
    )
    blind = {k: v for k, v in document.items() if k in BLIND_FIELDS}
    return {**signed, **blind}


@lru_cache(maxsize=256)
def _private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key
