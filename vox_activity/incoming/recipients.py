"""Which local actors an incoming activity is for, resolved in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Model

from vox_activity.models import Activity, StoredObject
from vox_activity.registry import local_actor_keys
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


def resolve_owners(
    candidates: Iterable[str], hidden: Iterable[str] = ()
) -> dict[type[Model], list[Any]]:
    """The local actors among ``candidates``, minus ``hidden`` IRIs, as keys.

    ``{model: [primary key, ...]}``, from
    :func:`~vox_activity.registry.local_actor_keys`, for
    ``InboxItem.objects.fill_by_model()``: a public post from an actor with
    100,000 local followers costs no Python object per follower.  A key may
    repeat (two IRIs of one actor); the fill keeps each once.
    """
    hidden_set = set(hidden)
    keys, _ = local_actor_keys(iri for iri in candidates if iri not in hidden_set)
    return keys
