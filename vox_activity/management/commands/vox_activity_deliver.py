"""Queue (or run) the deliveries whose next attempt is due, and received
activities left waiting.

The sweep task (:mod:`vox_activity.outgoing.sweep`) does this by itself on a
task backend that can defer tasks.  Run this command every half minute
(``--loop 30``, cron, a timer) when the backend cannot (the immediate
backend), and once whenever you want due rows queued right now.  ``--run``
attempts deliveries right here instead of enqueueing them (handy with no
worker at all).  Rows a queued task or an attempt holds are not due: the
command never queues a delivery twice.  Received activities that waited for
the inbox task longer than ``DELIVERY_SWEEP_INTERVAL`` get their task queued
again (or, with ``--run``, are applied here).
"""

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from vox_activity.incoming.processing import run_pending
from vox_activity.incoming.tasks import sweep_received
from vox_activity.models import Activity
from vox_activity.outgoing.delivery import enqueue_due, run_due
from vox_activity.outgoing.sweep import sweep_interval

__all__ = ["Command"]


class Command(BaseCommand):
    help = "Enqueue (or --run) every pending delivery whose next attempt is due."

    def add_arguments(self, parser):
        parser.add_argument("--run", action="store_true", help="attempt them here")
        parser.add_argument(
            "--loop", type=float, metavar="SECONDS", help="repeat every SECONDS"
        )
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, run=False, loop=None, limit=1000, **options):
        while True:
            if run:
                count = run_due(limit)
                self.stdout.write(f"Attempted {count} due deliveries.")
                applied = sum(map(run_pending, self.waiting_senders(limit)))
                self.stdout.write(f"Applied {applied} received activities.")
            else:
                count = enqueue_due(limit)
                self.stdout.write(f"Enqueued {count} due deliveries.")
                senders = sweep_received(timezone.now())
                self.stdout.write(f"Enqueued the inbox task of {senders} senders.")
            if loop is None:
                return
            time.sleep(loop)

    @staticmethod
    def waiting_senders(limit: int) -> list[str]:
        """Senders whose activities waited longer than one sweep interval."""
        before = timezone.now() - sweep_interval()
        waiting = Activity.objects.unprocessed().filter(
            local=False, published__lt=before
        )
        return list(waiting.values_list("actor_iri", flat=True).distinct()[:limit])
