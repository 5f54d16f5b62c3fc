"""Benchmark settings: the demo blog's settings on a throw-away SQLite file.

``bench/run.py`` makes a temporary directory and passes the database path in
``VOX_BENCH_DB`` before Django reads these settings.  Both backends run
against the same database; ``run.py`` switches between them at run time.
"""

import os
import tempfile
from pathlib import Path

from testsite.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("VOX_BENCH_DB")
        or str(Path(tempfile.mkdtemp(prefix="vox-bench-")) / "bench.sqlite3"),
    }
}

SECRET_KEY = "bench-only-not-secret"  # noqa: S105
DEBUG = False
SITE_DOMAIN = "testserver"
SITE_SSL = True
ALLOWED_HOSTS = ["testserver"]

# The site's URLs plus django-vox's own activity URLs under /builtin/, so the
# built-in inbox is read through its real view, as vox_activity's is.
ROOT_URLCONF = "bench.urls"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}

# Where run.py starts; it swaps both for the built-in backend's run.
DJANGO_VOX_BACKENDS = ["vox_activity.backend.Backend"]
DJANGO_VOX_ISSUE_METHOD = "vox_activity.issue.issue_now"
# A failed send must stop the benchmark, not become a FailedMessage row.
DJANGO_VOX_THROW_EXCEPTIONS = True

VOX_ACTIVITY = {"PAGE_SIZE": 20}
