"""The inbox task: received activities applied in the background.

With ``INBOX_PROCESSING = "task"`` (the default) an inbox POST is answered
202 once the activity is checked and stored; this task applies it.  One task
per actor whose activities wait: it applies them oldest first
(:func:`vox_activity.incoming.processing.run_pending`), so a Follow and its
Undo take effect in that order even when several workers run.  Running the
task twice, or a task dying midway, changes nothing extra.
"""

from __future__ import annotations

from vox_activity.compat import tasks_module
from vox_activity.conf import get_setting
from vox_activity.incoming.processing import run_pending
from vox_activity.models import Activity

__all__ = ["enqueue_processing", "enqueue_unprocessed", "process_inbox"]

_tasks = tasks_module()


@_tasks.task()
def process_inbox(actor_iri: str) -> int:
    """Apply ``actor_iri``'s received activities (the task the framework runs)."""
    return run_pending(actor_iri)


def enqueue_processing(actor_iri: str) -> None:
    """Queue the actor's inbox task (after the current transaction, if any)."""
    process_inbox.using(backend=get_setting("TASK_BACKEND")).enqueue(actor_iri)


def enqueue_unprocessed(limit: int = 1000) -> int:
    """Queue a task for every actor whose activities wait (the sweep); how many."""
    actors = list(
        Activity.objects.unprocessed()
        .filter(local=False)
        .values_list("actor_iri", flat=True)
        .distinct()[:limit]
    )
    for actor_iri in actors:
        enqueue_processing(actor_iri)
    return len(actors)
