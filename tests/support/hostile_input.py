"""Hostile input shared by the trust-input tests: IRIs that broke something.

Each of :data:`HOSTILE_IRIS` once made some parser or database raise (a
500); the tests post them in every field, by name and generated.
"""

from __future__ import annotations

import json

__all__ = [
    "ALICE",
    "ARTICLE",
    "HOSTILE_IRIS",
    "INBOXES",
    "NUL_REFUSED",
    "SHARED",
    "SITE",
    "error_of",
    "signature_with_key_id",
]

SITE = "https://testserver"
ALICE = f"{SITE}/~alice/"
ARTICLE = f"{SITE}/articles/hello/"
SHARED = "/activitypub/inbox"
INBOXES = ["/~alice/inbox", SHARED]

#: IRIs that have each broken something, somewhere (and their kind).
HOSTILE_IRIS = {
    "broken-ipv6": "http://[broken/note",
    "nul": "https://remote.example/notes/\x00",
    "control": "https://remote.example/notes/\x07\x1b[2J",
    "newline": "https://remote.example/notes/1\r\nX-Injected: yes",
    "space": "https://remote.example/notes/a b",
    "bidi": "https://remote.example/notes/\u202egnp.exe",
    "too-long": "https://remote.example/notes/" + "a" * 2100,
    "user-info": "https://mastodon.social@remote.example/notes/1",
    "password": "https://carol:secret@remote.example/notes/1",
    "port-too-big": "https://remote.example:99999/notes/1",
    "port-zero": "https://remote.example:0/notes/1",
    "port-superscript": "https://remote.example:²/notes/1",
    "port-negative": "https://remote.example:-1/notes/1",
    "port-word": "https://remote.example:https/notes/1",
    "no-host": "https:///notes/1",
    "bad-label": "https://-bad-.example/notes/1",
    "javascript": "javascript:alert(1)",
    "relative": "/notes/1",
    "scheme-relative": "//remote.example/notes/1",
    "forbidden-chars": 'https://remote.example/<script>"',
    "not-a-string": 42,
}


#: The body reader refuses NUL anywhere, before any field is read.
NUL_REFUSED = "NUL characters"


def error_of(response) -> str:
    return json.loads(response.content)["error"]


def signature_with_key_id(key_id) -> str:
    """A Signature header naming ``key_id`` (its signature cannot verify)."""
    return (
        f'keyId="{key_id}",algorithm="rsa-sha256",'
        'headers="(request-target) host date digest",signature="AAAA"'
    )
