"""System checks: mistakes in wiring vox_activity, each with the fix.

Every id is documented in docs/checks.rst.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core import checks

BACKEND_PATH = "vox_activity.backend.Backend"
MIDDLEWARE_PATH = "vox_activity.middleware.ActivityPubMiddleware"
ISSUE_METHOD = "vox_activity.issue.issue_now"


@checks.register(checks.Tags.compatibility)
def check_app_order(app_configs=None, **kwargs):
    names = [config.name for config in apps.get_app_configs()]
    errors = []
    if "django_vox" not in names:
        errors.append(
            checks.Error(
                "vox_activity needs django_vox in INSTALLED_APPS.",
                hint='Add "django_vox" to INSTALLED_APPS, after "vox_activity".',
                id="vox_activity.E001",
            )
        )
    elif names.index("vox_activity") > names.index("django_vox"):
        errors.append(
            checks.Error(
                '"vox_activity" is listed after "django_vox" in INSTALLED_APPS.',
                hint=(
                    'Move "vox_activity" above "django_vox" (and above any app '
                    "that imports django_vox while loading), so its compatibility "
                    "aliases are installed before django_vox is imported."
                ),
                id="vox_activity.E002",
            )
        )
    if not apps.is_installed("django.contrib.contenttypes"):
        errors.append(
            checks.Error(
                "vox_activity needs django.contrib.contenttypes.",
                hint='Add "django.contrib.contenttypes" to INSTALLED_APPS.',
                id="vox_activity.E003",
            )
        )
    return errors


@checks.register(checks.Tags.compatibility)
def check_backend_and_middleware(app_configs=None, **kwargs):
    warnings = []
    backends = getattr(settings, "DJANGO_VOX_BACKENDS", None) or []
    if BACKEND_PATH not in backends:
        warnings.append(
            checks.Warning(
                "The vox_activity backend is not in DJANGO_VOX_BACKENDS, so no "
                "notification becomes an activity.",
                hint=f'Add "{BACKEND_PATH}" to DJANGO_VOX_BACKENDS.',
                id="vox_activity.W001",
            )
        )
    if "django_vox.backends.activity.Backend" in backends:
        warnings.append(
            checks.Warning(
                "django-vox's built-in activity backend is enabled as well; both "
                "use the backend id 'activity' and only one can be loaded.",
                hint='Remove "django_vox.backends.activity.Backend" from '
                "DJANGO_VOX_BACKENDS.",
                id="vox_activity.W002",
            )
        )
    if MIDDLEWARE_PATH not in (getattr(settings, "MIDDLEWARE", None) or []):
        warnings.append(
            checks.Warning(
                "ActivityPubMiddleware is not in MIDDLEWARE, so actor documents, "
                "inboxes and outboxes are not served.",
                hint=f'Add "{MIDDLEWARE_PATH}" to MIDDLEWARE (after '
                "AuthenticationMiddleware).",
                id="vox_activity.W003",
            )
        )
    if getattr(settings, "DJANGO_VOX_ISSUE_METHOD", None) in (
        None,
        "django_vox.models.Notification.issue_now",
    ):
        warnings.append(
            checks.Warning(
                "django-vox's default issue path takes time quadratic in the "
                "number of recipients (about a minute for 10,000).",
                hint=f'Set DJANGO_VOX_ISSUE_METHOD = "{ISSUE_METHOD}" (same '
                "behaviour, linear time), or a background variant that calls it.",
                id="vox_activity.W004",
            )
        )
    return warnings


@checks.register(checks.Tags.compatibility)
def check_site_domain(app_configs=None, **kwargs):
    if apps.is_installed("django.contrib.sites"):
        if not getattr(settings, "SITE_ID", None):
            return [
                checks.Error(
                    "django.contrib.sites is installed but SITE_ID is not set, so "
                    "vox_activity cannot build absolute IRIs.",
                    hint="Set SITE_ID, or remove django.contrib.sites and set "
                    "SITE_DOMAIN (and SITE_SSL).",
                    id="vox_activity.E004",
                )
            ]
        return []
    if not getattr(settings, "SITE_DOMAIN", None):
        return [
            checks.Error(
                "vox_activity cannot tell this site's domain.",
                hint='Set SITE_DOMAIN = "example.com" (and SITE_SSL = False only '
                "for plain-HTTP development), or install django.contrib.sites.",
                id="vox_activity.E005",
            )
        ]
    return []
