"""A small blog: authors (users) write articles, readers comment, like and subscribe."""

import aspy
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from vox_activity.registry import actor_iri
from vox_activity.site import absolute_iri


class Article(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="articles"
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    body = models.TextField()
    published = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.title

    def __activity__(self):
        iri = absolute_iri(self.get_absolute_url())
        return aspy.Article(
            id=iri,
            name=self.title,
            content=self.body,
            url=iri,
            attributed_to=actor_iri(self.author),
            published=self.published,
        )

    def get_absolute_url(self):
        return reverse("article", args=[self.slug])


class Comment(models.Model):
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Comment by {self.author} on {self.article}"

    def __activity__(self):
        return aspy.Note(
            id=absolute_iri(self.get_absolute_url()),
            content=self.body,
            attributed_to=actor_iri(self.author),
            in_reply_to=absolute_iri(self.article.get_absolute_url()),
            published=self.created,
        )

    def get_absolute_url(self):
        # A path of its own, not a #fragment of the article's: the comment's IRI
        # must be fetchable by itself (and answer 410 Gone once it is deleted).
        return reverse("comment", args=[self.pk])


class Subscription(models.Model):
    """``subscriber`` wants notifications about ``author``'s articles."""

    subscriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscribers"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "author"], name="blog_unique_subscription"
            )
        ]

    def __str__(self):
        return f"{self.subscriber} → {self.author}"


class Like(models.Model):
    """A reader liked an article; the author hears of it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes"
    )
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="likes")

    def __str__(self):
        return f"{self.user} likes {self.article}"
