"""The sweep: deliveries keep moving with no operator and no cron job.

Most deliveries need no sweep: a publication's rows go to the queue at once,
and every batch a worker claims is topped up with other due rows.  What is
left is time: a retry that comes due while no task runs, a worker killed
mid-attempt (its claim runs out after ``DELIVERY_CLAIM_TIMEOUT``), a task
that a queue lost.  So one task, :func:`run_sweep`, runs every
``DELIVERY_SWEEP_INTERVAL`` seconds for as long as any delivery is pending:
it queues the rows that are due (:func:`~vox_activity.outgoing.delivery.queue_due`)
and enqueues itself again, deferred.

Only one such chain runs: a row of :class:`~vox_activity.models.DeliverySweep`
holds the token of the chain allowed to run and when it runs next.  A chain
whose token was replaced stops at its next run; a chain that finds nothing
pending ends (in the same statement that checks, so that work committed
meanwhile either keeps it alive or finds it ended).  Every worker that claims
rows calls :func:`ensure_sweep` first, which starts a chain unless a live one
exists (one upsert), so new work restarts an ended chain, and a chain that
died with its worker (its next run overdue by two intervals) is replaced.

Received activities waiting for the inbox task keep the chain alive too:
the inbox registers a *sweeper* (:func:`register_sweeper`) that each run
calls, which queues the task of every sender whose activities have waited
longer than one interval (a task lost with a dead worker, or one whose
activity raised and is to be tried again).

The chain needs a task backend that can defer tasks (``django-tasks-db``'s
database worker, RQ with ``--with-scheduler``).  With one that cannot, nothing
is chained: run ``manage.py vox_activity_deliver --loop 30`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

from vox_activity.conf import get_setting
from vox_activity.models import DeliverySweep
from vox_activity.models.delivery import new_token
from vox_activity.outgoing.delivery import batch_size, queue_due
from vox_activity.outgoing.tasks import can_defer, enqueue_sweep

__all__ = [
    "SWEEP_BATCHES",
    "Sweeper",
    "ensure_sweep",
    "register_sweeper",
    "run_sweep",
    "sweep_interval",
]

#: Batches (of DELIVERY_BATCH_SIZE) one run of the sweep queues at most; the
#: rest waits for the next run, so that a long backlog is not queued twice.
SWEEP_BATCHES = 100


#: Other background work a sweep run keeps moving: called with the run's
#: time, returns how many tasks it queued.
Sweeper = Callable[[datetime], int]
_SWEEPERS: list[Sweeper] = []


def register_sweeper(sweeper: Sweeper) -> Sweeper:
    """Have every sweep run call ``sweeper`` (once, however often registered).

    The layers above delivery (the inbox) register here rather than being
    imported by it: see CONTRIBUTING.rst, "Where code goes".
    """
    if sweeper not in _SWEEPERS:
        _SWEEPERS.append(sweeper)
    return sweeper


def sweep_interval() -> timedelta:
    return timedelta(seconds=max(1.0, float(get_setting("DELIVERY_SWEEP_INTERVAL"))))


def ensure_sweep() -> bool:
    """Start the sweep chain unless a live one exists; True if started here."""
    if not can_defer():
        return False
    now = timezone.now()
    interval = sweep_interval()
    chain = new_token()
    due_at = now + interval
    if not DeliverySweep.objects.take_over(chain, due_at, now - 2 * interval):
        return False
    enqueue_sweep(chain, run_after=due_at)
    return True


def run_sweep(chain: str) -> str:
    """One run of the chain ``chain``: queue what is due, enqueue the next run."""
    now = timezone.now()
    due_at = now + sweep_interval()
    if not DeliverySweep.objects.renew(chain, due_at):
        return "superseded"
    if DeliverySweep.objects.release(chain):
        return "ended: nothing pending"
    enqueue_sweep(chain, run_after=due_at)  # first: a crash below keeps the chain
    queued = queue_due(limit=SWEEP_BATCHES * batch_size(), now=now)
    others = sum(sweeper(now) for sweeper in _SWEEPERS)
    return f"queued {len(queued)}" + (f", and {others} other tasks" if others else "")
