"""Objects we keep track of, by IRI: local ones we published, remote ones we received.

Kept so that ``Update`` and ``Delete`` can be checked against the owner, so a
deleted object answers 410 Gone with a ``Tombstone``, and so sites can show
what arrived (a reader page) and count reactions.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.exceptions import Refused
from vox_activity.models.fields import IRI_MAX_LENGTH, IriField, clip
from vox_activity.models.text import ReceivedText
from vox_activity.protocol import html
from vox_activity.protocol.vocabulary import (
    AS_CONTEXT,
    format_datetime,
    iri_of,
    is_public,
)

__all__ = [
    "TYPE_MAX_LENGTH",
    "StoredObject",
    "StoredObjectManager",
    "StoredObjectQuerySet",
    "object_type",
]

TYPE_MAX_LENGTH = 64


def object_type(document: Any, default: str = "Object") -> str:
    """The type of an object document as one name (``["Note", "X"]`` → ``Note``)."""
    value = document.get("type") if isinstance(document, dict) else None
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v), None)
    if not isinstance(value, str) or not value:
        return default
    return clip(value, TYPE_MAX_LENGTH)


class StoredObjectQuerySet(models.QuerySet["StoredObject"]):
    def alive(self) -> StoredObjectQuerySet:
        return self.filter(deleted_at__isnull=True)

    def replies_to(self, iri: str) -> StoredObjectQuerySet:
        """Public replies to ``iri`` that are not deleted, local or remote."""
        return self.alive().filter(in_reply_to=iri, public=True)


class StoredObjectManager(models.Manager.from_queryset(StoredObjectQuerySet)):  # type: ignore[misc]
    """The queryset's methods (a base class made by a call: the ``ignore``)."""

    def store_remote(self, document: dict[str, Any], owner_iri: str) -> StoredObject:
        """Store (or replace) a remote object ``owner_iri`` sent or we fetched.

        Refuses (403) an object someone else owns here, and (410) a deleted
        one: ids are not reused.
        """
        iri = document["id"]
        existing = self.filter(iri=iri).first()
        if existing is not None:
            existing.check_owner(owner_iri)
            existing.update_from(document)
            return existing
        return self.create(
            iri=iri,
            owner_iri=owner_iri,
            data=document,
            updated=timezone.now(),
            **_columns(document),
        )

    def track_local(
        self, document: dict[str, Any], owner_iri: str, when: datetime.datetime
    ) -> StoredObject:
        """A local object we published (Create or Update) in its latest state."""
        stored, _ = self.update_or_create(
            iri=document["id"],
            defaults={
                "owner_iri": owner_iri,
                "data": document,
                "local": True,
                "updated": when,
                "deleted_at": None,
                **_columns(document),
            },
        )
        return stored

    def mark_deleted(
        self,
        iri: str,
        owner_iri: str,
        *,
        former: Any = None,
        local: bool = False,
        when: datetime.datetime | None = None,
    ) -> StoredObject:
        """Record that ``iri`` was deleted: it answers 410 with a Tombstone."""
        stored, _ = self.get_or_create(
            iri=iri,
            defaults={
                "owner_iri": owner_iri,
                "type": _former_type(former),
                "local": local,
            },
        )
        stored.deleted_at = stored.deleted_at or when or timezone.now()
        stored.data = stored.tombstone()
        stored.save(update_fields=["deleted_at", "data"])
        return stored


def _columns(document: dict[str, Any], default_type: str = "Object") -> dict[str, Any]:
    """The columns read from an object document: type, reply, audience."""
    return {
        "type": object_type(document, default_type),
        "in_reply_to": clip(iri_of(document.get("inReplyTo")), IRI_MAX_LENGTH),
        "public": is_public(document),
    }


def _former_type(former: Any) -> str:
    if isinstance(former, dict) and isinstance(former.get("formerType"), str):
        return clip(former["formerType"], TYPE_MAX_LENGTH)
    return object_type(former)


class StoredObject(ReceivedText, models.Model):
    """The latest known state of an object by IRI, local or remote."""

    iri = IriField(_("IRI"), unique=True)
    owner_iri = IriField(_("owner (actor IRI)"))
    type = models.CharField(_("type"), max_length=TYPE_MAX_LENGTH)
    data = models.JSONField(_("JSON"), default=dict)
    in_reply_to = IriField(
        _("in reply to"),
        blank=True,
        db_index=True,
        help_text=_("The object this one answers: its replies collection."),
    )
    public = models.BooleanField(
        _("public"), default=False, help_text=_("Addressed to everyone.")
    )
    local = models.BooleanField(_("local"), default=False)
    updated = models.DateTimeField(_("updated"), default=timezone.now)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    objects = StoredObjectManager()

    class Meta:
        verbose_name = _("object")
        verbose_name_plural = _("objects")

    def __str__(self) -> str:
        state = " (deleted)" if self.deleted_at else ""
        return f"{self.type} {self.iri}{state}"

    def check_owner(self, actor_iri: str) -> None:
        """Refuse changes by anyone but the owner (403), and to deleted ids (410)."""
        if self.owner_iri != actor_iri:
            raise Refused(403, f"Only the owner of {self.iri} may change it.")
        if self.deleted_at is not None:
            raise Refused(410, f"{self.iri} was deleted; ids are not reused.")

    def update_from(self, document: dict[str, Any]) -> None:
        self.data = document
        columns = _columns(document, self.type)
        for name, value in columns.items():
            setattr(self, name, value)
        self.updated = timezone.now()
        self.save(update_fields=["data", "updated", *columns])

    def text_field(self, field: str) -> str | None:
        return html.localized_value(self.data, field)

    def tombstone(self) -> dict[str, Any]:
        return {
            "@context": AS_CONTEXT,
            "id": self.iri,
            "type": "Tombstone",
            "formerType": self.type,
            "deleted": format_datetime(self.deleted_at or timezone.now()),
        }
