"""Signing keys of local actors and of the site's instance actor.

A key pair is made the first time an actor needs one
(:meth:`ActorKeyManager.for_actor`) and replaced on demand
(:meth:`ActorKeyManager.rotate`, ``manage.py vox_activity_rotate_key``).
The private half never leaves the server: it is not in any response, admin
page, log line, ``str`` or ``repr``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.conf import get_setting
from vox_activity.protocol.cavage import generate_private_key_pem, public_key_pem

#: ``owner_id`` of the key of the site-wide instance actor (no owner model).
INSTANCE_OWNER_ID = "__instance__"


def owner_fields(owner: models.Model | None) -> dict[str, Any]:
    """The (owner_type, owner_id) of a key; ``None`` is the instance actor."""
    if owner is None:
        return {"owner_type": None, "owner_id": INSTANCE_OWNER_ID}
    return {
        "owner_type": ContentType.objects.get_for_model(owner),
        "owner_id": str(owner.pk),
    }


class ActorKeyQuerySet(models.QuerySet["ActorKey"]):
    def for_owner(self, owner: models.Model | None) -> ActorKeyQuerySet:
        """The key of ``owner``; ``None`` means the instance actor."""
        return self.filter(**owner_fields(owner))


class ActorKeyManager(models.Manager["ActorKey"]):
    def get_queryset(self) -> ActorKeyQuerySet:
        return ActorKeyQuerySet(self.model, using=self._db)

    def for_owner(self, owner: models.Model | None) -> ActorKeyQuerySet:
        return self.get_queryset().for_owner(owner)

    def for_actor(self, owner: models.Model | None) -> ActorKey:
        """The key pair of ``owner`` (None: the instance actor), made if missing."""
        existing = self.for_owner(owner).first()
        if existing is not None:
            return existing
        private = generate_private_key_pem(get_setting("KEY_SIZE"))
        try:
            with transaction.atomic():
                return self.create(
                    **owner_fields(owner),
                    public_key_pem=public_key_pem(private),
                    private_key_pem=private,
                )
        except IntegrityError:  # another process made it first: use theirs
            return self.for_owner(owner).get()

    def rotate(self, owner: models.Model | None) -> ActorKey:
        """Replace the key pair of ``owner``; remote servers refetch on failure."""
        private = generate_private_key_pem(get_setting("KEY_SIZE"))
        key, _ = self.update_or_create(
            **owner_fields(owner),
            defaults={
                "public_key_pem": public_key_pem(private),
                "private_key_pem": private,
                "created": timezone.now(),
            },
        )
        return key


class ActorKey(models.Model):
    """An RSA key pair; the private half never leaves the server."""

    owner_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("owner type"),
        help_text=_("Empty for the site's instance actor."),
    )
    owner_id = models.CharField(_("owner id"), max_length=255)
    public_key_pem = models.TextField(_("public key (PEM)"))
    private_key_pem = models.TextField(_("private key (PEM)"), editable=False)
    created = models.DateTimeField(_("created"), default=timezone.now)

    objects = ActorKeyManager()

    class Meta:
        verbose_name = _("actor key")
        verbose_name_plural = _("actor keys")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_type", "owner_id"], name="vox_key_unique_owner"
            ),
            models.UniqueConstraint(
                fields=["owner_id"],
                condition=Q(owner_type__isnull=True),
                name="vox_key_unique_instance",
            ),
        ]

    def __str__(self) -> str:
        owner = "instance actor" if self.owner_type_id is None else self.owner_id
        return f"Key of {owner} ({self.created:%Y-%m-%d})"

    def __repr__(self) -> str:
        return f"<ActorKey {self.pk} owner={self.owner_type_id}:{self.owner_id}>"
