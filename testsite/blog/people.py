"""Actors as the blog shows them: local users and people on other servers.

A :class:`Person` is what a page needs to show an actor by IRI: a handle
(``@bob`` here, ``@bob@other.example`` elsewhere), a display name, an
avatar and where to read more.  Remote ones come from vox_activity's cache of
actor documents (``RemoteActor.data``: ``name``, ``icon``, ``url``), which is
received text: names go through ``plain_text`` (and are escaped by the
templates), and only ``http(s)`` URLs are ever put in an ``href`` or ``src``.
:func:`people` looks many IRIs up in a few queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.urls import reverse

from vox_activity.models import RemoteActor
from vox_activity.protocol.html import localized_value, plain_text
from vox_activity.registry import ActorRef, resolve_local_actors


@dataclass(frozen=True)
class Person:
    iri: str
    #: ``@bob`` for a local user, ``@bob@host`` for a remote actor, else the IRI.
    handle: str
    #: The display name, plain text.
    name: str
    #: Where to read about them: the local page, or the remote profile.
    url: str
    #: An http(s) image URL, or "".
    avatar: str = ""
    local: bool = False

    @property
    def initial(self) -> str:
        """A letter for the avatar's place when there is no image."""
        letters = [c for c in self.name or self.handle if c.isalnum()]
        return letters[0].upper() if letters else "?"


def web_url(value: object) -> str:
    """An http(s) URL from an ActivityStreams ``url``/``icon`` value, or "".

    The value may be a string, a Link or Image object (``href``/``url``), or
    a list of them: the first usable one wins.
    """
    for candidate in value if isinstance(value, list) else [value]:
        if isinstance(candidate, dict):
            candidate = candidate.get("href") or candidate.get("url")
            if isinstance(candidate, (dict, list)):
                candidate = web_url(candidate)
        if isinstance(candidate, str) and candidate.startswith(("https://", "http://")):
            return candidate
    return ""


def local_person(user, iri: str = "") -> Person:
    username = user.get_username()
    return Person(
        iri=iri,
        handle=f"@{username}",
        name=user.get_full_name() or username,
        url=reverse("author", args=[username]),
        local=True,
    )


def remote_person(actor: RemoteActor) -> Person:
    data = actor.data if isinstance(actor.data, dict) else {}
    handle = actor.handle
    return Person(
        iri=actor.iri,
        handle=handle,
        name=plain_text(localized_value(data, "name")) or handle,
        url=web_url(data.get("url")) or web_url(actor.iri),
        avatar=web_url(data.get("icon")),
    )


def unknown_person(iri: str) -> Person:
    """An actor we know only by IRI (never fetched)."""
    return Person(iri=iri, handle=iri, name=iri, url=web_url(iri))


def people(iris: Iterable[str]) -> dict[str, Person]:
    """``{iri: Person}`` for every IRI, local ones first, in a few queries."""
    iris = [iri for iri in dict.fromkeys(iris) if iri]
    found: dict[str, Person] = {}
    local = resolve_local_actors(iris)
    user_model = get_user_model()
    refs = {iri: a.pk for iri, a in local.items() if isinstance(a, ActorRef)}
    users = user_model.objects.in_bulk(list(refs.values()))
    for iri, actor in local.items():
        user = users.get(refs[iri]) if iri in refs else actor
        if isinstance(user, user_model):
            found[iri] = local_person(user, iri)
    remote = [iri for iri in iris if iri not in found]
    for actor in RemoteActor.objects.filter(iri__in=remote):
        found[actor.iri] = remote_person(actor)
    return {iri: found.get(iri) or unknown_person(iri) for iri in iris}


def person(iri: str) -> Person:
    return people([iri])[iri]
