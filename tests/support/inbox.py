"""The inbox tests' vocabulary: our actors' addresses, follow rows, what was stored.

Shared by the ``test_inbox_*`` modules, which post signed activities from
cached remote actors (:mod:`tests.support.remote_actors`) and look at what
the inbox wrote.
"""

from __future__ import annotations

import uuid
from typing import Any

from vox_activity.models import Activity, Follow, InboxItem
from vox_activity.outgoing.publish import publish

from .constants import SITE
from .remote_actors import Remote, post_signed

__all__ = [
    "ACCEPTED",
    "ALICE",
    "ALICE_FOLLOWERS",
    "ALICE_INBOX",
    "ARTICLE",
    "BOB",
    "INBOXES",
    "PENDING",
    "REJECTED",
    "SHARED",
    "error_of",
    "follow_from",
    "follow_of",
    "inbox_iris",
    "local_activities",
    "post_ok",
    "publish_article",
    "stored_create",
]

ALICE = f"{SITE}/~alice/"
BOB = f"{SITE}/~bob/"
ALICE_FOLLOWERS = f"{SITE}/~alice/followers"
ARTICLE = f"{SITE}/articles/hello/"
SHARED = "/activitypub/inbox"
ALICE_INBOX = "/~alice/inbox"
#: Both inboxes an activity may be posted to: alice's own and the shared one.
INBOXES = [ALICE_INBOX, SHARED]
ACCEPTED, PENDING, REJECTED = (
    Follow.State.ACCEPTED,
    Follow.State.PENDING,
    Follow.State.REJECTED,
)


def inbox_iris(user: Any) -> list[str]:
    """The IRIs of the activities in ``user``'s inbox, oldest first."""
    return list(
        InboxItem.objects.for_owner(user)
        .order_by("id")
        .values_list("activity__iri", flat=True)
    )


def local_activities(activity_type: str) -> list[Activity]:
    """Our own activities of this type (an Accept we answered with...)."""
    return list(Activity.objects.filter(local=True, type=activity_type).order_by("id"))


def follow_from(
    actor: Remote, local_iri: str = ALICE, state: Follow.State = ACCEPTED
) -> Follow:
    """A follow row: the remote ``actor`` follows the local one."""
    return Follow.objects.create(
        actor_iri=actor.iri,
        object_iri=local_iri,
        remote_actor=actor.row,
        activity_iri=actor.new_iri(),
        state=state,
    )


def follow_of(
    actor: Remote, local_iri: str = ALICE, state: Follow.State = ACCEPTED
) -> Follow:
    """A follow row: the local actor follows the remote ``actor``."""
    return Follow.objects.create(
        actor_iri=local_iri,
        object_iri=actor.iri,
        remote_actor=actor.row,
        activity_iri=f"{SITE}/activitypub/activities/{uuid.uuid4()}",
        state=state,
    )


def publish_article(slug: str = "hello", actor: str = ALICE) -> Activity:
    """alice's Create of her article (what the blog's notification publishes)."""
    return publish(
        {
            "type": "Create",
            "actor": actor,
            "object": {
                "id": f"{SITE}/articles/{slug}/",
                "type": "Article",
                "attributedTo": actor,
            },
        }
    )


def stored_create(n: int = 1, origin: str = "https://remote.example") -> Activity:
    """A received ``Create`` of a note from ``origin``, stored as the inbox does.

    For tests that fill inboxes directly; ``n`` makes its IRI distinct.
    """
    return Activity.objects.store(
        {
            "id": f"{origin}/activities/{n}",
            "type": "Create",
            "actor": f"{origin}/users/carol",
            "object": {"type": "Note", "content": f"note {n}"},
        },
        local=False,
    )


def post_ok(client: Any, data: Any, sender: Remote, path: str = SHARED) -> Any:
    """POST ``data`` signed by ``sender``; it must be accepted (202)."""
    response = post_signed(client, path, data, sender)
    assert response.status_code == 202, response.content
    return response


def error_of(response: Any) -> str:
    """The reason a JSON error answer gives."""
    return response.json()["error"]
