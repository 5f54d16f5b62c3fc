"""The smallest Django settings under which vox_activity imports: for autodoc.

The API reference (``api.rst``) is built from the package's docstrings,
which means importing its modules, and they import Django models.  Nothing
here is used at run time; no database is opened.
"""

SECRET_KEY = "documentation only"  # noqa: S105 (nothing is signed)
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "vox_activity",
    "django_vox",
]
try:  # Django 6 has the task framework built in; 5.2 uses the backport
    import django.tasks  # noqa: F401
except ImportError:
    INSTALLED_APPS.append("django_tasks")
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DJANGO_VOX_BACKENDS = ["vox_activity.backend.Backend"]
SITE_DOMAIN = "example.com"
USE_TZ = True
