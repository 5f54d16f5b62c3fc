"""How the notes app describes itself to django-vox, and so to the Fediverse."""

import re

from django.contrib.auth import get_user_model
from django_vox.registry import Notification, objects

from vox_activity.protocol.vocabulary import PUBLIC
from vox_activity.registration import ActivityRegistration, ActorRegistration
from vox_activity.registry import followers_iri

from .models import Note


class PersonVox(ActorRegistration):
    """Every user is an actor, at /~<username>/."""

    def get_activity_name(self, instance):
        return instance.get_full_name() or instance.get_username()


class NoteVox(ActivityRegistration):
    # Declared in code; `manage.py make_notifications` creates its row.
    created = Notification("A note was published.")

    def get_activity_actor(self, instance, notification):
        # "Note created" is a Create by its author, signed with the author's key.
        return instance.author

    def get_activity_addressing(self, instance, notification):
        # Public, and delivered to the author's followers, here and elsewhere.
        return {"to": [PUBLIC], "cc": [followers_iri(instance.author)]}

    def get_activity_tags(self, instance, notification):
        # "#words" in the text become hashtags that other servers link.
        return re.findall(r"#(\w+)", instance.text)


def register():
    objects.add(get_user_model(), PersonVox, regex=r"^~(?P<username>[\w.-]+)/$")
    objects.add(Note, NoteVox, regex=r"^notes/(?P<slug>[-\w]+)/$")
