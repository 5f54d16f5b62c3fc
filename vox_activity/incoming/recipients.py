"""Which local actors an incoming activity is for, resolved in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vox_activity.models import Activity, StoredObject
from vox_activity.registry import resolve_local_actors
from vox_activity.site import local_path

__all__ = ["local_owner_of", "resolve_owners"]


def local_owner_of(object_iri: str) -> str | None:
    """The local actor who published ``object_iri`` (an object or an activity)."""
    if local_path(object_iri) is None:
        return None  # not ours: no local owner, no query
    stored = StoredObject.objects.filter(iri=object_iri, local=True).first()
    if stored is not None:
        return stored.owner_iri
    by_iri = (
        Activity.objects.filter(local=True, iri=object_iri)
        .values_list("actor_iri", flat=True)
        .first()
    )
    if by_iri:
        return by_iri
    about = (
        Activity.objects.filter(local=True, object_iri=object_iri)
        .order_by("id")
        .values_list("actor_iri", flat=True)
        .first()
    )
    return about or None


def resolve_owners(candidates: Iterable[str], hidden: Iterable[str] = ()) -> list[Any]:
    """The distinct local actors among ``candidates``, minus ``hidden`` IRIs."""
    hidden_set = set(hidden)
    wanted = [iri for iri in candidates if iri not in hidden_set]
    return list(dict.fromkeys(resolve_local_actors(wanted).values()))
