"""System checks: mistakes in wiring vox_activity, each with the fix.

Every id is documented in docs/checks.rst.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import DatabaseError, router
from django.urls import NoReverseMatch, reverse

from vox_activity.protocol.usernames import username_problem
from vox_activity.registration import hook
from vox_activity.registry import actor_models, federated_username, registration_for

__all__ = [
    "check_actor_registrations",
    "check_app_order",
    "check_backend_and_middleware",
    "check_site_domain",
    "check_urls",
    "check_usernames",
]

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


@checks.register(checks.Tags.urls)
def check_urls(app_configs=None, **kwargs):
    """``vox_activity.urls`` must be included: activity IRIs are reversed from it."""
    try:
        reverse("vox_activity:shared-inbox")
    except NoReverseMatch:
        return [
            checks.Error(
                "vox_activity's URLs are not included, so activities have no IRIs "
                "and the shared inbox, WebFinger and NodeInfo are not served.",
                hint='Add path("", include("vox_activity.urls")) to the root '
                "URLconf (at the site's root: /.well-known/ must be reachable).",
                id="vox_activity.E006",
            )
        ]
    return []


@checks.register(checks.Tags.compatibility)
def check_actor_registrations(app_configs=None, **kwargs):
    """At least one actor model, and every actor regex reversible."""
    found: list[checks.CheckMessage] = []
    models = actor_models()
    if not models:
        found.append(
            checks.Warning(
                "No model is registered as an actor, so nothing can send or "
                "receive activities.",
                hint="Register one in an AppConfig.ready(): objects.add(User, "
                'ActorRegistration, regex=r"^~(?P<username>[\\w.-]+)/$") '
                "(see docs/actors.rst).",
                id="vox_activity.W005",
            )
        )
    for model, item in models:
        problem = _irreversible(item)
        if problem:
            found.append(
                checks.Error(
                    f"The URL regex of {model._meta.label} cannot be reversed "
                    f"into actor IRIs: {problem}",
                    hint='Use only named groups, e.g. r"^~(?P<username>[\\w.-]+)/$", '
                    "each naming a field of the model.",
                    obj=model,
                    id="vox_activity.E007",
                )
            )
    return found


def _irreversible(item) -> str:
    """Why a registry item's regex cannot give actor paths ('' if it can)."""
    pattern = item.matcher.regex
    if pattern.groups != len(pattern.groupindex):
        return "it has unnamed groups."
    if not pattern.groupindex:
        return "it has no named group to fill in."
    return ""


@checks.register(checks.Tags.database)
def check_usernames(app_configs=None, databases=None, **kwargs):
    """Actors whose usernames other servers cannot use (``check --database``).

    As Django asks of database checks, only the databases named in
    ``databases`` are read, and none when it is None (a plain ``check``).
    """
    found: list[checks.CheckMessage] = []
    for model, _item in actor_models():
        alias = router.db_for_read(model)
        if alias not in (databases or ()):
            continue
        try:
            rows = list(model._default_manager.using(alias)[:USERNAME_CHECK_LIMIT])
        except DatabaseError:  # not migrated yet: nothing to check
            continue
        bad = [row for row in rows if federated_username(row) is None]
        if not bad:
            continue
        username = hook(registration_for(bad[0]), "get_activity_username")
        examples = ", ".join(repr(str(username(row))) for row in bad[:3])
        found.append(
            checks.Warning(
                f"{len(bad)} {model._meta.verbose_name_plural} have usernames other "
                f"servers cannot use, e.g. {examples}: "
                f"{username_problem(str(username(bad[0])))}  They are not federated.",
                hint="Map them to federatable names in the registration's "
                "get_activity_username() (and back in get_activity_actor_by_"
                "username()), or rename them (docs/actors.rst).",
                obj=model,
                id="vox_activity.W006",
            )
        )
    return found


#: Rows per actor model the username check reads.
USERNAME_CHECK_LIMIT = 10_000
