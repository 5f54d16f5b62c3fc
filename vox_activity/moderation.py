"""Moderation, the Python API: blocks by local actors, reports, blocked servers.

* :func:`block` / :func:`unblock`: a local actor blocks a remote one (or
  takes it back).  A ``Block`` (or ``Undo``) goes to the blocked actor's
  server, as Mastodon sends one so that the other side hides the blocker too;
  follows between the two end (an ``Undo`` of ours, a ``Reject`` of theirs);
  nothing of the blocked reaches the blocker's inbox and nothing of the
  blocker is delivered to the blocked.
* :func:`report`: a local actor reports a remote actor (and some of its
  objects) to its server: a ``Flag`` sent, as Mastodon does, by the site's
  instance actor, so that the reporter stays anonymous to the other server.
* :func:`block_server` / :func:`unblock_server`: the admin blocks a whole
  remote server (:class:`~vox_activity.models.DomainBlock`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from vox_activity import follows
from vox_activity.exceptions import FollowError
from vox_activity.models import Block, Delivery, DomainBlock, Follow, RemoteActor
from vox_activity.models.remote import domain_of
from vox_activity.outgoing.publish import publish
from vox_activity.protocol.acct import parse_acct
from vox_activity.protocol.iri import is_iri
from vox_activity.registry import actor_iri, instance_actor_iri

__all__ = ["block", "block_server", "report", "unblock", "unblock_server"]


def _local_iri(local_actor: Any) -> str:
    iri = actor_iri(local_actor)
    if iri is None:
        raise FollowError(f"{local_actor!r} is not a local actor.")
    return iri


def block(local_actor: Any, target: str) -> Block:
    """``local_actor`` blocks the remote actor ``target`` (IRI or ``acct:``)."""
    iri = _local_iri(local_actor)
    remote = follows.find_remote(target)  # network first
    for row in Follow.objects.between(iri, remote.iri):
        if row.actor_iri == iri:
            follows.unfollow(local_actor, remote.iri)
        else:
            follows.reject(row)
    with transaction.atomic():
        activity = publish(
            {"type": "Block", "actor": iri, "object": remote.iri},
            [remote.iri],
            fetch=False,
        )
        return Block.objects.record(iri, remote.iri, activity.iri)


def unblock(local_actor: Any, target: str) -> bool:
    """Take a block back (``Undo``); False if there was none.

    ``target`` is what :func:`block` takes: the blocked actor's IRI, or its
    ``acct:`` address (looked up among the actors we know, else resolved
    with WebFinger).
    """
    iri = _local_iri(local_actor)
    if not Block.objects.filter(actor_iri=iri).exists():
        return False  # nothing to lift (and no address to resolve)
    target = _blocked_iri(iri, target)
    row = Block.objects.filter(actor_iri=iri, object_iri=target).first()
    if row is None:
        return False
    with transaction.atomic():
        Block.objects.lift(iri, target)  # first: a block stops deliveries to it
        publish(
            {
                "type": "Undo",
                "actor": iri,
                "object": {
                    "id": row.activity_iri,
                    "type": "Block",
                    "actor": iri,
                    "object": target,
                },
            },
            [target],
            fetch=False,
        )
    return True


def _blocked_iri(local_iri: str, target: str) -> str:
    """The IRI ``target`` names, for one of ``local_iri``'s blocks."""
    parsed = None if is_iri(target) else parse_acct(target)
    if parsed is None:
        return target
    username, host = parsed
    blocked = Block.objects.filter(actor_iri=local_iri).values_list(
        "object_iri", flat=True
    )
    known = RemoteActor.objects.filter(
        iri__in=blocked, preferred_username=username, domain=host
    ).first()
    return known.iri if known is not None else follows.find_remote(target).iri


def report(
    local_actor: Any, target: str, objects: Iterable[str] = (), comment: str = ""
) -> Any:
    """Report ``target`` (and ``objects`` of it) to its server with a ``Flag``.

    The Flag's actor is the site's instance actor (the reporter is not
    named to the other server, as with Mastodon's forwarded reports); it
    goes to the reported actor's inbox.  Returns the stored activity.
    """
    _local_iri(local_actor)
    remote: RemoteActor = follows.find_remote(target)
    data: dict[str, Any] = {
        "type": "Flag",
        "actor": instance_actor_iri(),
        "object": [remote.iri, *objects],
    }
    if comment:
        data["content"] = comment
    return publish(data, fetch=False, inboxes=[remote.delivery_inbox])


def block_server(domain: str, reason: str = "") -> DomainBlock:
    """Block a whole remote server (``host`` or ``host:port``, or any of its IRIs).

    Follows with it end at once (without telling it), its pending deliveries
    fail, and from then on nothing is accepted from, delivered to, or fetched
    from it, and its actors' activities are hidden from inboxes.
    """
    domain = domain_of(domain) if "://" in domain else domain.strip().lower()
    with transaction.atomic():
        blocked, _ = DomainBlock.objects.get_or_create(
            domain=domain, defaults={"reason": reason}
        )
        Follow.objects.filter(remote_actor__domain=domain).end_all()
        Delivery.objects.pending().filter(domain=domain).update(
            state=Delivery.State.FAILED,
            last_error=f"Not delivered: {domain} is blocked.",
        )
    return blocked


def unblock_server(domain: str) -> bool:
    """Lift a server block; follows that ended do not come back by themselves."""
    deleted, _ = DomainBlock.objects.filter(domain=domain.strip().lower()).delete()
    return bool(deleted)
