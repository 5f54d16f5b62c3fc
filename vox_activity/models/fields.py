"""Field types shared by the models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models

from vox_activity.protocol.iri import IRI_MAX_LENGTH

__all__ = ["IRI_MAX_LENGTH", "IriField", "clip"]


class IriField(models.CharField):
    """An IRI column: ``CharField(max_length=IRI_MAX_LENGTH)``.

    Every IRI that is stored passed :func:`vox_activity.protocol.iri.check_iri`
    (which refuses longer ones) or was made here; one type keeps the limit
    in one place.  It deconstructs as a plain ``CharField`` so migrations do
    not depend on this class.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", IRI_MAX_LENGTH)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs


def clip(value: Any, length: int) -> str:
    """``value`` as a string of at most ``length`` characters (for a column)."""
    return str(value or "")[:length]
