"""The notes app: registered with django-vox when Django is ready."""

from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "notes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registrations import models, so they run here, once apps are loaded.
        from . import vox

        vox.register()
