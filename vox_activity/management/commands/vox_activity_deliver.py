"""Queue (or run) the deliveries whose next attempt is due.

The sweep task (:mod:`vox_activity.outgoing.sweep`) does this by itself on a
task backend that can defer tasks.  Run this command every half minute
(``--loop 30``, cron, a timer) when the backend cannot (the immediate
backend), and once whenever you want due rows queued right now.  ``--run``
attempts deliveries right here instead of enqueueing them (handy with no
worker at all).  Rows a queued task or an attempt holds are not due: the
command never queues a delivery twice.
"""

import time

from django.core.management.base import BaseCommand

from vox_activity.outgoing.delivery import enqueue_due, run_due

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
            else:
                count = enqueue_due(limit)
                self.stdout.write(f"Enqueued {count} due deliveries.")
            if loop is None:
                return
            time.sleep(loop)
