"""Settings of ``bench/throughput.py``: the demo blog's, on the benchmark's database.

The benchmark passes everything in the environment, so that its worker
processes (``db_worker``, ``rqworker``) read the same settings:

* ``VOX_BENCH_DATABASE_URL``: the database (a SQLite file, or a PostgreSQL
  database the benchmark created); testsite/settings.py gives it its usual
  options (SQLite: WAL, IMMEDIATE transactions, a lock timeout; both:
  persistent connections, or PostgreSQL's pool);
* ``TESTSITE_TASKS`` (``db`` or ``rq``, with ``REDIS_URL``), or
  ``VOX_BENCH_TASKS=dummy`` for the phases that only time publishing.
"""

import os

os.environ["DATABASE_URL"] = os.environ["VOX_BENCH_DATABASE_URL"]

from testsite.settings import *  # noqa: F403
from testsite.settings import TASK_APPS, VOX_ACTIVITY

SECRET_KEY = "bench-only-not-secret"  # noqa: S105
DEBUG = False
SITE_DOMAIN = "bench.example"
SITE_SSL = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Workers log each task at INFO: keep only warnings (to their log files).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

if os.environ.get("VOX_BENCH_TASKS") == "dummy":
    TASKS = {
        "default": {
            "BACKEND": (
                "django.tasks.backends.dummy.DummyBackend"
                if "django_tasks" not in TASK_APPS
                else "django_tasks.backends.dummy.DummyBackend"
            )
        }
    }

VOX_ACTIVITY = {**VOX_ACTIVITY, "ALLOW_PRIVATE_ADDRESSES": True}

if os.environ.get("VOX_BENCH_SLOW_SQL"):
    # Diagnostics: VOX_BENCH_SLOW_SQL=<ms> prints every statement slower than
    # that to stderr (the workers' log files), lock waits included.
    import sys
    import time

    from django.db.backends.signals import connection_created

    _SLOW_SECONDS = float(os.environ["VOX_BENCH_SLOW_SQL"]) / 1000

    def _report_slow(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - start
            if seconds > _SLOW_SECONDS:
                print(
                    f"slow SQL, {seconds * 1000:.1f} ms: {sql[:200]}", file=sys.stderr
                )

    def _watch(sender, connection, **kwargs):
        connection.execute_wrappers.append(_report_slow)

    connection_created.connect(_watch)
