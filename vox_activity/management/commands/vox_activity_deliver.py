"""Enqueue (or run) the deliveries whose next attempt is due.

Run it from cron or a scheduler every minute when the task backend cannot
defer tasks (the immediate backend), and once after a worker outage in any
case; ``--loop`` keeps it running.  ``--run`` attempts deliveries right here
instead of enqueueing them (handy with no worker at all).
"""

import time

from django.core.management.base import BaseCommand

from vox_activity.models import Delivery
from vox_activity.outgoing.delivery import attempt_delivery, enqueue_due

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
                due = Delivery.objects.due().values_list("pk", flat=True)[:limit]
                states = [attempt_delivery(pk) for pk in due]
                self.stdout.write(f"Attempted {len(states)} due deliveries.")
            else:
                count = enqueue_due(limit)
                self.stdout.write(f"Enqueued {count} due deliveries.")
            if loop is None:
                return
            time.sleep(loop)
