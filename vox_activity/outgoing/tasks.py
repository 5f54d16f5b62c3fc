"""Task-framework wrappers: deliveries run as Django tasks.

Django 6 has ``django.tasks``; Django 5.2 sites install the ``django-tasks``
backport (see :mod:`vox_activity.compat`).  The ``TASKS`` setting picks where
tasks run: the database worker (``django_tasks_db``), RQ, Celery...  The
framework has no retries of its own: a delivery's retries live in its row,
re-enqueued with ``run_after`` where the backend can defer, or found by the
sweep (``manage.py vox_activity_deliver``) where it cannot.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from vox_activity.compat import tasks_module
from vox_activity.conf import get_setting

__all__ = ["deliver", "enqueue_delivery"]

_tasks = tasks_module()


@_tasks.task()
def deliver(delivery_id: int) -> str:
    """Attempt one delivery (the task the framework runs)."""
    from vox_activity.outgoing.delivery import attempt_delivery

    return attempt_delivery(delivery_id)


def enqueue_delivery(delivery_id: int, run_after: datetime | None = None) -> bool:
    """Queue an attempt; False when it must wait for the sweep instead.

    A future ``run_after`` needs a backend that can defer; without one the
    row stays pending and ``vox_activity_deliver`` enqueues it when due.
    """
    task = deliver.using(backend=get_setting("TASK_BACKEND"))
    if run_after is not None and run_after > timezone.now():
        if not task.get_backend().supports_defer:
            return False
        task = task.using(run_after=run_after)
    task.enqueue(delivery_id)
    return True
