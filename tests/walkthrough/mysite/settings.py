"""Settings of the walk-through's site (docs/integrate.rst shows the marked parts).

A project as ``django-admin startproject`` makes it, trimmed, plus what
vox_activity needs.  ``tests/walkthrough/suite_settings.py`` changes only what
a test run must (an in-memory database, fake servers on loopback).
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "walkthrough-only-not-secret"
DEBUG = False
ROOT_URLCONF = "mysite.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# [integrate: apps]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",  # required: inbox owners are generic
    "django.contrib.sessions",
    "django.contrib.messages",
    "vox_activity",  # before django_vox
    "django_vox",
    "notes",
]
try:  # Django 6 has the task framework built in ...
    import django.tasks  # noqa: F401
except ImportError:  # ... Django 5.2 uses the django-tasks backport
    INSTALLED_APPS.append("django_tasks")
# [end: apps]

# [integrate: middleware]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After AuthenticationMiddleware: inboxes and outboxes check request.user.
    "vox_activity.middleware.ActivityPubMiddleware",
]
# [end: middleware]

# [integrate: vox]
# django-vox: our backend (list your other backends too), and the linear
# issue path instead of django-vox's quadratic one.
DJANGO_VOX_BACKENDS = ["vox_activity.backend.Backend"]
DJANGO_VOX_ISSUE_METHOD = "vox_activity.issue.issue_now"

# The public origin every IRI is built with (or django.contrib.sites + SITE_ID).
SITE_DOMAIN = "notes.example"
SITE_SSL = True
ALLOWED_HOSTS = [SITE_DOMAIN]

# vox_activity's own settings: the defaults are production-ready
# (docs/settings.rst lists every key).
VOX_ACTIVITY = {}
# [end: vox]
