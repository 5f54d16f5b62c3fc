"""Signing keys of local actors and of the site's instance actor.

Each actor has two pairs: RSA for HTTP signatures (what every server
verifies) and Ed25519 for Object Integrity Proofs (FEP-8b32), published as a
``Multikey`` in ``assertionMethod`` (FEP-521a).

A key pair is made the first time an actor needs one
(:meth:`ActorKeyManager.for_actor`) and replaced on demand
(:meth:`ActorKeyManager.rotate`, ``manage.py vox_activity_rotate_key``).
The private half never leaves the server: it is not in any response, admin
page, log line, ``str`` or ``repr``.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vox_activity.conf import get_setting
from vox_activity.models.fields import IriField
from vox_activity.protocol.cavage import generate_private_key_pem, public_key_pem

__all__ = [
    "INSTANCE_OWNER_ID",
    "ActorKey",
    "ActorKeyManager",
    "ActorKeyQuerySet",
    "generate_ed25519_pair",
    "owner_fields",
]

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


class ActorKeyManager(models.Manager.from_queryset(ActorKeyQuerySet)):  # type: ignore[misc]
    """The queryset's methods (a base class made by a call: the ``ignore``)."""

    def for_actor(self, owner: models.Model | None) -> ActorKey:
        """The key pairs of ``owner`` (None: the instance actor), made if missing.

        Rows made before Ed25519 keys existed get theirs on first use.
        """
        existing = self.for_owner(owner).first()
        if existing is not None:
            if not existing.ed25519_private_key_pem:
                existing.add_ed25519_pair()
            return existing
        try:
            with transaction.atomic():
                return self.create(**owner_fields(owner), **_new_pairs())
        except IntegrityError:  # another process made it first: use theirs
            return self.for_owner(owner).get()

    def rotate(self, owner: models.Model | None) -> ActorKey:
        """Replace both key pairs of ``owner``; remote servers refetch on failure."""
        key, _ = self.update_or_create(
            **owner_fields(owner),
            defaults={**_new_pairs(), "created": timezone.now()},
        )
        return key


def _new_pairs() -> dict[str, str]:
    """Fresh RSA (HTTP signatures) and Ed25519 (integrity proofs) key pairs."""
    private = generate_private_key_pem(get_setting("KEY_SIZE"))
    ed_private, ed_public = generate_ed25519_pair()
    return {
        "public_key_pem": public_key_pem(private),
        "private_key_pem": private,
        "ed25519_public_key_pem": ed_public,
        "ed25519_private_key_pem": ed_private,
    }


def generate_ed25519_pair() -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM) of a new Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode("ascii")
    )
    return private, public


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
    ed25519_public_key_pem = models.TextField(
        _("Ed25519 public key (PEM)"),
        blank=True,
        help_text=_("Signs object integrity proofs (FEP-8b32)."),
    )
    ed25519_private_key_pem = models.TextField(
        _("Ed25519 private key (PEM)"), blank=True, editable=False
    )
    created = models.DateTimeField(_("created"), default=timezone.now)
    actor_iri = IriField(
        _("actor IRI"),
        blank=True,
        db_index=True,
        help_text=_(
            "Set when the actor is deleted: its Delete is still signed with this key."
        ),
    )

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

    def add_ed25519_pair(self) -> None:
        """Give a key row made before Ed25519 keys existed its proof key."""
        private, public = generate_ed25519_pair()
        type(self).objects.filter(pk=self.pk, ed25519_private_key_pem="").update(
            ed25519_public_key_pem=public, ed25519_private_key_pem=private
        )
        self.refresh_from_db(
            fields=["ed25519_public_key_pem", "ed25519_private_key_pem"]
        )
