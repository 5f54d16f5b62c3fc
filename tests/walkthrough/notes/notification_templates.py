"""The notification's template for the ActivityPub backend, made in code.

Run once, after ``manage.py make_notifications`` (a data migration, a
management command or a ``post_migrate`` receiver are all fine places).  The
same template can be made by hand in django-vox's admin instead.
"""

from django_vox.models import Template

from .models import Note
from .vox import NoteVox


def create_activity_templates():
    notification = NoteVox.created.get_notification(Note)
    Template.objects.get_or_create(
        notification=notification,
        backend="activity",  # vox_activity's backend
        defaults={
            "subject": "{{ object.author.get_username }} wrote a note",  # name
            "content": "{{ object.text|truncatewords:20 }}",  # summary
            # No recipients: the registration's addressing says who gets it
            # (the author's followers, local and remote).
            "recipients": "",
            "bulk": True,  # one activity for everyone
        },
    )
