"""The incoming pipeline: what happens to a POST on an inbox.

In this order, each failure answered at once with a 4xx and a reason, and
nothing written (the storing steps run in one transaction):

1. size (413), content type (415), JSON object (400);
2. HTTP signature (401): the key is fetched by ``keyId`` (signed, cached;
   refetched once for rotated keys) and must verify the request as received.
   An account's Delete of itself, from an actor we have never seen, is
   acknowledged (202) and dropped without fetching anything: deleted
   accounts' keys are gone and such Deletes arrive in floods;
3. the signer must be the activity's actor (403);
4. validation of ids, type, actor and object (400, the field named);
5. idempotency: an activity id seen before is acknowledged (202), once;
6. store the activity and fill the inboxes of the local actors it is for;
7. side effects (:mod:`vox_activity.incoming.handlers`), then signals; answer 202.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from vox_activity.conf import get_setting
from vox_activity.incoming.handlers import Refused, handle, prepare
from vox_activity.models import (
    IRI_MAX_LENGTH,
    Activity,
    Follow,
    RemoteActor,
    StoredObject,
)
from vox_activity.net.remote_actors import RemoteActorError, actor_for_key
from vox_activity.outgoing.publish import fill_inboxes
from vox_activity.protocol.cavage import (
    KeyMismatch,
    SignatureError,
    key_id_of,
    verify_request,
)
from vox_activity.protocol.payload import PayloadError, read_json_object
from vox_activity.protocol.vocabulary import (
    PUBLIC,
    as_list,
    format_datetime,
    iri_of,
    is_public,
    origin_of,
    recipients_of,
)
from vox_activity.registry import resolve_local_actors
from vox_activity.serving.responses import error_response
from vox_activity.signals import activity_received
from vox_activity.site import local_path

logger = logging.getLogger(__name__)

#: Media types an inbox accepts (ActivityPub's two, and plain JSON as many do).
ACCEPTED_CONTENT_TYPES = ("application/activity+json", "application/ld+json",
                          "application/json")  # fmt: skip
#: Types whose ``object`` is required.
NEEDS_OBJECT = frozenset({
    "Accept", "Add", "Announce", "Block", "Create", "Delete", "Dislike", "Flag",
    "Follow", "Like", "Move", "Reject", "Remove", "Undo", "Update",
})  # fmt: skip


#: Types never shown to the actor they are about: a report must not reach the
#: reported, nor a block the blocked (as on Mastodon).
PRIVATE_TO_OBJECT = frozenset({"Flag", "Block"})


class InboxError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Dropped(Exception):
    """Acknowledge with 202 and do nothing (duplicates, unknown deleted actors)."""


def receive(request: HttpRequest) -> HttpResponse:
    """Handle an inbox POST (an actor's inbox or the shared one)."""
    try:
        data = read_activity(request)
        remote = authenticate(request, data)
        validate(data, remote)
        prepare(data, remote)  # network I/O, before the transaction
        store_and_handle(data, remote)
    except Dropped:
        return HttpResponse(status=202)
    except InboxError as exc:
        return error_response(exc.status, exc.reason)
    except Refused as exc:
        return error_response(exc.status, exc.reason)
    return HttpResponse(status=202)


# --- 1. body -----------------------------------------------------------------


def read_activity(request: HttpRequest) -> dict[str, Any]:
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type.lower() not in ACCEPTED_CONTENT_TYPES:
        raise InboxError(
            415, "Send activities as application/activity+json or application/ld+json."
        )
    try:
        return read_json_object(request, get_setting("MAX_BODY_SIZE"))
    except PayloadError as exc:
        raise InboxError(exc.status, exc.reason) from exc


# --- 2. and 3. signature and signer ------------------------------------------


def signed_headers(request: HttpRequest) -> dict[str, str]:
    """The headers as the sender signed them; ``Host`` as the site sees it.

    Behind a reverse proxy that rewrites ``Host``, set ``USE_X_FORWARDED_HOST``
    so ``get_host()`` returns the name the sender used.
    """
    headers = dict(request.headers)
    headers["Host"] = request.get_host()
    return headers


def authenticate(request: HttpRequest, data: dict) -> RemoteActor:
    headers = signed_headers(request)
    try:
        key_id = key_id_of(headers)
    except SignatureError as exc:
        raise InboxError(401, f"Bad Signature header: {exc.reason}") from exc
    if not key_id:
        raise InboxError(401, "The request is not signed (no Signature header).")
    actor = iri_of(data.get("actor"))
    deletes_itself = (
        data.get("type") == "Delete" and iri_of(data.get("object")) == actor
    )
    if deletes_itself and not _known_sender(key_id, actor):
        raise Dropped  # a deleted account we never knew: nothing to undo
    body = request.body
    path = request.get_full_path()
    remote = _verified_signer(request.method, path, headers, body, key_id)
    _check_iri(data, "actor", actor)  # signed, but is the claim well formed?
    if actor != remote.iri:
        raise InboxError(
            403, f"The request is signed by {remote.iri}, not by the activity's actor."
        )
    return remote


def _known_sender(key_id: str, actor: str) -> bool:
    """Have we ever stored this sender (by key, by key's document, or by actor)?"""
    owner = key_id.split("#", 1)[0]
    return RemoteActor.objects.filter(
        Q(key_id=key_id) | Q(iri=owner) | Q(iri=actor)
    ).exists()


def _verified_signer(method, path, headers, body, key_id) -> RemoteActor:
    try:
        remote = actor_for_key(key_id)
    except RemoteActorError as exc:
        raise InboxError(401, f"The signing key could not be fetched: {exc}") from exc
    try:
        verify_request(method, path, headers, body, remote.public_key_pem)
        return remote
    except KeyMismatch as first:
        try:  # perhaps the key was rotated: fetch it again (rate-limited)
            fresh = actor_for_key(key_id, refresh=True)
        except RemoteActorError:
            fresh = remote
        if fresh.public_key_pem == remote.public_key_pem:
            raise InboxError(401, f"Bad signature: {first.reason}") from first
        try:
            verify_request(method, path, headers, body, fresh.public_key_pem)
        except SignatureError as exc:
            raise InboxError(401, f"Bad signature: {exc.reason}") from exc
        return fresh
    except SignatureError as exc:  # no new key can fix this one
        raise InboxError(401, f"Bad signature: {exc.reason}") from exc


# --- 4. validation -----------------------------------------------------------


def _check_iri(data: dict, field: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InboxError(400, f'"{field}" is missing or not a string.')
    if len(value) > IRI_MAX_LENGTH:
        raise InboxError(400, f'"{field}" is longer than {IRI_MAX_LENGTH} characters.')
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InboxError(400, f'"{field}" must be an absolute http(s) IRI.')
    return value


def validate(data: dict, remote: RemoteActor) -> None:
    activity_type = data.get("type")
    if not isinstance(activity_type, str) or not activity_type.isalnum():
        raise InboxError(400, '"type" is missing or not a single type name.')
    activity_iri = _check_iri(data, "id", data.get("id"))
    actor = _check_iri(data, "actor", iri_of(data.get("actor")))
    if origin_of(activity_iri) != origin_of(actor):
        raise InboxError(400, '"id" is not on the actor\'s server.')
    obj = data.get("object")
    if activity_type in NEEDS_OBJECT:
        if obj in (None, "", [], {}):
            raise InboxError(400, f'"object" is required for {activity_type}.')
        if not isinstance(obj, (str, dict, list)):
            raise InboxError(400, '"object" must be an IRI or an object.')
    if activity_type in ("Create", "Update") and isinstance(obj, dict):
        object_iri = _check_iri(data, "object.id", obj.get("id"))
        if object_iri != actor and origin_of(object_iri) != origin_of(actor):
            raise InboxError(400, '"object.id" is not on the actor\'s server.')
        authors = {iri_of(a) for a in as_list(obj.get("attributedTo"))} - {""}
        if activity_type == "Create" and authors - {actor}:
            raise InboxError(400, '"object.attributedTo" is not the actor.')
    if activity_type == "Move":
        _check_iri(data, "target", iri_of(data.get("target")))


# --- 5. to 7. storing and side effects ----------------------------------------


def local_recipients(data: dict, remote: RemoteActor) -> list:
    """Local actors the activity is for: addressed, following, or its object."""
    addressed = recipients_of(data)
    candidates = list(addressed)
    followers = remote.data.get("followers") if isinstance(remote.data, dict) else None
    if PUBLIC in addressed or (followers and followers in addressed):
        candidates += (
            Follow.objects.accepted()
            .filter(object_iri=remote.iri)
            .values_list("actor_iri", flat=True)
        )
    object_iri = iri_of(data.get("object"))
    if object_iri and data.get("type") not in PRIVATE_TO_OBJECT:
        candidates.append(object_iri)  # a Follow of a local actor
        owner = local_owner_of(object_iri)
        if owner:
            candidates.append(owner)  # Like/Announce of a local object
    if data.get("type") in PRIVATE_TO_OBJECT:  # even when addressed to them
        hidden = {iri_of(item) for item in as_list(data.get("object"))}
        candidates = [iri for iri in candidates if iri not in hidden]
    return list(dict.fromkeys(resolve_local_actors(candidates).values()))


def local_owner_of(object_iri: str) -> str | None:
    """The local actor who published ``object_iri`` (an object or an activity)."""
    if local_path(object_iri) is None:
        return None  # not ours: no local owner, no query
    stored = StoredObject.objects.filter(iri=object_iri, local=True).first()
    if stored is not None:
        return stored.owner_iri
    activity = (
        Activity.objects.filter(local=True)
        .filter(iri=object_iri)
        .values_list("actor_iri", flat=True)
        .first()
    ) or (
        Activity.objects.filter(local=True, object_iri=object_iri)
        .order_by("id")
        .values_list("actor_iri", flat=True)
        .first()
    )
    return activity or None


def store_and_handle(data: dict, remote: RemoteActor) -> Activity:
    if Activity.objects.filter(iri=data["id"]).exists():
        raise Dropped  # seen before: acknowledge, do nothing again
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                iri=data["id"],
                type=data["type"][:64],
                actor_iri=remote.iri,
                object_iri=iri_of(data.get("object"))[:2048],
                data=data,
                public=is_public(data),
                local=False,
            )
            fill_inboxes(activity, local_recipients(data, remote))
            handle(activity, data, remote)
            activity_received.send(Activity, activity=activity, actor=remote, data=data)
    except IntegrityError as exc:
        if Activity.objects.filter(iri=data["id"]).exists():
            raise Dropped from exc  # the same activity, arriving twice at once
        raise
    logger.info(
        "Received %s %s from %s at %s",
        activity.type,
        activity.iri,
        remote.iri,
        format_datetime(activity.published),
    )
    return activity
