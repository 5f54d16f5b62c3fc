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

from django.urls import reverse

from vox_activity.models import ActorKey
from vox_activity.protocol.actor_documents import ACTOR_TYPES
from vox_activity.protocol.vocabulary import (
    AS_CONTEXT,
    SECURITY_CONTEXT,
    build_context,
    to_json,
)
from vox_activity.registration import hook
from vox_activity.registry import (
    actor_iri,
    endpoint_iri,
    instance_actor_iri,
    key_id,
    registration_for,
    shared_inbox_iri,
)
from vox_activity.site import absolute_iri, site_domain

__all__ = ["actor_document", "instance_actor_document", "key_id"]


def actor_document(instance: Any) -> dict[str, Any]:
    """The ActivityPub actor document of a local actor, as Mastodon reads it."""
    registration = registration_for(instance)
    iri = actor_iri(instance)
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
            "publicKey": {
                "id": key_id(iri),
                "owner": iri,
                "publicKeyPem": ActorKey.objects.for_actor(instance).public_key_pem,
            },
        }
    )
    context = build_context(contexts)
    context = [context] if isinstance(context, str) else list(context)
    context.insert(1, SECURITY_CONTEXT)
    return {"@context": context, **document}


def instance_actor_document() -> dict[str, Any]:
    iri = instance_actor_iri()
    return {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": iri,
        "type": "Application",
        "preferredUsername": site_domain(),
        "name": site_domain(),
        "url": iri,
        "inbox": shared_inbox_iri(),
        "outbox": absolute_iri(reverse("vox_activity:instance-outbox")),
        "endpoints": {"sharedInbox": shared_inbox_iri()},
        "manuallyApprovesFollowers": True,
        "publicKey": {
            "id": key_id(iri),
            "owner": iri,
            "publicKeyPem": ActorKey.objects.for_actor(None).public_key_pem,
        },
    }
