"""Test settings: the demo blog's settings, on an in-memory or PostgreSQL database."""

import os

import dj_database_url

from testsite.settings import *  # noqa: F403

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
SITE_DOMAIN = "testserver"
SITE_SSL = True
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or "sqlite://:memory:", conn_max_age=0
    )
}
# Tasks run inline, at enqueue time (after commit), unless a test says otherwise.
TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if "django_tasks" not in TASK_APPS  # noqa: F405
            else "django_tasks.backends.immediate.ImmediateBackend"
        )
    }
}
# Rate limiting is tested where it is the subject (tests override it); the
# fuzz tests send hundreds of activities from one "server" in one test.
# Inbox POSTs are applied in the request ("sync"), so tests see their effects
# and precise errors at once; the inbox task is tested where it is the subject
# (tests/test_inbox_task.py) and end to end (the demo's default).
# 1024-bit RSA keys for local actors: a 2048-bit key takes ~0.1 s to make and
# the suite makes hundreds; the demo and the e2e tests use the default 2048.
# Tests that set VOX_ACTIVITY start from SUITE_VOX_ACTIVITY (the inbox applies
# activities in the request, so their effects can be asserted at once).
SUITE_VOX_ACTIVITY = {"INBOX_PROCESSING": "sync", "KEY_SIZE": 1024}
VOX_ACTIVITY = {**SUITE_VOX_ACTIVITY, "INBOX_RATE_LIMIT": None}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
