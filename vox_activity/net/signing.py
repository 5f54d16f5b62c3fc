"""Key pairs of local actors: created when first needed, rotated on demand.

The private key is read only by :func:`signing_key_for` (to sign outgoing
requests); nothing else in the package touches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction

from vox_activity.conf import get_setting
from vox_activity.models import ActorKey
from vox_activity.models.keys import INSTANCE_OWNER_ID
from vox_activity.protocol.cavage import generate_private_key_pem, public_key_pem


def key_id(actor_iri: str) -> str:
    """The ``publicKey.id`` of an actor: ``<actor IRI>#main-key`` (as Mastodon)."""
    return f"{actor_iri}#main-key"


def key_for(owner: Any | None) -> ActorKey:
    """The key pair of ``owner`` (None: the instance actor), made if missing."""
    existing = ActorKey.objects.for_owner(owner).first()
    if existing is not None:
        return existing
    private = generate_private_key_pem(get_setting("KEY_SIZE"))
    fields = _owner_fields(owner)
    try:
        with transaction.atomic():
            return ActorKey.objects.create(
                **fields,
                public_key_pem=public_key_pem(private),
                private_key_pem=private,
            )
    except IntegrityError:  # another process made it first: use theirs
        return ActorKey.objects.for_owner(owner).get()


def rotate_key(owner: Any | None) -> ActorKey:
    """Replace the key pair of ``owner``; remote servers refetch on failure."""
    private = generate_private_key_pem(get_setting("KEY_SIZE"))
    key, _ = ActorKey.objects.update_or_create(
        **_owner_fields(owner),
        defaults={
            "public_key_pem": public_key_pem(private),
            "private_key_pem": private,
        },
    )
    return key


def _owner_fields(owner: Any | None) -> dict[str, Any]:
    if owner is None:
        return {"owner_type": None, "owner_id": INSTANCE_OWNER_ID}
    return {
        "owner_type": ContentType.objects.get_for_model(owner),
        "owner_id": str(owner.pk),
    }


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key_pem: str

    def __repr__(self) -> str:  # never print the private key
        return f"SigningKey(key_id={self.key_id!r})"


def signing_key_for(actor_iri: str | None) -> SigningKey:
    """The key to sign a request made on behalf of ``actor_iri``.

    A local actor signs with its own key; anything else (no actor, a remote
    or unknown IRI) with the instance actor's key.
    """
    from vox_activity.outgoing.instance import instance_actor_iri
    from vox_activity.registry import actor_for_iri

    owner = actor_for_iri(actor_iri) if actor_iri else None
    if owner is None:
        return SigningKey(key_id(instance_actor_iri()), key_for(None).private_key_pem)
    return SigningKey(key_id(actor_iri), key_for(owner).private_key_pem)


def signer(actor_iri: str | None):
    """A ``sign(method, url, headers, body) -> headers`` for the HTTP client.

    It signs each request (and each redirect hop) as ``actor_iri``, or as the
    instance actor when that is not a local actor.
    """
    from vox_activity.protocol.cavage import sign_request

    key = signing_key_for(actor_iri)

    def sign(method: str, url: str, headers: dict, body: bytes | None) -> dict:
        return sign_request(
            method,
            url,
            headers,
            body,
            key_id=key.key_id,
            private_key_pem=key.private_key_pem,
        )

    return sign
