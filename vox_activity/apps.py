"""App configuration: installs the django-vox compatibility aliases and checks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vox_activity.compat import (
    align_django_vox_migration_state,
    install_django_vox_aliases,
)

__all__ = ["VoxActivityConfig"]

# Runs when Django imports this module, which happens for every installed app
# before any app's models are imported, so django_vox.models finds the aliases.
install_django_vox_aliases()


class VoxActivityConfig(AppConfig):
    name = "vox_activity"
    verbose_name = _("ActivityPub")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which
        # the app registry only allows once apps are ready.
        from vox_activity import checks  # noqa: F401  (registers the checks)
        from vox_activity.incoming import tasks  # noqa: F401  (its sweeper)
        from vox_activity.profiles import connect_actor_deletions

        align_django_vox_migration_state()
        # Deleting a local actor tells the servers that know it, and takes
        # its inbox along (profiles.py); each actor model, registered before
        # or after this runs.
        connect_actor_deletions()
