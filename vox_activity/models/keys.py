"""Signing keys of local actors and of the site's instance actor."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: ``owner_id`` of the key of the site-wide instance actor (no owner model).
INSTANCE_OWNER_ID = "__instance__"


class ActorKeyQuerySet(models.QuerySet):
    def for_owner(self, owner: models.Model | None) -> ActorKeyQuerySet:
        """The key of ``owner``; ``None`` means the instance actor."""
        if owner is None:
            return self.filter(owner_type__isnull=True, owner_id=INSTANCE_OWNER_ID)
        return self.filter(
            owner_type=ContentType.objects.get_for_model(owner),
            owner_id=str(owner.pk),
        )


class ActorKey(models.Model):
    """An RSA key pair; the private half never leaves the server.

    It is not shown in the admin, not serialised into any response and not
    included in ``repr``/``str``.  ``manage.py vox_activity_rotate_key``
    replaces a pair.
    """

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

    objects = ActorKeyQuerySet.as_manager()

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
