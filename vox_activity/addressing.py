"""Audiences for ``get_activity_addressing``: what a site needs in one import.

A registration's ``get_activity_addressing(instance, notification)`` returns
the ``to``/``cc`` an activity about ``instance`` is addressed to, on top of
the notification's recipients (:doc:`activities`).  Mastodon shows a post by
its object's addressing (``status_parser.rb``: Public in ``to`` is public,
Public in ``cc`` is unlisted, the author's followers without Public is
followers-only, only named actors is a direct message), so the four helpers
below are the four visibilities a Mastodon user can see::

    from vox_activity import addressing

    class ArticleVox(ActivityRegistration):
        def get_activity_addressing(self, instance, notification):
            if instance.draft:
                return addressing.followers_only(instance.author)
            return addressing.public(instance.author)

The module imports no models, so it is safe to import from a ``vox.py`` or a
``models.py``; the helpers need the apps loaded (they build URLs) when they
are called.
"""

from __future__ import annotations

from vox_activity.protocol.vocabulary import PUBLIC
from vox_activity.registration import Actor
from vox_activity.registry import actor_iri, followers_iri
from vox_activity.site import absolute_iri

__all__ = [
    "PUBLIC",
    "Addressing",
    "absolute_iri",
    "actor_iri",
    "direct",
    "followers_iri",
    "followers_only",
    "public",
    "unlisted",
]

#: What ``get_activity_addressing`` returns: ``{"to": [...], "cc": [...]}``.
Addressing = dict[str, list[str]]


def _followers(author: Actor) -> list[str]:
    iri = followers_iri(author)
    if iri is None:
        raise ValueError(f"{author!r} is not a local actor: it has no followers.")
    return [iri]


def public(author: Actor) -> Addressing:
    """Public, listed: shown on timelines (Public in ``to``, followers in ``cc``)."""
    return {"to": [PUBLIC], "cc": _followers(author)}


def unlisted(author: Actor) -> Addressing:
    """Public but kept off public timelines (Public in ``cc``)."""
    return {"to": _followers(author), "cc": [PUBLIC]}


def followers_only(author: Actor) -> Addressing:
    """Only the author's followers (and those the notification names)."""
    return {"to": _followers(author), "cc": []}


def direct(*actors: Actor | str) -> Addressing:
    """Only the actors named: local instances, or IRIs of remote actors."""
    to = []
    for actor in actors:
        iri = actor if isinstance(actor, str) else actor_iri(actor)
        if iri is None:
            raise ValueError(f"{actor!r} is not a local actor and not an IRI.")
        to.append(iri)
    return {"to": to, "cc": []}
