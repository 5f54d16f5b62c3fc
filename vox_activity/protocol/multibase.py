"""Multibase base58btc: the ``z…`` strings of Multikey keys and integrity proofs.

Multibase (draft-multiformats-multibase, and section 2.4 of W3C Controlled
Identifiers) prefixes an encoded value with one character naming its base.
The Fediverse uses exactly one base: FEP-521a says a ``publicKeyMultibase``
MUST use base58btc, and the ``eddsa-jcs-2022`` cryptosuite encodes
``proofValue`` in base58btc too.  So this module encodes and decodes that one
base, with the prefix ``z``, and refuses every other prefix rather than
decoding bases nobody should send.

The base58 arithmetic comes from the ``base58`` package (the Bitcoin alphabet,
which is base58btc): pure Python, no dependencies, typed, and widely
installed.  It has had no release since 2021, which is fine
for a finished algorithm; the alternatives were a compiled extension
(``based58``) or whole multiformats stacks (``multiformats``,
``py-multibase``) that bring several dependencies for the one base we use.
What it does not do, we do here: it strips trailing whitespace and accepts
bytes, so this module refuses anything that is not a plain ASCII string of
alphabet characters before handing it over.
"""

from __future__ import annotations

import re

import base58

from vox_activity.exceptions import SignatureError

__all__ = ["BASE58BTC_PREFIX", "decode_base58btc", "encode_base58btc"]

#: The multibase prefix of base58btc.
BASE58BTC_PREFIX = "z"

_BASE58BTC = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")


def encode_base58btc(data: bytes) -> str:
    """``data`` as a multibase base58btc string (``z`` and the base58 digits)."""
    return BASE58BTC_PREFIX + base58.b58encode(data).decode("ascii")


def decode_base58btc(value: object, *, what: str = "value") -> bytes:
    """The bytes of a multibase base58btc string; SignatureError if it is not one.

    ``what`` names the value in the error (``"publicKeyMultibase"``,
    ``"proofValue"``), so the reason says which field was wrong.  Refused: a
    non-string, an empty string, a prefix other than ``z`` (another base, or
    no multibase prefix at all), and any character outside the base58btc
    alphabet, including whitespace and the look-alikes ``0``, ``O``, ``I``
    and ``l`` that base58 leaves out on purpose.
    """
    if not isinstance(value, str):
        raise SignatureError(f"{what} must be a string, not {type(value).__name__}.")
    if not value.startswith(BASE58BTC_PREFIX):
        shown = repr(value[:1]) if value else "nothing"
        raise SignatureError(
            f"{what} must be multibase base58btc (starting with 'z'); "
            f"it starts with {shown}."
        )
    digits = value[1:]
    if not _BASE58BTC.fullmatch(digits):
        raise SignatureError(f"{what} is not valid base58btc.")
    return base58.b58decode(digits)
