"""What vox_activity itself concludes from an actor document: the one adapter.

The checks are :func:`vox_activity.remote.validate_actor`'s, never repeated
here.  It stops at the first problem and says it in an exception's text,
while a report wants every problem, each with a code.  Until it can list its
problems itself, this module gets that structure without reading the text:
it asks ``validate_actor`` about one field at a time, set into a document it
accepts, and a field it refuses there is a problem of that field, told in
``validate_actor``'s own words.  The verdict on the whole document is always
``validate_actor``'s own call, so a check it gains later is still reported
(as ``actor.rejected``) before anything here knows its field.

What should replace this: ``validate_actor`` collecting its problems, each
with a field and one of the codes of :data:`FIELD_CODES`, in a list
(``actor_problems(data, fetched_from) -> list[Problem]``) that it raises
with; :func:`problems` then returns that list and nothing else here changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from vox_activity.remote import RemoteActorError, validate_actor

__all__ = ["FIELD_CODES", "Problem", "problems", "verdict"]

#: The fields ``validate_actor`` reads, and the code of a problem with each.
FIELD_CODES = {
    "id": "actor.id.mismatch",
    "type": "actor.type.invalid",
    "inbox": "actor.inbox.missing",
    "publicKey": "actor.key.invalid",
}

_PLACEHOLDER = "https://diagnostics.invalid"


@dataclass(frozen=True)
class Problem:
    """One reason ``validate_actor`` refuses a document."""

    field: str
    code: str
    reason: str


def verdict(data: dict, fetched_from: str) -> tuple[dict[str, str] | None, str]:
    """``validate_actor``'s fields, or None and its reason."""
    try:
        return validate_actor(data, fetched_from), ""
    except RemoteActorError as exc:
        return None, str(exc)


def problems(data: dict, fetched_from: str) -> list[Problem]:
    """Every field of ``data`` that ``validate_actor`` refuses, and why.

    (``validate_actor`` should answer this itself: see the module docstring.)
    Empty when ``validate_actor`` does not accept even the document made to
    test fields in: it has changed, and only its verdict can be reported.
    """
    claimed = data.get("id")
    iri = claimed if isinstance(claimed, str) else fetched_from
    if verdict(_accepted(iri), iri)[0] is None:
        return []
    found = []
    for field, code in FIELD_CODES.items():
        probe = _accepted(iri) | {field: data.get(field)}
        fields, reason = verdict(probe, fetched_from if field == "id" else iri)
        if fields is None:
            found.append(Problem(field, code, reason))
    return found


def _accepted(iri: str) -> dict:
    """A document ``validate_actor`` accepts from ``iri``, every field fine."""
    return {
        "id": iri,
        "type": "Person",
        "inbox": f"{_PLACEHOLDER}/inbox",
        "publicKey": {"id": f"{_PLACEHOLDER}/key", "publicKeyPem": "placeholder"},
    }
