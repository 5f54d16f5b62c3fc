"""The site-wide instance actor.

Some requests are made by no particular actor: fetching a remote actor to
learn its inbox or key, for example.  Servers that require signed fetches
("authorized fetch", as Mastodon offers) answer only signed requests, so
these are signed by an actor that stands for the site itself, of type
``Application``, served at ``/activitypub/actor``.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from vox_activity.protocol.vocabulary import AS_CONTEXT, SECURITY_CONTEXT
from vox_activity.site import absolute_iri, site_domain


def instance_actor_iri() -> str:
    return absolute_iri(reverse("vox_activity:instance-actor"))


def instance_actor_document() -> dict[str, Any]:
    from vox_activity.net.signing import key_for, key_id
    from vox_activity.registry import shared_inbox_iri

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
            "publicKeyPem": key_for(None).public_key_pem,
        },
    }
