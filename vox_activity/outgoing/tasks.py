"""Task-framework wrappers: deliveries run as Django tasks, a batch per task.

Django 6 has ``django.tasks``; Django 5.2 sites install the ``django-tasks``
backport (see :mod:`vox_activity.compat`).  The ``TASKS`` setting picks where
tasks run (the database worker ``django_tasks_db``, RQ...); ``TASK_BACKEND``
names the backend and ``TASK_QUEUE`` the queue.  The framework has no
retries of its own: a delivery's retries live on its row, and the sweep
(:mod:`vox_activity.outgoing.sweep`, a task that re-enqueues itself) queues
them when due, on backends that can defer; elsewhere ``manage.py
vox_activity_deliver`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from vox_activity.compat import tasks_module
from vox_activity.conf import get_setting

__all__ = [
    "can_defer",
    "deliver",
    "enqueue_deliveries",
    "enqueue_delivery",
    "enqueue_sweep",
    "sweep_deliveries",
]

_tasks = tasks_module()


@_tasks.task()
def deliver(*delivery_ids: int) -> dict[str, int]:
    """Attempt a batch: these deliveries, topped up with other due ones.

    Returns how many ended in each state.  (Earlier versions enqueued one id
    per task; such tasks still run.)
    """
    from vox_activity.outgoing.delivery import run_batch

    return run_batch(delivery_ids)


@_tasks.task()
def sweep_deliveries(chain: str) -> str:
    """One run of the sweep chain (it enqueues the next one itself)."""
    from vox_activity.outgoing.sweep import run_sweep

    return run_sweep(chain)


def _using(task: Any, run_after: datetime | None = None) -> Any:
    task = task.using(
        backend=get_setting("TASK_BACKEND"), queue_name=get_setting("TASK_QUEUE")
    )
    return task.using(run_after=run_after) if run_after is not None else task


def can_defer() -> bool:
    """Can the configured backend hold a task until a given time?"""
    return bool(_using(deliver).get_backend().supports_defer)


def enqueue_deliveries(delivery_ids: Sequence[int]) -> None:
    """Queue one task for a batch of deliveries (held for it by the caller)."""
    _using(deliver).enqueue(*delivery_ids)


def enqueue_sweep(chain: str, run_after: datetime) -> bool:
    """Queue the sweep chain's next run; False if the backend cannot defer."""
    if not can_defer():
        return False
    _using(sweep_deliveries, run_after).enqueue(chain)
    return True


def enqueue_delivery(delivery_id: int, run_after: datetime | None = None) -> bool:
    """Queue a task for one delivery; False when it must wait for the sweep.

    A future ``run_after`` needs a backend that can defer.
    """
    task = _using(deliver)
    if run_after is not None and run_after > timezone.now():
        if not task.get_backend().supports_defer:
            return False
        task = task.using(run_after=run_after)
    task.enqueue(delivery_id)
    return True
