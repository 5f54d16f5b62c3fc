"""Remote actors for inbox tests: cached rows, their keys, and signed POSTs.

A :class:`Remote` is a remote actor we have already fetched: a
:class:`~vox_activity.models.RemoteActor` row with a fresh ``fetched_at`` and
a real document, whose private key the test holds, so the inbox can verify
its requests without any network (:func:`make_remote`; the ``carol``,
``dave`` and ``erin`` fixtures are three of them).  :func:`uncached_remote`
is one never fetched, whose document a test serves with ``remote_web``;
:func:`served_actor` is one served by a ``tests/fediverse.py`` server.  RSA
keys are slow to make, so a few are made once per session
(:func:`private_key`) and shared.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.utils import timezone

from vox_activity.models import RemoteActor, RemoteKey
from vox_activity.protocol.cavage import (
    generate_private_key_pem,
    public_key_pem,
    sign_request,
)

from .constants import AP, AS_CONTEXT, SECURITY_CONTEXT, SITE

if TYPE_CHECKING:
    from ..fediverse import RemoteServer

__all__ = [
    "Remote",
    "a_while_ago",
    "actor_document",
    "body_of",
    "make_remote",
    "post_signed",
    "private_key",
    "public_key",
    "served_actor",
    "signed_extras",
    "uncached_remote",
]

_serial = itertools.count(1)


@functools.cache
def private_key(index: int) -> str:
    """The ``index``-th test key (2048-bit RSA, made once per session)."""
    return generate_private_key_pem()


@functools.cache
def public_key(index: int) -> str:
    return public_key_pem(private_key(index))


def actor_document(
    iri: str,
    public_pem: str,
    *,
    key_id: str | None = None,
    shared_inbox: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A Mastodon-like actor document."""
    name = iri.rstrip("/").rsplit("/", 1)[-1]
    document: dict[str, Any] = {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": iri,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{iri}/inbox",
        "outbox": f"{iri}/outbox",
        "followers": f"{iri}/followers",
        "following": f"{iri}/following",
        "publicKey": {
            "id": key_id or f"{iri}#main-key",
            "owner": iri,
            "publicKeyPem": public_pem,
        },
    }
    if shared_inbox:
        document["endpoints"] = {"sharedInbox": shared_inbox}
    document.update(extra)
    return document


@dataclass
class Remote:
    """A remote actor that is cached here, and the private key it signs with."""

    iri: str
    key_id: str
    private_key_pem: str = field(repr=False)
    row: RemoteActor | None = field(repr=False)
    document: dict[str, Any] = field(repr=False)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.iri)
        return f"{parts.scheme}://{parts.netloc}"

    def new_iri(self, kind: str = "activities") -> str:
        """A fresh IRI on this actor's server."""
        return f"{self.origin}/{kind}/{next(_serial)}"

    def activity(self, activity_type: str, obj: Any = None, **extra: Any) -> dict:
        """An activity by this actor with a fresh id on its server."""
        data: dict[str, Any] = {
            "@context": AS_CONTEXT,
            "id": self.new_iri(),
            "type": activity_type,
            "actor": self.iri,
        }
        if obj is not None:
            data["object"] = obj
        data.update(extra)
        return data

    def note(self, **extra: Any) -> dict:
        data = {
            "id": self.new_iri("notes"),
            "type": "Note",
            "attributedTo": self.iri,
            "content": "<p>Hello</p>",
        }
        data.update(extra)
        return data

    def refresh(self) -> Remote:
        if self.row is not None:
            self.row.refresh_from_db()
        return self


def make_remote(
    name: str,
    domain: str = "remote.example",
    *,
    key: int = 0,
    shared_inbox: bool = True,
    fetched_at: datetime | None = None,
    **extra: Any,
) -> Remote:
    """Cache ``https://<domain>/users/<name>``, who signs with test key ``key``."""
    iri = f"https://{domain}/users/{name}"
    key_id = f"{iri}#main-key"
    shared = f"https://{domain}/inbox" if shared_inbox else None
    document = actor_document(iri, public_key(key), shared_inbox=shared, **extra)
    row = RemoteActor.objects.create(
        iri=iri,
        domain=domain,
        inbox=document["inbox"],
        shared_inbox=shared or "",
        preferred_username=name,
        data=document,
        fetched_at=fetched_at or timezone.now(),
    )
    RemoteKey.objects.create(key_id=key_id, actor=row, public_key_pem=public_key(key))
    return Remote(iri, key_id, private_key(key), row, document)


def uncached_remote(
    name: str, domain: str = "remote.example", *, key: int = 0, **extra: Any
) -> Remote:
    """A remote actor we have never fetched (no row); its document is ready
    for a patched fetch."""
    iri = f"https://{domain}/users/{name}"
    shared = f"https://{domain}/inbox"
    document = actor_document(iri, public_key(key), shared_inbox=shared, **extra)
    return Remote(iri, f"{iri}#main-key", private_key(key), None, document)


def served_actor(server: RemoteServer, name: str, key: int, **changes: Any) -> Remote:
    """Serve ``name`` on ``server`` with test key ``key``; the test can sign as it.

    ``changes`` replace fields of the document (``publicKey`` included).
    """
    iri = server.iri(name)
    key_id = f"{iri}#main-key"
    document = {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": iri,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{iri}/inbox",
        "outbox": f"{iri}/outbox",
        "followers": f"{iri}/followers",
        "endpoints": {"sharedInbox": server.shared_inbox},
        "publicKey": {"id": key_id, "owner": iri, "publicKeyPem": public_key(key)},
        **changes,
    }
    server.actors[name] = document
    return Remote(iri, key_id, private_key(key), None, document)


def a_while_ago(minutes: int = 10) -> datetime:
    """Fetched long enough ago that a refetch is allowed, but not stale."""
    return timezone.now() - timedelta(minutes=minutes)


def body_of(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    return json.dumps(data).encode("utf-8")


def signed_extras(
    remote: Remote,
    path: str,
    body: bytes,
    *,
    content_type: str = AP,
    key_id: str | None = None,
    private_key_pem: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """``HTTP_*`` extras for the test client: a POST of ``body`` to ``path``
    signed as ``remote`` (Host, Date, Digest, Signature)."""
    headers = sign_request(
        "POST",
        SITE + path,
        {"Content-Type": content_type},
        body,
        key_id=key_id or remote.key_id,
        private_key_pem=private_key_pem or remote.private_key_pem,
        now=now,
    )
    return {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in headers.items()
        if name.lower() != "content-type"
    }


def post_signed(
    client,
    path: str,
    data: Any,
    remote: Remote,
    *,
    content_type: str = AP,
    send_body: bytes | None = None,
    **options: Any,
):
    """POST ``data`` to ``path`` signed by ``remote``.

    ``send_body`` sends other bytes than those signed (a tampered body);
    other ``options`` go to :func:`signed_extras`, or override its headers
    when they are WSGI names (``HTTP_DIGEST``, ``CONTENT_LENGTH``).
    """
    body = body_of(data)
    overrides = {k: v for k, v in options.items() if k.isupper()}
    sign_options = {k: v for k, v in options.items() if not k.isupper()}
    extras = signed_extras(
        remote, path, body, content_type=content_type, **sign_options
    )
    extras.update(overrides)
    sent = body if send_body is None else send_body
    return client.generic("POST", path, sent, content_type=content_type, **extras)
