"""How the blog tells django-vox (and so vox_activity) about its models."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django_vox.registry import Channel, Notification, Registration, objects

from vox_activity.protocol.vocabulary import PUBLIC
from vox_activity.registration import ActivityRegistration, ActorRegistration
from vox_activity.registry import followers_iri

from .models import Article, Comment, Like


class AuthorVox(ActorRegistration):
    """Users are actors at /~<username>/."""

    def get_activity_name(self, instance):
        return instance.get_full_name() or instance.get_username()


class ArticleVox(ActivityRegistration):
    created = Notification(_("An article was published."))
    updated = Notification(_("An article was edited."))

    def get_activity_actor(self, instance, notification):
        # "Article created" is a Create by its author, signed with their key.
        return instance.author

    def get_activity_addressing(self, instance, notification):
        # Articles are public, and go to the author's followers elsewhere.
        return {"to": [PUBLIC], "cc": [followers_iri(instance.author)]}

    def get_channels(self):
        user = get_user_model()
        return {
            "author": Channel(_("Author"), user, lambda article: [article.author]),
            "subscribers": Channel(
                _("Subscribers"),
                user,
                lambda article: user.objects.filter(
                    subscriptions__author_id=article.author_id
                ),
            ),
        }


class CommentVox(ActivityRegistration):
    created = Notification(_("A comment was posted."), actor_type="auth.user")
    deleted = Notification(_("A comment was deleted."))

    def get_activity_actor(self, instance, notification):
        return instance.author

    def get_activity_addressing(self, instance, notification):
        # Comments are public replies: the commenter's followers see them too.
        return {"to": [PUBLIC], "cc": [followers_iri(instance.author)]}

    def get_channels(self):
        user = get_user_model()
        return {
            "article_author": Channel(
                _("Article author"), user, _article_author_unless_self
            ),
        }


def _article_author_unless_self(comment):
    """The article's author, unless they wrote the comment themselves."""
    if comment.article.author_id == comment.author_id:
        return []
    return [comment.article.author]


class LikeVox(Registration):
    liked = Notification(_("Someone liked an article."), actor_type="auth.user")

    def get_activity_object(self, instance, *, codename=None, actor=None, target=None):
        # The object of a Like is the article, not the Like row.
        return instance.article.__activity__()

    def get_channels(self):
        user = get_user_model()
        return {
            "article_author": Channel(
                _("Article author"), user, lambda like: [like.article.author]
            ),
        }


def register():
    objects.add(get_user_model(), AuthorVox, regex=r"^~(?P<username>[\w.@+-]+)/$")
    objects.add(Article, ArticleVox, regex=r"^articles/(?P<slug>[-\w]+)/$")
    objects.add(Comment, CommentVox, regex=r"^comments/(?P<pk>\d+)/$")
    objects.add(Like, LikeVox, regex=None)
