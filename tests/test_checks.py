"""Every system check fires when its mistake is made, and only then."""

import io
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import checks
from django.core.management import call_command
from django.test import override_settings
from django_vox import registry as vox_registry

from vox_activity import checks as vox_checks
from vox_activity.registration import ActorRegistration

CORRECT_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "vox_activity",
    "django_vox",
    "testsite.blog",
]


def ids(messages):
    return sorted(message.id for message in messages)


def test_the_demo_site_is_clean():
    assert ids(checks.run_checks(tags=[checks.Tags.compatibility])) == []


def test_app_order_error_says_what_to_move():
    apps = [a for a in CORRECT_APPS if a != "vox_activity"]
    apps.insert(apps.index("django_vox") + 1, "vox_activity")
    with override_settings(INSTALLED_APPS=apps):
        (error,) = vox_checks.check_app_order()
    assert error.id == "vox_activity.E002"
    assert 'Move "vox_activity" above "django_vox"' in error.hint


def test_missing_django_vox():
    apps = [a for a in CORRECT_APPS if a not in ("django_vox", "testsite.blog")]
    with override_settings(INSTALLED_APPS=apps):
        assert ids(vox_checks.check_app_order()) == ["vox_activity.E001"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DJANGO_VOX_BACKENDS": []}, ["vox_activity.W001"]),
        (
            {
                "DJANGO_VOX_BACKENDS": [
                    "vox_activity.backend.Backend",
                    "django_vox.backends.activity.Backend",
                ]
            },
            ["vox_activity.W002"],
        ),
        ({"MIDDLEWARE": []}, ["vox_activity.W003"]),
        ({"DJANGO_VOX_ISSUE_METHOD": None}, ["vox_activity.W004"]),
        (
            {"DJANGO_VOX_ISSUE_METHOD": "django_vox.models.Notification.issue_now"},
            ["vox_activity.W004"],
        ),
    ],
)
def test_backend_middleware_and_issue_method_warnings(overrides, expected):
    with override_settings(**overrides):
        assert ids(vox_checks.check_backend_and_middleware()) == expected


def test_site_domain_errors():
    with override_settings(SITE_DOMAIN=None):
        (error,) = vox_checks.check_site_domain()
    assert error.id == "vox_activity.E005"
    assert "SITE_DOMAIN" in error.hint
    with override_settings(
        INSTALLED_APPS=[*CORRECT_APPS, "django.contrib.sites"], SITE_ID=None
    ):
        assert ids(vox_checks.check_site_domain()) == ["vox_activity.E004"]
    with override_settings(
        INSTALLED_APPS=[*CORRECT_APPS, "django.contrib.sites"], SITE_ID=1
    ):
        assert vox_checks.check_site_domain() == []


# --- URLs, actor registrations, usernames ----------------------------------------

#: This module is also a URLconf without vox_activity's URLs (for E006).
urlpatterns: list = []


@contextmanager
def registered(changes: dict):
    """The django-vox registry with ``changes`` ({model: item or None}) applied."""
    saved = dict(vox_registry.objects)
    for model, item in changes.items():
        if item is None:
            vox_registry.objects.pop(model, None)
        else:
            vox_registry.objects[model] = item
    try:
        yield
    finally:
        vox_registry.objects.clear()
        vox_registry.objects.update(saved)


def actor_item(model, regex: str) -> vox_registry.ObjectManagerItem:
    item = vox_registry.ObjectManagerItem(model, ActorRegistration(model))
    item.set_regex(regex)
    return item


def vox_ids(messages) -> list[str]:
    return ids(m for m in messages if m.id.startswith("vox_activity."))


def test_the_demo_site_is_clean_for_urls_and_the_database(db):
    assert vox_ids(checks.run_checks(tags=[checks.Tags.urls])) == []
    found = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    assert vox_ids(found) == []


def test_urls_not_included_is_e006():
    with override_settings(ROOT_URLCONF=__name__):
        (error,) = vox_checks.check_urls()
    assert error.id == "vox_activity.E006"
    assert 'include("vox_activity.urls")' in error.hint
    assert vox_checks.check_urls() == []


def test_no_actor_registered_is_w005():
    user = get_user_model()
    with registered({user: None}):
        found = vox_checks.check_actor_registrations()
    assert ids(found) == ["vox_activity.W005"]
    assert "objects.add(User" in found[0].hint
    assert vox_checks.check_actor_registrations() == []


@pytest.mark.parametrize(
    ("regex", "problem"),
    [
        (r"^groups/(\w+)/$", "unnamed groups"),
        (r"^groups/(?P<name>\w+)/(\d+)/$", "unnamed groups"),
        (r"^the-group/$", "no named group"),
    ],
)
def test_an_actor_regex_that_cannot_be_reversed_is_e007(regex, problem):
    with registered({Group: actor_item(Group, regex)}):
        found = vox_checks.check_actor_registrations()
    (error,) = found
    assert error.id == "vox_activity.E007"
    assert error.obj is Group
    assert problem in error.msg
    with registered({Group: actor_item(Group, r"^groups/(?P<name>[\w.-]+)/$")}):
        assert vox_checks.check_actor_registrations() == []


def run_check_command(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("check", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_unfederatable_usernames_are_w006_with_check_database(make_user):
    make_user("alice")
    make_user("admin@other.example")
    output = run_check_command("--database", "default")
    assert "vox_activity.W006" in output
    assert "'admin@other.example'" in output
    assert "'alice'" not in output
    # Database checks only run when asked for.
    assert "vox_activity.W006" not in run_check_command()


def test_federatable_usernames_raise_no_w006(make_user):
    make_user("alice")
    make_user("bob.smith")
    assert "vox_activity.W006" not in run_check_command("--database", "default")
