"""The walk-through site's settings for a test run: only what a test must change.

An in-memory database (the scenario runs ``migrate`` itself), outbound
requests allowed to loopback (the fake remote servers of ``tests/fediverse.py``
listen on 127.0.0.1), and tasks run at once (no worker process).
"""

from mysite.settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
VOX_ACTIVITY = {**VOX_ACTIVITY, "ALLOW_PRIVATE_ADDRESSES": True}  # noqa: F405
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if "django_tasks" in INSTALLED_APPS  # noqa: F405
            else "django.tasks.backends.immediate.ImmediateBackend"
        )
    }
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
