r"""The documents we publish about our own actors: local actors and the instance actor.

Remote servers fetch these (and receive them in ``Update``\s) to learn an
actor's inbox, name and keys; their shape is what Mastodon reads.

The instance actor stands for the site itself (``Application``, at
``/activitypub/actor``): requests made by no particular actor, such as
fetching a remote actor's key, are signed by it, so servers that answer only
signed requests ("authorized fetch") answer us too.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.urls import reverse

from vox_activity.models import ActorKey
from vox_activity.protocol.actor_documents import ACTOR_TYPES
from vox_activity.protocol.multikey import MULTIKEY_CONTEXT, multikey
from vox_activity.protocol.vocabulary import (
    AS_CONTEXT,
    SECURITY_CONTEXT,
    build_context,
    to_json,
)
from vox_activity.registration import hook
from vox_activity.registry import (
    actor_iri_of,
    endpoint_iri,
    instance_actor_iri,
    key_id,
    registration_for,
    shared_inbox_iri,
)
from vox_activity.site import absolute_iri, site_domain

__all__ = [
    "actor_document",
    "instance_actor_document",
    "keys_of",
    "proof_key_id",
]


def actor_document(instance: Any) -> dict[str, Any]:
    """The ActivityPub actor document of a local actor, as Mastodon reads it."""
    registration = registration_for(instance)
    iri = actor_iri_of(instance)
    contexts: list[dict] = []
    base = to_json(registration.get_activity_object(instance), contexts)
    document: dict[str, Any] = dict(base) if isinstance(base, dict) else {}
    document.pop("@context", None)
    actor_type = hook(registration, "get_activity_actor_type")(instance)
    if actor_type not in ACTOR_TYPES and document.get("type") in ACTOR_TYPES:
        actor_type = document["type"]
    url = hook(registration, "get_activity_url")(instance)
    document.update(
        {
            "id": iri,
            "type": actor_type,
            "preferredUsername": hook(registration, "get_activity_username")(instance),
            "name": hook(registration, "get_activity_name")(instance),
            "url": url or iri,
            "inbox": endpoint_iri(iri, "inbox"),
            "outbox": endpoint_iri(iri, "outbox"),
            "followers": endpoint_iri(iri, "followers"),
            "following": endpoint_iri(iri, "following"),
            "endpoints": {"sharedInbox": shared_inbox_iri()},
            "manuallyApprovesFollowers": bool(
                hook(registration, "manually_approves_followers")(instance)
            ),
            **_profile(registration, instance),
            **keys_of(iri, ActorKey.objects.for_actor(instance)),
        }
    )
    context = build_context(contexts)
    context = [context] if isinstance(context, str) else list(context)
    context[1:1] = [SECURITY_CONTEXT, MULTIKEY_CONTEXT]
    return {"@context": context, **document}


def _profile(registration: Any, instance: Any) -> dict[str, Any]:
    """``summary`` (the bio, HTML) and ``icon`` (the avatar), when the site has them."""
    profile: dict[str, Any] = {}
    summary = hook(registration, "get_activity_summary")(instance)
    if summary:
        profile["summary"] = str(summary)
    icon = hook(registration, "get_activity_icon")(instance)
    if icon:
        profile["icon"] = {"type": "Image", "url": absolute_iri(str(icon))}
    return profile


def proof_key_id(actor_iri: str) -> str:
    """The id of an actor's Ed25519 ``Multikey`` (FEP-521a)."""
    return f"{actor_iri}#ed25519-key"


def keys_of(iri: str, pair: ActorKey) -> dict[str, Any]:
    """``publicKey`` (RSA, HTTP signatures) and ``assertionMethod`` (Ed25519).

    Mastodon reads ``publicKey``; Fedify-based servers verify integrity
    proofs with the ``Multikey`` in ``assertionMethod`` (FEP-521a).
    """
    public = serialization.load_pem_public_key(
        pair.ed25519_public_key_pem.encode("ascii")
    )
    assert isinstance(public, Ed25519PublicKey)
    return {
        "publicKey": {
            "id": key_id(iri),
            "owner": iri,
            "publicKeyPem": pair.public_key_pem,
        },
        "assertionMethod": [multikey(public, key_id=proof_key_id(iri), controller=iri)],
    }


def instance_actor_document() -> dict[str, Any]:
    iri = instance_actor_iri()
    return {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT, MULTIKEY_CONTEXT],
        "id": iri,
        "type": "Application",
        "preferredUsername": site_domain(),
        "name": site_domain(),
        "url": iri,
        "inbox": shared_inbox_iri(),
        "outbox": absolute_iri(reverse("vox_activity:instance-outbox")),
        "endpoints": {"sharedInbox": shared_inbox_iri()},
        "manuallyApprovesFollowers": True,
        **keys_of(iri, ActorKey.objects.for_actor(None)),
    }
