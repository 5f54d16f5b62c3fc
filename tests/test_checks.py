"""Every system check fires when its mistake is made, and only then."""

import pytest
from django.core import checks
from django.test import override_settings

from vox_activity import checks as vox_checks

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
