"""What an author does on the blog, each followed by its django-vox notification.

A real site would do these in its views; the demo and the end-to-end tests
call them through management commands (``blog_publish``, ``blog_edit``,
``blog_comment``, ``blog_delete_comment``, ``blog_rename``), so that each one
runs in the instance's own process with its own origin.  Each returns what happened: the
object's IRI and the IRI of the activity that the notification became.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.text import slugify
from django_vox.models import Notification

from vox_activity.models import Activity
from vox_activity.profiles import profile_changed
from vox_activity.registry import actor_iri
from vox_activity.site import absolute_iri

from .models import Article, Comment


class ActionError(Exception):
    """The action cannot be done (no such author, article or comment)."""


def notification(model, codename) -> Notification:
    return Notification.objects.get(
        object_type=ContentType.objects.get_for_model(model), codename=codename
    )


def _user(username):
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise ActionError(f"There is no user {username!r} here.") from None


def _article(slug):
    try:
        return Article.objects.select_related("author").get(slug=slug)
    except Article.DoesNotExist:
        raise ActionError(f"There is no article {slug!r} here.") from None


def _result(instance_iri: str, activity_type: str) -> dict:
    """The object's IRI and the newest local activity of that type about it."""
    activity = (
        Activity.objects.filter(local=True, object_iri=instance_iri, type=activity_type)
        .order_by("-pk")
        .first()
    )
    return {
        "object": instance_iri,
        "type": activity_type,
        "activity": activity.iri if activity else None,
    }


def publish_article(author: str, title: str, body: str, slug: str = "") -> dict:
    """A new article by ``author``: a Create to Public and their followers."""
    slug = slug or slugify(title)
    if Article.objects.filter(slug=slug).exists():
        raise ActionError(f"There is already an article {slug!r}.")
    with transaction.atomic():
        article = Article.objects.create(
            author=_user(author), title=title, slug=slug, body=body
        )
    notification(Article, "created").issue(article)
    return {"slug": slug, **_result(_iri(article), "Create")}


def edit_article(slug: str, body: str = "", title: str = "") -> dict:
    """Change an article: an Update carrying the whole new article."""
    article = _article(slug)
    article.body = body or article.body
    article.title = title or article.title
    article.save(update_fields=["body", "title"])
    notification(Article, "updated").issue(article)
    return {"slug": slug, **_result(_iri(article), "Update")}


def post_comment(slug: str, author: str, body: str) -> dict:
    """A comment on an article: a Create of a Note, public."""
    user = _user(author)
    comment = Comment.objects.create(article=_article(slug), author=user, body=body)
    notification(Comment, "created").issue(comment, actor=user)
    return {"id": comment.pk, **_result(_iri(comment), "Create")}


def delete_comment(pk: int) -> dict:
    """Delete a comment: the Delete is issued first, while the row still exists.

    The Delete carries a Tombstone of the comment and is addressed like the
    comment was, so every server that got the comment hears it is gone; from
    then on its IRI answers 410 Gone.
    """
    try:
        comment = Comment.objects.select_related("article").get(pk=pk)
    except Comment.DoesNotExist:
        raise ActionError(f"There is no comment {pk} here.") from None
    iri = _iri(comment)
    notification(Comment, "deleted").issue(comment)
    comment.delete()
    return {"id": pk, **_result(iri, "Delete")}


def rename_author(username: str, name: str) -> dict:
    """Change an author's display name: an Update of the profile to followers."""
    user = _user(username)
    first, _, last = name.partition(" ")
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    profile_changed(user)
    return _result(actor_iri(user), "Update")


def _iri(instance) -> str:
    return absolute_iri(instance.get_absolute_url())
