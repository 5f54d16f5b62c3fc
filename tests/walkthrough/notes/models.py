"""A note: a few words by one person, with a page of its own."""

import aspy
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import linebreaks

from vox_activity.registry import actor_iri
from vox_activity.site import absolute_iri


class Note(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes"
    )
    slug = models.SlugField(unique=True)
    text = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.slug

    def __activity__(self):
        """The note as ActivityStreams: its IRI is its page's absolute URL."""
        return aspy.Note(
            id=absolute_iri(self.get_absolute_url()),
            content=linebreaks(self.text, autoescape=True),  # HTML, escaped
            attributed_to=actor_iri(self.author),
            published=self.created,
        )

    def get_absolute_url(self):
        return reverse("note", args=[self.slug])
