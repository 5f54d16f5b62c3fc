"""django-vox imports and migrates cleanly on this Django; settings are validated."""

import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from vox_activity import compat
from vox_activity.conf import get_setting


def test_django_vox_modules_import():
    for name in (
        "django_vox.models",
        "django_vox.admin",
        "django_vox.registry",
        "django_vox.views",
        "django_vox.activity_urls",
        "django_vox.backends.activity",
    ):
        importlib.import_module(name)


def test_aliases_point_at_the_modern_names():
    from django.conf import urls
    from django.urls import re_path
    from django.utils import encoding, translation

    assert translation.ugettext_lazy is translation.gettext_lazy
    assert encoding.force_text is encoding.force_str
    assert urls.url is re_path
    compat.install_django_vox_aliases()  # idempotent
    assert urls.url is re_path


def test_no_missing_migrations(db):
    # Raises SystemExit(1) when a model change has no migration, django_vox's included.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_task_framework_is_found():
    module = compat.tasks_module()
    assert hasattr(module, "task")


def test_settings_defaults_and_overrides(settings):
    assert get_setting("PAGE_SIZE") == 20
    settings.VOX_ACTIVITY = {"INBOX_PROCESSING": "sync", "PAGE_SIZE": 7}
    assert get_setting("PAGE_SIZE") == 7


def test_unknown_setting_names_the_known_ones(settings):
    settings.VOX_ACTIVITY = {"PAGE_SIZ": 7}
    with pytest.raises(
        ImproperlyConfigured, match=r"PAGE_SIZ.*Known keys: .*PAGE_SIZE"
    ):
        get_setting("PAGE_SIZE")


def test_settings_must_be_a_dict(settings):
    settings.VOX_ACTIVITY = ["PAGE_SIZE"]
    with pytest.raises(ImproperlyConfigured, match="must be a dict"):
        get_setting("PAGE_SIZE")


def test_a_misspelt_inbox_processing_mode_is_an_error_not_sync(settings):
    settings.VOX_ACTIVITY = {"INBOX_PROCESSING": "tasks"}
    with pytest.raises(
        ImproperlyConfigured, match=r'INBOX_PROCESSING.*"task", "sync".*\'tasks\''
    ):
        get_setting("INBOX_PROCESSING")


def test_the_registration_hook_wraps_add_once_and_registers_as_before(register):
    """A second hook replaces the first; django-vox's add still registers."""
    from django_vox.registry import Registration
    from django_vox.registry import objects as vox_registry

    from testsite.blog.models import Article
    from vox_activity.compat import on_django_vox_registration
    from vox_activity.profiles import _connect_if_actors

    seen: list[tuple[type, object]] = []
    try:
        on_django_vox_registration(lambda model, reg: seen.append(("first", model)))
        on_django_vox_registration(lambda model, reg: seen.append((model, reg)))
        register(Article, Registration, r"^articles/(?P<slug>[-\w]+)/$")
    finally:
        on_django_vox_registration(_connect_if_actors)

    item = vox_registry[Article]
    assert seen == [(Article, item.registration)]
    assert type(item.registration) is Registration
    assert item.pattern == r"^articles/(?P<slug>[-\w]+)/$"
