"""Reading a remote actor document: the one validation, and which keys it proves.

Everything vox_activity learns about a remote actor comes from its document,
fetched from the actor's own id or sent by the actor in a signed ``Update``.
:func:`validate_actor` is the only place that decides what of it is usable;
the fetching code, the inbox and the diagnostics all call it.

Keys are where trust is decided, so the rules are strict (the "silencing"
attack: actor Q publishing victim V's key id with V's public key, so that V's
own signed requests look like Q's):

* A key is taken from an actor document only when its id without the
  fragment *is* the actor's id (Mastodon's ``<actor>#main-key``, Fedify's
  ``#main-key``/``#key-2``): "the key id's document is the actor".
* Any other key id the document lists (GoToSocial's ``<actor>/main-key``, a
  separate key document) is only *listed*: its public key is trusted when
  fetched from the key id's own URL and that document names this actor as its
  owner (see :mod:`vox_activity.net.remote_keys`).
* A key on another origin than the actor, or whose ``owner``/``controller``
  is someone else, makes the whole document unusable: an honest server never
  publishes one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization

from vox_activity.exceptions import RemoteActorError, SignatureError
from vox_activity.protocol.iri import is_iri, origin_of, same_origin
from vox_activity.protocol.multikey import decode_public_key

__all__ = [
    "ACTOR_TYPES",
    "ActorFields",
    "ActorProblem",
    "KeyFields",
    "actor_problems",
    "key_entries",
    "validate_actor",
]

#: The actor types of ActivityStreams 2.0.
ACTOR_TYPES = frozenset({"Application", "Group", "Organization", "Person", "Service"})

KeyKind = Literal["rsa", "ed25519"]


@dataclass(frozen=True)
class KeyFields:
    """A public key an actor document proves: its id, kind and PEM."""

    key_id: str
    kind: KeyKind
    public_key_pem: str
    #: ``publicKey`` (HTTP signatures) or ``assertionMethod`` (object proofs).
    purpose: str = "publicKey"


@dataclass(frozen=True)
class ActorFields:
    """What :func:`validate_actor` found usable in an actor document."""

    iri: str
    inbox: str
    shared_inbox: str
    preferred_username: str
    #: Keys taken from the document itself (their id's document is the actor).
    keys: tuple[KeyFields, ...]
    #: Every key id the document lists, including those on separate documents.
    listed_key_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ActorProblem:
    """One reason an actor document is not usable: the field, a code, why."""

    field: str
    code: str
    reason: str


class _Refusal(Exception):
    def __init__(self, problem: ActorProblem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


def _refuse(field: str, code: str, reason: str) -> _Refusal:
    return _Refusal(ActorProblem(field, code, reason))


def key_entries(data: dict[str, Any], name: str) -> Iterator[dict[str, Any] | str]:
    """The entries of ``publicKey`` or ``assertionMethod``: dicts or IRIs."""
    value = data.get(name)
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, (dict, str)) and item:
            yield item


def actor_problems(data: dict[str, Any], fetched_from: str) -> list[ActorProblem]:
    """Every rule ``data`` breaks as an actor fetched from ``fetched_from``.

    Empty when the document is usable.  The diagnostics report each; the
    fetching code only needs the first (:func:`validate_actor`).
    """
    found = []
    for check in (_check_id, _check_type, _check_inbox, _check_keys):
        try:
            check(data, fetched_from)
        except _Refusal as refusal:
            found.append(refusal.problem)
    return found


def validate_actor(data: dict[str, Any], fetched_from: str) -> ActorFields:
    """Check the fields we rely on; return them, or raise with the reason.

    ``fetched_from`` is the URL the document was finally served from (after
    redirects), or the signer's id for a profile sent in a signed Update.
    The document's ``id`` must be exactly that: otherwise any server could
    publish a key and an inbox in someone else's name.  Raises
    :class:`~vox_activity.exceptions.RemoteActorError` whose ``code`` names
    the first rule broken (:func:`actor_problems` lists them all).
    """
    problems = actor_problems(data, fetched_from)
    if problems:
        first = problems[0]
        raise RemoteActorError(first.reason, url=fetched_from, code=first.code)
    iri = data["id"]
    endpoints = data.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    keys, listed = _keys(data, iri)
    return ActorFields(
        iri=iri,
        inbox=data["inbox"],
        shared_inbox=shared if isinstance(shared, str) and is_iri(shared) else "",
        preferred_username=str(data.get("preferredUsername") or "")[:255],
        keys=tuple(keys),
        listed_key_ids=frozenset(listed),
    )


def _check_id(data: dict[str, Any], fetched_from: str) -> None:
    iri = data.get("id")
    if iri != fetched_from or not is_iri(iri):
        raise _refuse(
            "id",
            "actor.id.mismatch",
            f"The document fetched from {fetched_from} has the id {iri!r}; an "
            "actor must be served from its own id.",
        )


def _check_type(data: dict[str, Any], fetched_from: str) -> None:
    if data.get("type") not in ACTOR_TYPES:
        raise _refuse(
            "type",
            "actor.type.invalid",
            f"{data.get('id')} is a {data.get('type')!r}, not an actor.",
        )


def _check_inbox(data: dict[str, Any], fetched_from: str) -> None:
    if not is_iri(data.get("inbox")):
        raise _refuse(
            "inbox", "actor.inbox.missing", f"{data.get('id')} has no usable inbox."
        )


def _check_keys(data: dict[str, Any], fetched_from: str) -> None:
    claimed = data.get("id")
    iri = claimed if isinstance(claimed, str) and is_iri(claimed) else fetched_from
    keys, listed = _keys(data, iri)
    if not any(k.purpose == "publicKey" for k in keys) and not listed:
        raise _refuse(
            "publicKey",
            "actor.key.invalid",
            f"{iri} has no publicKey with an id and a PEM.",
        )


def _keys(data: dict[str, Any], iri: str) -> tuple[list[KeyFields], set[str]]:
    """(keys proven by the document, every key id it lists); refuses foreign keys."""
    keys: list[KeyFields] = []
    listed: set[str] = set()
    for entry in key_entries(data, "publicKey"):
        key_id = entry if isinstance(entry, str) else entry.get("id")
        _check_key_id(key_id, iri)
        assert isinstance(key_id, str)
        if isinstance(entry, dict):
            _check_owner(entry, iri, key_id)
        if key_id.partition("#")[0] != iri:
            listed.add(key_id)  # a key document of its own, proven when fetched
            continue
        pem = entry.get("publicKeyPem") if isinstance(entry, dict) else None
        if isinstance(pem, str) and pem:
            listed.add(key_id)
            keys.append(KeyFields(key_id, "rsa", pem))
    for entry in key_entries(data, "assertionMethod"):
        key = _multikey(entry, iri)
        if key is not None:
            listed.add(key.key_id)
            keys.append(key)
    return keys, listed


def _check_key_id(key_id: Any, iri: str) -> None:
    if not is_iri(key_id):
        raise _refuse(
            "publicKey", "actor.key.invalid", f"{iri} lists a key without a usable id."
        )
    if not same_origin(key_id, iri):
        raise _refuse(
            "publicKey",
            "actor.key.invalid",
            f"{iri} lists the key {key_id}, which is on another server "
            f"({origin_of(key_id)}); a key must be on its actor's server.",
        )


def _check_owner(entry: dict[str, Any], iri: str, key_id: str) -> None:
    owner = entry.get("owner", entry.get("controller", iri))
    if owner != iri:
        raise _refuse(
            "publicKey",
            "actor.key.invalid",
            f"The key {key_id} of {iri} says it belongs to {owner!r}.",
        )


def _multikey(entry: dict[str, Any] | str, iri: str) -> KeyFields | None:
    """An Ed25519 ``Multikey`` of ``assertionMethod`` (FEP-521a), if usable.

    Entries that are IRIs, other key types or malformed keys are skipped: an
    actor without a usable proof key is still an actor (it just cannot prove
    objects); a key claiming another controller or server refuses the actor.
    """
    if not isinstance(entry, dict) or entry.get("type") != "Multikey":
        return None
    key_id = entry.get("id")
    _check_key_id(key_id, iri)
    assert isinstance(key_id, str)  # (_check_key_id refuses anything else)
    _check_owner(entry, iri, key_id)
    if key_id.partition("#")[0] != iri:
        return None
    try:
        public = decode_public_key(entry.get("publicKeyMultibase"))
    except SignatureError:
        return None
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return KeyFields(key_id, "ed25519", pem, purpose="assertionMethod")
