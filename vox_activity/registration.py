"""Registration hooks: how models appear in activities, and which are actors.

Actors are registered the django-vox way::

    from django_vox.registry import objects
    from vox_activity.registration import ActorRegistration

    class UserVox(ActorRegistration):
        ...

    objects.add(User, UserVox, regex=r"^~(?P<username>\\w+)/$")

:class:`ActorRegistration` is a django-vox ``Registration`` whose hooks all have
working defaults.  A plain ``django_vox.registry.Registration`` works too, as
long as ``has_activity_endpoint()`` returns True: vox_activity looks each hook
up on the site's registration first and falls back to the defaults below, so
a site overrides only what it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

from django.db.models import Model
from django_vox.registry import Channel, Registration, objects, provides_contacts

from vox_activity.site import absolute_iri, url_path

__all__ = [
    "ActivityRegistration",
    "Actor",
    "ActorAddress",
    "ActorRegistration",
    "hook",
]

#: A local actor: an instance of a model registered with django-vox whose
#: registration's ``has_activity_endpoint()`` is true (users, groups,
#: projects...).  Any model can be one, so the type is :class:`Model`.
Actor: TypeAlias = Model


class ActorAddress(str):
    """An actor IRI that still knows the instance it was made from.

    :class:`~vox_activity.registration.ActorRegistration` yields these as
    django-vox contacts.  They travel through django-vox as plain strings,
    and :func:`resolve_local_actors` takes the instance from them instead of
    parsing the IRI and querying the database again for every recipient.
    """

    __slots__ = ("actor",)
    actor: Actor

    def __new__(cls, iri: str, actor: Actor) -> ActorAddress:
        address = super().__new__(cls, iri)
        address.actor = actor
        return address


class ActivityRegistration(Registration):
    """Hooks for any model that notifications are about (the activity's object).

    Both are optional; these defaults add nothing.
    """

    def get_activity_actor(self, instance: Any, notification: Any) -> Any | None:
        """Who did it, when ``issue()`` was given no ``actor``.

        Return a model instance (a local actor becomes its IRI) or None.  A blog
        would return the article's author, so that "article created" is a
        Create by its author, signed with the author's key.
        """
        return None

    def get_activity_addressing(
        self, instance: Any, notification: Any
    ) -> dict[str, list[str]]:
        """Extra ``to``/``cc`` addresses for activities about ``instance``.

        Notification recipients are always addressed; this adds audiences no
        contact stands for, e.g. a public article::

            from vox_activity.protocol.vocabulary import PUBLIC
            from vox_activity.registry import followers_iri

            return {"to": [PUBLIC], "cc": [followers_iri(instance.author)]}

        Every address is delivered to: local actors get an inbox item, a local
        actor's followers collection means its remote followers, Public puts
        the activity in the actor's outbox.
        """
        return {}

    def get_activity_tags(self, instance: Any, notification: Any) -> list[Any]:
        """Hashtags (names, ``"#django"`` or ``"django"``) or tag objects.

        They become ``Hashtag`` entries of the object's ``tag``, which
        Mastodon links and indexes.  Mentions of addressed actors are added
        by vox_activity itself.  Default: none.
        """
        return []

    def get_activity_in_reply_to(self, instance: Any, notification: Any) -> Any:
        """What the object replies to: an IRI or a model instance; default None."""
        return None

    def get_activity_content_warning(
        self, instance: Any, notification: Any
    ) -> str | None:
        """A content warning: the object gets it as ``summary`` and
        ``sensitive: true``, which Mastodon shows as a spoiler.  Default None.
        """
        return None


class ActorRegistration(ActivityRegistration):
    """A django-vox registration for models whose instances are actors."""

    #: ``type`` of the actor document unless :meth:`get_activity_actor_type`
    #: says otherwise.
    activity_actor_type = "Person"

    def has_activity_endpoint(self, instance: Any) -> bool:
        """True: every instance is an actor (return False to hide some)."""
        return True

    def get_channels(self) -> dict[str, Channel]:
        """An actor can be a recipient as itself: as object, actor or target.

        This is the channel django-vox templates name ``c``, ``se`` or ``re``.
        Subclasses that add channels should include this one.
        """
        return {"": Channel.self(self)}

    @provides_contacts("activity")
    def activity_contacts(self, instance: Any, notification: Any) -> Iterator[str]:
        """Notifications for this actor go to its inbox: yield its actor IRI."""
        # Runs once per recipient of every notification: one registry lookup.
        if instance.pk is None or not self.has_activity_endpoint(instance):
            return
        item = objects.get(instance.__class__)
        if item is not None and item.has_url:
            yield ActorAddress(absolute_iri(url_path(item.reverse(instance))), instance)

    def get_activity_actor_type(self, instance: Any) -> str:
        return getattr(self, "activity_actor_type", "Person")

    def get_activity_username(self, instance: Any) -> str:
        """``preferredUsername`` (and, later, the WebFinger name).

        Default: ``get_username()`` if the model has it (Django users), else
        the single value captured by the registration's URL regex, else the pk.
        """
        if hasattr(instance, "get_username"):
            return str(instance.get_username())
        item = objects.get(instance.__class__)
        params = list(item.reverse_params) if item is not None and item.has_url else []
        if len(params) == 1:
            return str(getattr(instance, params[0], instance.pk))
        return str(instance.pk)

    def get_activity_name(self, instance: Any) -> str:
        """The actor's display ``name``; default ``str(instance)``."""
        return str(instance)

    def get_activity_summary(self, instance: Any) -> str | None:
        """The actor's bio (``summary``, HTML), or None; default None."""
        return None

    def get_activity_icon(self, instance: Any) -> str | None:
        """The URL (or site path) of the actor's avatar (``icon``); default None."""
        return None

    def get_activity_url(self, instance: Any) -> str | None:
        """The actor's human-readable page (``url``); default get_absolute_url."""
        if hasattr(instance, "get_absolute_url"):
            return absolute_iri(instance.get_absolute_url())
        return None

    def manually_approves_followers(self, instance: Any) -> bool:
        """Hold follow requests until accepted (admin or ``follows.accept``)?

        Default False: follows are accepted at once.  The actor document's
        ``manuallyApprovesFollowers`` says the same, so Mastodon shows a lock.
        """
        return False

    def is_activity_owner(self, instance: Any, request: Any) -> bool:
        """May ``request`` read this actor's inbox and post to its outbox?

        Default: the logged-in user *is* the actor.  Actors that are not users
        (groups, projects) must override this, e.g. to check membership.
        """
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        # request.user is a lazy wrapper: compare through _meta, not type().
        return user._meta.concrete_model is instance._meta.concrete_model and str(
            user.pk
        ) == str(instance.pk)


def hook(registration: Any, name: str) -> Callable[..., Any]:
    """The site's hook ``name`` if its registration defines it, else ours."""
    method = getattr(registration, name, None)
    if callable(method):
        return method
    default = getattr(ActorRegistration, name)
    return default.__get__(registration, type(registration))
