"""The reader: what the people a user follows have published, to read here.

Built from the user's inbox (the ``Create``, ``Update`` and ``Announce``
activities of the actors they follow, on other servers through vox_activity's
``Follow`` rows, or here through a local subscription) and vox_activity's
stored objects, which hold each object's latest state: an article that was
edited shows its new text once, marked as edited.  Everything shown of a
received object is sanitised (``safe_content``, ``plain_name``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils.safestring import SafeString

from vox_activity.models import Activity, Follow, InboxItem, StoredObject
from vox_activity.protocol.actor_documents import ACTOR_TYPES
from vox_activity.protocol.vocabulary import iri_of
from vox_activity.registry import actor_iri
from vox_activity.templatetags.vox_activity import activity_html, activity_text

from .models import Subscription
from .people import Person, people, web_url

#: Activities that bring something to read.
READABLE = ("Create", "Update", "Announce")
LIMIT = 200


def anchor(iri: str) -> str:
    """A stable fragment id for an object on the reader page."""
    return "o-" + hashlib.sha256(iri.encode()).hexdigest()[:12]


@dataclass
class Entry:
    """One object on the timeline, in its latest known state."""

    iri: str
    when: datetime
    author: Person | None = None
    title: str = ""
    kind: str = ""
    content: SafeString = field(default_factory=lambda: SafeString(""))
    #: An http(s) link to the original, on its own server.
    original: str = ""
    edited: bool = False
    deleted: bool = False
    in_reply_to: str = ""
    boosted_by: list[Person] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return anchor(self.iri)


def followed_iris(user) -> list[str]:
    """Actors ``user`` follows: elsewhere (accepted Follows) and here."""
    iri = actor_iri(user)
    remote = Follow.objects.following_of(iri).values_list("object_iri", flat=True)
    authors = get_user_model().objects.filter(
        pk__in=Subscription.objects.filter(subscriber=user).values("author")
    )
    return [*remote, *(i for i in map(actor_iri, authors) if i)]


def timeline(user) -> list[Entry]:
    """Newest first: one entry per object, however many activities named it."""
    followed = followed_iris(user)
    activities = [
        item.activity
        for item in InboxItem.objects.for_owner(user)
        .filter(activity__type__in=READABLE, activity__actor_iri__in=followed)
        # A profile edit (an Update of the actor itself) is nothing to read.
        .exclude(activity__object_iri=F("activity__actor_iri"))
        .select_related("activity")
        .newest_first()[:LIMIT]
    ]
    by_object: dict[str, list[Activity]] = {}
    for activity in activities:
        if activity.object_iri:
            by_object.setdefault(activity.object_iri, []).append(activity)
    stored = {o.iri: o for o in StoredObject.objects.filter(iri__in=list(by_object))}
    for iri in [i for i, o in stored.items() if o.type in ACTOR_TYPES]:
        del by_object[iri]  # an actor boosted or updated: not a post
    boosters = [a.actor_iri for a in activities if a.type == "Announce"]
    authors = [o.owner_iri for o in stored.values()]
    found = people([*boosters, *authors, *(a.actor_iri for a in activities)])
    return [
        _entry(iri, named, stored.get(iri), found) for iri, named in by_object.items()
    ]


def _entry(
    iri: str,
    activities: list[Activity],
    stored: StoredObject | None,
    found: dict[str, Person],
) -> Entry:
    newest = activities[0]
    entry = Entry(iri=iri, when=newest.published)
    makers = [a for a in activities if a.type != "Announce"]
    entry.boosted_by = [found[a.actor_iri] for a in activities if a.type == "Announce"]
    entry.edited = any(a.type == "Update" for a in activities)
    if stored is not None:
        data = stored.data if isinstance(stored.data, dict) else {}
        entry.author = found.get(stored.owner_iri)
        entry.kind = stored.type
        entry.deleted = stored.deleted_at is not None
        if not entry.deleted:
            entry.title = stored.plain_name
            entry.content = stored.safe_content
            entry.original = web_url(data.get("url")) or web_url(iri)
            entry.in_reply_to = web_url(iri_of(data.get("inReplyTo")))
        return entry
    # Not stored (by reference, or boosted from elsewhere): what the newest
    # activity embeds, if anything.
    objects = [a.data.get("object") for a in activities if isinstance(a.data, dict)]
    embedded = next((o for o in objects if isinstance(o, dict)), None)
    entry.author = found.get(makers[0].actor_iri) if makers else None
    entry.original = web_url(iri)
    if embedded is not None:
        entry.kind = str(embedded.get("type") or "")
        entry.title = activity_text(embedded)
        entry.content = activity_html(embedded)
    return entry
