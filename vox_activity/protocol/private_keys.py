"""Our own private keys, parsed once per process and without re-validation.

Every private key we sign with was made here (RSA by
``protocol.cavage.generate_private_key_pem``, Ed25519 by
``models.keys.generate_ed25519_pair``) and read back from our own database.
Loading an RSA key normally re-checks its mathematics: 36 ms on a quiet
machine, 0.16 s in a busy worker, against 0.06 ms without the check and
under 1 ms to sign.  A forking task worker (RQ's default) paid that on every
job.  The check protects against malformed keys from untrusted sources,
which these are not, so it is skipped (``unsafe_skip_rsa_key_validation``,
cryptography >= 39); a damaged row would show as signatures the receiving
servers refuse, which the deliveries record.

Public keys from other servers are never loaded here: they are checked in
full where they are verified.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

__all__ = ["PrivateKey", "load_private_key"]

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@lru_cache(maxsize=256)
def load_private_key(pem: str) -> PrivateKey:
    """Our private key in ``pem`` (RSA or Ed25519), parsed once per process."""
    key = serialization.load_pem_private_key(
        pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(
            f"Signing needs an RSA or Ed25519 key, not {type(key).__name__}"
        )
    return key
