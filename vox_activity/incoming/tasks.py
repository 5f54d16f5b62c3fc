"""The inbox task: received activities applied in the background.

With ``INBOX_PROCESSING = "task"`` (the default) an inbox POST is answered
202 once the activity is checked and stored; this task applies it.  One task
per actor whose activities wait: it applies them oldest first
(:func:`vox_activity.incoming.processing.run_pending`), so a Follow and its
Undo take effect in that order even when several workers run.  Running the
task twice, or a task dying midway, changes nothing extra.

Nothing is left waiting without an operator: every run of this task makes
sure the sweep chain is alive (:mod:`vox_activity.outgoing.sweep`), and the
chain calls :func:`sweep_received`, which queues the task again for senders
whose activities have waited longer than one sweep interval (a task lost
with its worker, or an activity that raised and is to be tried again, up to
``INBOX_MAX_ATTEMPTS``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from vox_activity.compat import tasks_module
from vox_activity.conf import get_setting
from vox_activity.incoming.processing import run_pending
from vox_activity.models import Activity
from vox_activity.outgoing.sweep import ensure_sweep, register_sweeper, sweep_interval

__all__ = [
    "enqueue_processing",
    "enqueue_unprocessed",
    "process_inbox",
    "sweep_received",
]

_tasks = tasks_module()


@_tasks.task()
def process_inbox(actor_iri: str) -> int:
    """Apply ``actor_iri``'s received activities (the task the framework runs)."""
    ensure_sweep()  # if this worker dies now, the sweep queues the task again
    return run_pending(actor_iri)


def enqueue_processing(actor_iri: str) -> None:
    """Queue the actor's inbox task (after the current transaction, if any)."""
    process_inbox.using(
        backend=get_setting("TASK_BACKEND"), queue_name=get_setting("TASK_QUEUE")
    ).enqueue(actor_iri)


def enqueue_unprocessed(
    limit: int = 1000, received_before: datetime | None = None
) -> int:
    """Queue a task for every actor whose activities wait; how many.

    ``received_before`` leaves out activities received since (their own task
    is most likely still queued).
    """
    waiting = Activity.objects.unprocessed().filter(local=False)
    if received_before is not None:
        waiting = waiting.filter(published__lt=received_before)
    actors = list(waiting.values_list("actor_iri", flat=True).distinct()[:limit])
    for actor_iri in actors:
        enqueue_processing(actor_iri)
    return len(actors)


@register_sweeper
def sweep_received(now: datetime) -> int:
    """The sweep's part for the inbox: senders whose activities waited too long."""
    interval: timedelta = sweep_interval()
    return enqueue_unprocessed(received_before=now - interval)
