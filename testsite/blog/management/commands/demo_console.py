"""``manage.py demo_console``: run management commands sent on stdin, quickly.

For the demo and the end-to-end tests, which run many small commands on an
instance (``demo_state`` to watch it, ``blog_publish`` and friends to act):
starting Python and Django for each costs about a second, this process pays
it once.  It reads one JSON array of arguments per line, runs
``call_command(*args)``, and answers one JSON object per line:
``{"status": 0, "output": "..."}``, or status 1 with the ``error``.  It ends
at end of input.  Anything else written to stdout (a stray print) goes to
stderr, so the answers stay parseable.
"""

import io
import json
import os
import sys
import traceback

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, reset_queries


def run(args) -> dict:
    output = io.StringIO()
    try:
        call_command(*args, stdout=output)
    except CommandError as exc:
        return {"status": 1, "output": output.getvalue(), "error": str(exc)}
    except Exception:  # reported to the caller, who decides
        return {
            "status": 1,
            "output": output.getvalue(),
            "error": traceback.format_exc(),
        }
    finally:
        reset_queries()
        close_old_connections()
    return {"status": 0, "output": output.getvalue()}


class Command(BaseCommand):
    help = "Run management commands read as JSON lines from stdin (demo, tests)."

    def handle(self, *args, **options):
        answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        sys.stdout = sys.stderr
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                if not isinstance(request, list):
                    raise ValueError("send a JSON array of arguments")
                answer = run([str(arg) for arg in request])
            except ValueError as exc:
                answer = {"status": 1, "output": "", "error": f"bad request: {exc}"}
            answers.write(json.dumps(answer) + "\n")
            answers.flush()
