"""App configuration: installs the django-vox compatibility aliases and checks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vox_activity.compat import (
    align_django_vox_migration_state,
    install_django_vox_aliases,
)

# Runs when Django imports this module, which happens for every installed app
# before any app's models are imported, so django_vox.models finds the aliases.
install_django_vox_aliases()


class VoxActivityConfig(AppConfig):
    name = "vox_activity"
    verbose_name = _("ActivityPub")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        align_django_vox_migration_state()
