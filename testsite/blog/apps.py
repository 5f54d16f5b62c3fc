from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "testsite.blog"
    label = "blog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import vox

        vox.register()
        post_migrate.connect(_make_notifications, sender=self)


def _make_notifications(using, verbosity=1, **kwargs):
    """Keep django-vox's Notification rows in step with the code, after migrate."""
    from django_vox.management.commands.make_notifications import make_notifications

    make_notifications(verbosity=verbosity, using=using)
