"""Settings of ``bench/federation.py``: bench/settings.py, federating on 127.0.0.1.

Same throw-away SQLite file (``VOX_BENCH_DB``) as the other benchmark, plus:

* the SQLite connection options that testsite/settings.py gives a SQLite
  database (lock timeout, transaction mode, journal...), so that the
  benchmark's threads and the testsite server of the inbox phase, which share
  the file, use the same ones (a 30 s lock timeout if it gives none);
* deliveries may go to 127.0.0.1 (the fake inboxes are loopback servers);
* tasks are only recorded, never run (the dummy backend): the benchmark
  attempts the deliveries itself, so that it can time them.

``federation.py`` removes ``DATABASE_URL`` from the environment first, so the
testsite's settings describe their default SQLite database here.
"""

from bench.settings import *  # noqa: F403
from testsite import settings as site_settings

_site_db = site_settings.DATABASES["default"]
_site_options = (
    _site_db.get("OPTIONS") or {}
    if _site_db["ENGINE"] == "django.db.backends.sqlite3"
    else {}
)
DATABASES["default"]["OPTIONS"] = {"timeout": 30, **_site_options}  # noqa: F405
ROOT_URLCONF = "testsite.urls"

TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.dummy.DummyBackend"
            if "django_tasks" not in TASK_APPS  # noqa: F405
            else "django_tasks.backends.dummy.DummyBackend"
        )
    }
}

VOX_ACTIVITY = {"PAGE_SIZE": 20, "ALLOW_PRIVATE_ADDRESSES": True}
