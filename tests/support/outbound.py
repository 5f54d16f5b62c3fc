"""The outbound tests' vocabulary: our actors' addresses and keys, fast
settings, a note to publish, the sweep command, and reading what was posted.

Shared by the modules that deliver to the servers of ``tests/fediverse.py``
(``test_outbound_keys``, ``test_remote_actor_fetching``,
``test_delivery_sending``, ``test_delivery_retries``,
``test_server_health_and_admin``; their fixtures, ``fediverse``, ``server``,
``zed``, ``send``, ``deliver``..., are in conftest) and by
``test_delivery_batches`` and ``test_delivery_sweep_and_retry_now``, which
deliver to cached actors (:func:`remote_actors`) through ``remote_web`` and
run the tasks ``dummy_tasks`` recorded (:func:`run`, :func:`tasks_of`).
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.management import call_command
from django.utils import timezone

from vox_activity.models import Delivery, Follow, RemoteActor

from .constants import SITE

if TYPE_CHECKING:
    from ..fediverse import Hit

__all__ = [
    "ALICE",
    "ALICE_FOLLOWERS",
    "ALICE_KEY",
    "BOB",
    "DELIVER",
    "DELIVERED",
    "FAILED",
    "FAST",
    "GIVEN_UP",
    "INSTANCE",
    "INSTANCE_KEY",
    "PENDING",
    "SWEEP",
    "assert_signed_by",
    "changelist_pks",
    "follow",
    "make_due",
    "note",
    "path_of",
    "remote_actors",
    "rotate",
    "run",
    "sweep",
    "tasks_of",
]

ALICE = f"{SITE}/~alice/"
ALICE_KEY = f"{SITE}/~alice/#main-key"
ALICE_FOLLOWERS = f"{SITE}/~alice/followers"
BOB = f"{SITE}/~bob/"
INSTANCE = f"{SITE}/activitypub/actor"
INSTANCE_KEY = INSTANCE + "#main-key"

#: Small limits so that timeouts take a fraction of a second; small keys so
#: that making them is quick.
#: Draft-cavage only, as Mastodon before 4.5 verifies: these tests check its
#: headers; the double knock (RFC 9421 first) is tested in test_double_knock.
FAST = {
    "HTTP_SIGNATURES": "cavage",
    "ALLOW_PRIVATE_ADDRESSES": True,
    "HTTP_CONNECT_TIMEOUT": 0.5,
    "HTTP_READ_TIMEOUT": 0.3,
    "HTTP_TOTAL_TIMEOUT": 2.0,
    "KEY_SIZE": 1024,
    "USER_AGENT": "vox-tests",
}

PENDING = Delivery.State.PENDING
DELIVERED = Delivery.State.DELIVERED
FAILED = Delivery.State.FAILED
GIVEN_UP = Delivery.State.GIVEN_UP

#: The tasks a delivery test runs by hand (``dummy_tasks`` records them).
DELIVER = "vox_activity.outgoing.tasks.deliver"
SWEEP = "vox_activity.outgoing.tasks.sweep_deliveries"


def note(content: str = "Hello", **extra: Any) -> dict[str, Any]:
    """A Create of a Note by alice (``extra``: ``to``, ``cc``... of the Create)."""
    return {
        "type": "Create",
        "actor": ALICE,
        "object": {"type": "Note", "content": content, "attributedTo": ALICE},
        **extra,
    }


def sweep(*args: str) -> str:
    """Run ``manage.py vox_activity_deliver``; the line about deliveries."""
    out = io.StringIO()
    call_command("vox_activity_deliver", *args, stdout=out)
    return out.getvalue().splitlines()[0]


def make_due(*rows: Delivery) -> None:
    """``rows`` are due now: their retry wait, or their lease, has run out."""
    Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def follow(
    actor: RemoteActor,
    state: str = Follow.State.ACCEPTED,
    object_iri: str = ALICE,
) -> Follow:
    """``actor`` follows ``object_iri`` (alice), accepted unless told."""
    return Follow.objects.create(
        actor_iri=actor.iri, object_iri=object_iri, remote_actor=actor, state=state
    )


def path_of(url: str) -> str:
    return urlsplit(url).path


def assert_signed_by(hit: Hit, key_id: str) -> None:
    """The fake server verified ``hit``'s signature, made with ``key_id``."""
    assert hit.key_id == key_id
    assert hit.verified is True, hit.problem


def remote_actors(
    count: int, *, host: str = "remote.example", shared: bool = False, start: int = 0
) -> list[RemoteActor]:
    """``count`` cached remote actors on ``host`` (own inboxes unless ``shared``).

    Rows only, fetched "now", with no keys: enough to deliver to, through
    ``remote_web``, without fetching anything.
    """
    actors = [
        RemoteActor(
            iri=f"https://{host}/users/u{i}",
            domain=host,
            inbox=f"https://{host}/users/u{i}/inbox",
            shared_inbox=f"https://{host}/inbox" if shared else "",
            fetched_at=timezone.now(),
        )
        for i in range(start, start + count)
    ]
    RemoteActor.objects.bulk_create(actors)
    return list(RemoteActor.objects.filter(iri__in=[a.iri for a in actors]))


def run(result: Any) -> Any:
    """Run a task that ``dummy_tasks`` recorded, as a worker would; its result."""
    return result.task.call(*result.args, **result.kwargs)


def tasks_of(backend: Any, path: str = DELIVER) -> list[Any]:
    """The tasks of ``path`` that ``backend`` recorded, in order."""
    return [r for r in backend.results if r.task.module_path == path]


def rotate(*args: str) -> str:
    """Run ``manage.py vox_activity_rotate_key``; what it printed."""
    out = io.StringIO()
    call_command("vox_activity_rotate_key", *args, stdout=out)
    return out.getvalue().strip()


def changelist_pks(response: Any) -> set[Any]:
    """The primary keys of the rows an admin change list shows."""
    return {obj.pk for obj in response.context["cl"].result_list}
