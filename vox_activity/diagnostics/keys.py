"""An actor's ``publicKey``: what servers need to verify its signatures.

Whether vox_activity accepts the key at all (an id, a PEM, the actor as
owner) is
:func:`vox_activity.protocol.actor_documents.validate_actor`'s to say; the
problem it finds comes in from :mod:`.validation`.  Checked here besides: what
Mastodon and other servers rely on that ``validate_actor`` does not check.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .findings import Checks, Finding, found
from .validation import Problem

__all__ = ["MIN_RSA_BITS", "check_key"]

#: Smaller RSA keys get a warning: some servers refuse them.
MIN_RSA_BITS = 2048


def check_key(key: Any, actor: str, problem: Problem | None) -> Checks:
    """The key object, then its PEM; nothing more once the key is refused."""
    if problem is not None:
        yield found(
            "actor.key.invalid",
            problem.reason,
            "publicKey must hold the key's id, its owner (the actor's id) and "
            "publicKeyPem; without it nobody can verify this actor's "
            "signatures, and vox_activity does not deliver to it.",
        )
        return
    key = _first_key(key)
    yield _key_object(key, actor)
    yield _pem(key.get("publicKeyPem"))


def _first_key(key: Any) -> dict:
    """The key object (the first, as vox_activity reads a list of keys)."""
    if isinstance(key, list):
        key = next((item for item in key if isinstance(item, dict)), None)
    return key if isinstance(key, dict) else {}


def _key_object(key: dict, actor: str) -> Finding:
    key_id = key.get("id")
    if key.get("owner") is None:
        return found(
            "actor.key.owner-missing",
            f"{key_id} has no owner.",
            "add owner (the actor's id); some servers insist on it.",
        )
    if str(key_id).partition("#")[0] != actor:
        return found(
            "actor.key.elsewhere",
            f"{key_id} is not in the actor's own document.",
            "servers fetch the key id to verify signatures; it is simplest as "
            "the actor IRI plus a fragment (<actor>#main-key).",
        )
    return found("actor.key.ok", f"{key_id}, owned by the actor.")


def _pem(pem: Any) -> Finding:
    """Mastodon signs and verifies rsa-sha256 only."""
    try:
        public = serialization.load_pem_public_key(str(pem).encode("ascii"))
    except (ValueError, TypeError, UnicodeError) as exc:
        return found(
            "actor.pem.invalid",
            f"publicKeyPem is not a PEM public key ({exc}).",
            "it must be a SubjectPublicKeyInfo PEM, '-----BEGIN PUBLIC KEY-----'.",
        )
    if not isinstance(public, rsa.RSAPublicKey):
        return found(
            "actor.pem.not-rsa",
            f"publicKeyPem holds a {type(public).__name__}, not an RSA key.",
            "Mastodon signs and verifies rsa-sha256: the key must be RSA.",
        )
    if public.key_size < MIN_RSA_BITS:
        return found(
            "actor.pem.weak",
            f"RSA, {public.key_size} bits.",
            f"{MIN_RSA_BITS} bits or more; some servers refuse smaller keys.",
        )
    return found("actor.pem.ok", f"RSA, {public.key_size} bits.")
