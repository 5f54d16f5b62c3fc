"""Settings of the demo blog: wired exactly as a site using vox_activity is.

The origin comes from the environment so that two instances can run side by
side (``TESTSITE_DOMAIN=127.0.0.1:8002``); each gets its own SQLite file.
"""

import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
INSTANCE = os.environ.get("TESTSITE_INSTANCE", "default")

SECRET_KEY = os.environ.get("TESTSITE_SECRET_KEY", "demo-only-not-secret")
# Off by default: a visitor of the demo gets the blog's error pages, never
# Django's debug pages (TESTSITE_DEBUG=1 to develop).
DEBUG = os.environ.get("TESTSITE_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "testsite.urls"
WSGI_APPLICATION = "testsite.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
# The blog's own login page: demo users are not staff (only ``admin`` is).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

if INSTANCE != "default":
    # Browsers share cookies between ports of one host: alpha (127.0.0.1:8001)
    # and beta (127.0.0.1:8002) must not log each other's users out.
    SESSION_COOKIE_NAME = f"sessionid_{INSTANCE}"
    CSRF_COOKIE_NAME = f"csrftoken_{INSTANCE}"

# The demo's beta instance suggests following alice on alpha (demo.py sets
# this to alice's address there).
DEMO_FOLLOW_HINT = os.environ.get("TESTSITE_FOLLOW_HINT", "")

# The site's public origin, used for every ActivityPub IRI.
SITE_DOMAIN = os.environ.get("TESTSITE_DOMAIN", "127.0.0.1:8000")
SITE_SSL = os.environ.get("TESTSITE_SSL", "0") == "1"

try:  # Django 6 has the task framework built in; 5.2 uses the backport.
    import django.tasks  # noqa: F401

    TASK_APPS = ["django_tasks_db"]
except ImportError:
    TASK_APPS = ["django_tasks", "django_tasks_db"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "vox_activity",  # before django_vox
    "django_vox",
    *TASK_APPS,
    "testsite.blog",
]

# Deliveries run as Django tasks.  TESTSITE_TASKS picks where:
# - "db" (the default): the database-backed worker, `manage.py db_worker`;
# - "rq": RQ workers with Redis (REDIS_URL, one database per instance),
#   `manage.py rqworker default --with-scheduler --job-class django_tasks_rq.Job
#   --worker-class rq.worker.SimpleWorker`.
TESTSITE_TASKS = os.environ.get("TESTSITE_TASKS", "db")
if TESTSITE_TASKS == "db":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TESTSITE_TASKS == "rq":
    if not os.environ.get("REDIS_URL"):
        raise ValueError("TESTSITE_TASKS=rq needs REDIS_URL=redis://host:port/db")
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": os.environ["REDIS_URL"]}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    raise ValueError(f"TESTSITE_TASKS must be db or rq, not {TESTSITE_TASKS!r}")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "vox_activity.middleware.ActivityPubMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # testsite/templates overrides apps' templates (vox_activity/error.html).
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "testsite.blog.context.inbox",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL")
        or f"sqlite:///{BASE_DIR.parent / '.venvs' / f'testsite-{INSTANCE}.sqlite3'}"
    )
}
# Persistent connections: a web thread or a task worker keeps its connection
# instead of opening one per request or per task (the workers close "old"
# connections after every task, which with the default CONN_MAX_AGE = 0 means
# every connection).  On PostgreSQL, Django's connection pool when psycopg's
# pool is installed (then CONN_MAX_AGE must stay 0), else persistent
# connections.  See docs/deployment.rst.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    try:
        import psycopg_pool  # noqa: F401

        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": 8,
        }
    except ImportError:
        DATABASES["default"]["CONN_MAX_AGE"] = 600
else:
    DATABASES["default"]["CONN_MAX_AGE"] = None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Each instance is a web server (several threads) and a task worker writing
    # to one SQLite file: take the write lock when a transaction begins (no
    # "database is locked" on lock upgrades), wait for it instead of failing,
    # and let readers and the writer work side by side (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )

# django-vox: our backend, and our linear-time issue path.
DJANGO_VOX_BACKENDS = ["vox_activity.backend.Backend"]
DJANGO_VOX_ISSUE_METHOD = "vox_activity.issue.issue_now"

VOX_ACTIVITY = {
    "PAGE_SIZE": 20,
    # The demo's instances talk to each other on 127.0.0.1; never in production.
    "ALLOW_PRIVATE_ADDRESSES": os.environ.get("TESTSITE_ALLOW_PRIVATE", "1") == "1",
    # More settings as JSON, for tests that run instances as processes
    # (short claim timeouts, say): TESTSITE_VOX_ACTIVITY='{"...": ...}'.
    **json.loads(os.environ.get("TESTSITE_VOX_ACTIVITY") or "{}"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"vox_activity": {"handlers": ["console"], "level": "INFO"}},
}
