"""What vox_activity itself concludes from an actor document.

The checks are :func:`vox_activity.protocol.actor_documents.actor_problems`'s,
never repeated here: each problem it lists names its field and a finding
code, and the verdict on the whole document is ``validate_actor``'s own.
"""

from __future__ import annotations

from vox_activity.exceptions import RemoteActorError
from vox_activity.protocol.actor_documents import (
    ActorFields,
    ActorProblem,
    actor_problems,
    validate_actor,
)

__all__ = ["Problem", "problems", "verdict"]

#: One reason ``validate_actor`` refuses a document (field, code, reason).
Problem = ActorProblem


def verdict(data: dict, fetched_from: str) -> tuple[ActorFields | None, str]:
    """``validate_actor``'s fields, or None and its reason."""
    try:
        return validate_actor(data, fetched_from), ""
    except RemoteActorError as exc:
        return None, str(exc)


def problems(data: dict, fetched_from: str) -> list[Problem]:
    """Every field of ``data`` that ``validate_actor`` refuses, and why."""
    return actor_problems(data, fetched_from)
