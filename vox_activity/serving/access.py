"""Authorized fetch: documents served only to signed requests (an optional mode).

With ``VOX_ACTIVITY["AUTHORIZED_FETCH"] = True`` (Mastodon's "secure
mode"), actor documents, objects, activities and collections are served only
to GETs signed by a remote actor whose key verifies, and never to a server
the admin blocked; everyone else gets 401 (or 403).  The instance actor and
discovery (WebFinger, NodeInfo, host-meta) stay open: another server in this
mode must be able to fetch our instance actor's key to check the signature
of our own fetches, or two such servers would wait on each other forever.

Without the mode, public documents are served to anyone, and only what is
addressed to some people needs a signature (:mod:`vox_activity.serving.objects`).
"""

from __future__ import annotations

from collections.abc import Collection

from django.http import HttpRequest, HttpResponse

from vox_activity.conf import get_setting
from vox_activity.exceptions import Refused
from vox_activity.incoming.authentication import authenticate_fetch
from vox_activity.models import Follow, RemoteActor
from vox_activity.protocol.vocabulary import PUBLIC
from vox_activity.registry import endpoint_iri
from vox_activity.serving.responses import error_response

__all__ = ["fetch_refusal", "may_read", "signer_of"]

_SIGNER = "_vox_activity_signer"


def signer_of(request: HttpRequest) -> RemoteActor | None:
    """Who signed this GET (verified once per request), or None if unsigned."""
    if not hasattr(request, _SIGNER):
        setattr(request, _SIGNER, authenticate_fetch(request))
    return getattr(request, _SIGNER)


def fetch_refusal(request: HttpRequest) -> HttpResponse | None:
    """The 401/403 to answer in authorized-fetch mode, or None to serve."""
    if not get_setting("AUTHORIZED_FETCH"):
        return None
    try:
        signer = signer_of(request)
    except Refused as exc:
        return error_response(exc.status, exc.reason, **exc.headers)
    if signer is None:
        return error_response(
            401, "This server answers signed requests only (authorized fetch)."
        )
    return None


def may_read(request: HttpRequest, audience: Collection[str], author_iri: str) -> bool:
    """May this request read a document addressed to ``audience``?

    Public documents: anyone.  Others: a signed fetch by an actor they are
    addressed to, or by a follower of ``author_iri`` when they are addressed
    to its followers.  A signature that does not verify counts as no
    signature, so objects and activities answer the same 404 whether they
    do not exist, are not for the signer, or the signature is wrong: what is
    not public does not reveal that it exists.
    """
    if PUBLIC in audience:
        return True
    try:
        signer = signer_of(request)
    except Refused:
        return False
    if signer is None:
        return False
    if signer.iri in audience:
        return True
    if not author_iri or endpoint_iri(author_iri, "followers") not in audience:
        return False
    return Follow.objects.followers_of(author_iri).filter(actor_iri=signer.iri).exists()
