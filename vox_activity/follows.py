"""Follows, both ways: the Python API sites call, and the activities it sends.

Incoming (a remote actor follows a local one): :func:`accept` and
:func:`reject` answer a pending request (the admin has actions for both).
Outgoing (a local actor follows a remote one): :func:`follow` and
:func:`unfollow`; the remote side's Accept or Reject updates the row.

Every function fetches what it needs first, then writes in one transaction;
the rows' own methods (:class:`~vox_activity.models.Follow`) send the
``follow_*`` signals.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from vox_activity.exceptions import FollowError, RemoteActorError
from vox_activity.models import Follow, RemoteActor
from vox_activity.net.remote_actors import ensure_actors, fetch_actor
from vox_activity.net.webfinger import resolve_acct
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.acct import parse_acct
from vox_activity.protocol.vocabulary import iri_of
from vox_activity.registration import hook
from vox_activity.registry import (
    actor_for_iri,
    actor_for_username,
    actor_iri,
    registration_for,
)
from vox_activity.site import site_domain

__all__ = [
    "FollowError",
    "accept",
    "find_local",
    "find_remote",
    "follow",
    "follow_known",
    "follow_local",
    "follow_object",
    "manually_approves",
    "receive_follow",
    "reject",
    "remote_responded",
    "unfollow",
]


def follow_object(follow: Follow) -> dict[str, Any]:
    """The Follow activity as embedded in Accept, Reject and Undo."""
    data: dict[str, Any] = {
        "type": "Follow",
        "actor": follow.actor_iri,
        "object": follow.object_iri,
    }
    if follow.activity_iri:
        data["id"] = follow.activity_iri
    return data


# --- incoming follows --------------------------------------------------------


def manually_approves(local_actor: Any) -> bool:
    registration = registration_for(local_actor)
    return bool(hook(registration, "manually_approves_followers")(local_actor))


def receive_follow(remote: RemoteActor, local_actor: Any, activity_iri: str) -> Follow:
    """Record a remote actor's Follow; accept it unless approval is manual.

    Runs inside the inbox's transaction: the Accept goes to the follower,
    who signed the request and so is cached (no network here).
    """
    local_iri = actor_iri(local_actor)
    assert local_iri is not None
    row = Follow.objects.request(
        remote.iri, local_iri, activity_iri=activity_iri, remote_actor=remote
    )
    if row.state == Follow.State.ACCEPTED or not manually_approves(local_actor):
        _answer(row, accepted=True)
    return row


def _respond(follow: Follow, activity_type: str) -> None:
    publish(
        {
            "type": activity_type,
            "actor": follow.object_iri,
            "object": follow_object(follow),
        },
        [follow.actor_iri],
        fetch=False,
    )


def _check_incoming(follow: Follow) -> None:
    """Only a follow of a local actor, by a remote or a local one, is answered here."""
    if actor_for_iri(follow.object_iri) is None:
        raise FollowError(f"{follow.object_iri} is not a local actor.")
    remote = follow.remote_actor
    if remote is None:
        if actor_for_iri(follow.actor_iri) is None:
            raise FollowError(f"{follow} is not a follow this site can answer.")
        return  # between two local actors: no network
    if remote.iri != follow.actor_iri:
        raise FollowError(f"{follow} is not a follow from a remote actor.")
    ensure_actors([follow.actor_iri])  # any refetch before the transaction


def accept(follow: Follow) -> Follow:
    """Accept an incoming follow and tell the follower's server."""
    _check_incoming(follow)
    with transaction.atomic():
        return _answer(follow, accepted=True)


def reject(follow: Follow) -> Follow:
    """Reject (or remove) an incoming follow and tell the follower's server."""
    _check_incoming(follow)
    with transaction.atomic():
        return _answer(follow, accepted=False)


def _answer(follow: Follow, *, accepted: bool) -> Follow:
    """Record the answer, send Accept or Reject (inside a transaction)."""
    if accepted:
        follow.accept()
    else:
        follow.reject()
    _respond(follow, "Accept" if accepted else "Reject")
    return follow


# --- outgoing follows --------------------------------------------------------


def find_remote(target: str) -> RemoteActor:
    """A remote actor by IRI, ``acct:user@host`` or ``@user@host``."""
    try:
        if target.startswith(("http://", "https://")):
            return fetch_actor(target)
        return resolve_acct(target)
    except RemoteActorError as exc:
        raise FollowError(str(exc)) from exc


def find_local(target: str) -> Any | None:
    """The local actor ``target`` names (IRI or ``acct:`` on this site), or None."""
    if target.startswith(("http://", "https://")):
        return actor_for_iri(target)
    parsed = parse_acct(target)
    if parsed is None or parsed[1] != site_domain().lower():
        return None
    return actor_for_username(parsed[0])


def follow(local_actor: Any, target: str) -> Follow:
    """Make ``local_actor`` follow ``target`` (remote, or another local actor).

    A remote follow is pending until the other server accepts; a local one is
    accepted at once unless the followed actor approves followers by hand.
    """
    local_iri = actor_iri(local_actor)
    if local_iri is None or actor_for_iri(local_iri) is None:
        raise FollowError(f"{local_actor!r} is not a local actor.")
    followed = find_local(target)
    if followed is not None:
        return follow_local(local_actor, followed)
    return follow_known(local_actor, find_remote(target))  # network first


def follow_local(local_actor: Any, followed: Any) -> Follow:
    """A follow between two local actors: the same rows, inbox items and
    signals as with a remote actor, and no HTTP."""
    follower_iri, followed_iri = actor_iri(local_actor), actor_iri(followed)
    assert follower_iri is not None and followed_iri is not None
    if follower_iri == followed_iri:
        raise FollowError("An actor cannot follow itself.")
    with transaction.atomic():
        activity = publish(
            {"type": "Follow", "actor": follower_iri, "object": followed_iri},
            [followed_iri],
            fetch=False,
        )
        row = Follow.objects.request(
            follower_iri, followed_iri, activity_iri=activity.iri
        )
        if row.state != Follow.State.ACCEPTED and not manually_approves(followed):
            _answer(row, accepted=True)
    return row


def follow_known(local_actor: Any, remote: RemoteActor) -> Follow:
    """:func:`follow` for a remote actor already fetched (no network here)."""
    local_iri = actor_iri(local_actor)
    assert local_iri is not None
    with transaction.atomic():
        row, _ = Follow.objects.update_or_create(
            actor_iri=local_iri,
            object_iri=remote.iri,
            defaults={"remote_actor": remote, "state": Follow.State.PENDING},
        )
        activity = publish(
            {"type": "Follow", "actor": local_iri, "object": remote.iri},
            [remote.iri],
            fetch=False,
        )
        row.activity_iri = activity.iri
        row.save(update_fields=["activity_iri"])
    return row


def unfollow(local_actor: Any, target: str) -> bool:
    """Stop following; sends Undo(Follow).  False if there was no follow."""
    local_iri = actor_iri(local_actor)
    row = (
        Follow.objects.filter(actor_iri=local_iri, object_iri=target)
        .select_related("remote_actor")
        .first()
    )
    if row is None and not target.startswith(("http://", "https://")):
        local = find_local(target)
        other = actor_iri(local) if local is not None else find_remote(target).iri
        row = Follow.objects.filter(actor_iri=local_iri, object_iri=other).first()
    if row is None:
        return False
    if row.remote_actor_id is not None:
        ensure_actors([row.object_iri])  # any refetch before the transaction
    with transaction.atomic():
        publish(
            {"type": "Undo", "actor": local_iri, "object": follow_object(row)},
            [row.object_iri],
            fetch=False,
        )
        row.end()
    return True


def remote_responded(remote: RemoteActor, follow_data: Any, accepted: bool) -> bool:
    """Apply a remote Accept/Reject of one of our follows; False if none matches.

    ``follow_data`` is the trusted view of the embedded Follow: its IRI (a
    Follow we sent, embedded with our id), or a Follow without an id, whose
    ``actor`` names the local follower.
    """
    rows = Follow.objects.filter(object_iri=remote.iri)
    follow_iri = iri_of(follow_data)
    row = rows.filter(activity_iri=follow_iri).first() if follow_iri else None
    if row is None and isinstance(follow_data, dict) and "id" not in follow_data:
        row = rows.filter(actor_iri=iri_of(follow_data.get("actor"))).first()
    if row is None or actor_for_iri(row.actor_iri) is None:
        return False
    if accepted:
        row.accept()
    else:
        row.reject()
    return True
