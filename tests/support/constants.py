"""Names every test module may need: media types, JSON-LD contexts, our origin."""

from __future__ import annotations

__all__ = ["AP", "AS_CONTEXT", "LD", "SECURITY_CONTEXT", "SITE"]

#: The ActivityPub media type, and its JSON-LD spelling (both are understood).
AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
#: The test site's origin (``tests/settings.py``: SITE_DOMAIN, SITE_SSL).
SITE = "https://testserver"
