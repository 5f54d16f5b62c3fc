"""Shared by the diagnostics tests (and the vox_activity_check command's).

Reading findings (:func:`codes`, :func:`one`, :func:`not_ok`), actors with a
real 2048-bit key on the fake servers of ``tests/fediverse.py`` (:func:`add`),
and the settings those servers need (:func:`reach_fake_servers`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vox_activity.diagnostics import Level

from ..settings import SUITE_VOX_ACTIVITY

__all__ = [
    "DATA",
    "INSTANCE",
    "PEM",
    "REAL_KEYS",
    "add",
    "codes",
    "not_ok",
    "one",
    "reach_fake_servers",
]

#: The diagnostics judge key sizes (below 2048 bits is a warning): real ones.
REAL_KEYS = {**SUITE_VOX_ACTIVITY, "KEY_SIZE": 2048}


DATA = Path(__file__).parent.parent / "data"
PEM = (DATA / "test_only_rsa_public.pem").read_text()
INSTANCE = "http://testserver/activitypub/actor"


def codes(findings):
    """The codes, in order."""
    return [finding.code for finding in findings]


def one(findings, code):
    """The finding with ``code`` (exactly one)."""
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, f"{code} in {codes(findings)}"
    return matching[0]


def not_ok(findings):
    return [finding.code for finding in findings if finding.level is not Level.OK]


def add(server, name="alice", **changes):
    """An actor whose key is a 2048-bit RSA key (the fake servers' are smaller)."""
    iri = server.iri(name)
    key = {"id": f"{iri}#main-key", "owner": iri, "publicKeyPem": PEM}
    return server.add_actor(name, **{"publicKey": key, **changes})


def reach_fake_servers(settings: Any) -> None:
    """Settings to diagnose actors on ``tests/fediverse.py`` servers.

    Real key sizes, loopback addresses allowed, short timeouts (a fake
    server that does not answer is a test that waits), and an http origin
    for WebFinger, as the fake servers have.
    """
    settings.VOX_ACTIVITY = {
        **REAL_KEYS,
        "ALLOW_PRIVATE_ADDRESSES": True,
        "HTTP_CONNECT_TIMEOUT": 0.5,
        "HTTP_READ_TIMEOUT": 0.5,
        "HTTP_TOTAL_TIMEOUT": 2.0,
    }
    settings.SITE_SSL = False
