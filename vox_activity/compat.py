"""Make django-vox 4.0.6 importable on Django >= 4, and pick the task framework.

django-vox 4.0.6 (2019) imports three names that Django 4.0 removed:
``django.utils.translation.ugettext_lazy``, ``django.utils.encoding.force_text``
and ``django.conf.urls.url``.  They were plain aliases of ``gettext_lazy``,
``force_str`` and ``re_path``, so restoring the aliases is enough.  Its app
config also predates ``DEFAULT_AUTO_FIELD``: on a site whose default is
``BigAutoField``, ``makemigrations`` would write a migration into django-vox's
installed package, so we pin the ``AutoField`` its migrations were made with.
Finally its migration 0005 declares the ``Activity.id`` primary key with an
explicit ``serialize=True`` that the model never reports, so ``makemigrations``
always sees a change there; :func:`align_django_vox_migration_state` makes the
model report what the migration says.  With both, ``makemigrations --check`` is
clean on a site using django-vox.  :func:`install_django_vox_aliases` runs
when this app's ``apps`` module is imported, which Django does for every
installed app before it imports any app's models, so the aliases exist before
``django_vox.models`` is imported.  (django-vox's declared dependency on
``august`` is handled at install time instead; see ``requirements/overrides.txt``.)
django-vox's registry has no way to say a model was registered, so
:func:`on_django_vox_registration` adds one to its ``add``.

This is the only module that patches anything outside this package.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = [
    "DJANGO_VOX_ALIASES",
    "align_django_vox_migration_state",
    "install_django_vox_aliases",
    "on_django_vox_registration",
    "tasks_module",
]

#: (module, removed name, replacement name in the same module)
DJANGO_VOX_ALIASES = (
    ("django.utils.translation", "ugettext_lazy", "gettext_lazy"),
    ("django.utils.translation", "ugettext", "gettext"),
    ("django.utils.encoding", "force_text", "force_str"),
    ("django.utils.encoding", "smart_text", "smart_str"),
    ("django.conf.urls", "url", None),  # re_path lives in django.urls
)


def install_django_vox_aliases() -> None:
    """Restore the names django-vox 4.0.6 imports; idempotent, never overwrites."""
    from django.urls import re_path

    for module_name, removed, replacement in DJANGO_VOX_ALIASES:
        module = importlib.import_module(module_name)
        if hasattr(module, removed):
            continue
        target = re_path if replacement is None else getattr(module, replacement)
        setattr(module, removed, target)

    from django_vox.apps import VoxConfig

    VoxConfig.default_auto_field = "django.db.models.AutoField"


def align_django_vox_migration_state() -> None:
    """Make django_vox.Activity's pk deconstruct as its migration declares it.

    Called from ``AppConfig.ready()`` (models are loaded by then).  Only what
    ``makemigrations`` compares changes; the field's behaviour does not.
    """
    from django.apps import apps

    if not apps.is_installed("django_vox"):
        return
    field = apps.get_model("django_vox", "Activity")._meta.pk
    if getattr(field, "_vox_activity_aligned", False):
        return
    original = field.deconstruct

    def deconstruct():
        name, path, args, kwargs = original()
        kwargs["serialize"] = True
        return name, path, args, kwargs

    field.deconstruct = deconstruct
    field._vox_activity_aligned = True


def on_django_vox_registration(callback: Callable[[type, Any], None]) -> None:
    """Call ``callback(model, registration)`` for each model registered later.

    django-vox's registry (``django_vox.registry.objects``, a dict) is filled
    by its ``add`` from any app's ``ready()`` or module, before or after
    this app's; it sends nothing when it is.  So ``add`` of that one object
    (not of its class) is wrapped to call ``callback`` after it.  Models
    already registered are the caller's to walk.  Idempotent: a second call
    replaces the callback rather than wrapping twice.
    """
    from django_vox.registry import objects

    original = getattr(objects.add, "_vox_activity_original", objects.add)

    @functools.wraps(original)
    def add(cls: type, *args: Any, **kwargs: Any) -> Any:
        result = original(cls, *args, **kwargs)
        callback(cls, objects[cls].registration)
        return result

    add._vox_activity_original = original  # type: ignore[attr-defined]
    objects.add = add


def tasks_module() -> ModuleType:
    """``django.tasks`` on Django >= 6.0, else the ``django_tasks`` backport."""
    try:
        return importlib.import_module("django.tasks")
    except ImportError:
        try:
            return importlib.import_module("django_tasks")
        except ImportError as exc:  # pragma: no cover - depends on install
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                "vox_activity needs Django's task framework: upgrade to Django 6, "
                "or `pip install django-tasks` (the backport) on Django 5.2."
            ) from exc
