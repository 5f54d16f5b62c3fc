"""What the inbox page shows of each item: a human title, who, what, where.

An inbox item is an activity (``Like``, ``Follow``, ``Create``...) from a
local user or from someone on another server.  Its row says it in words,
"@bob@other.example liked your article 'Hello'" (with typographic quotes),
with the actor as a :class:`~testsite.blog.people.Person`, the object's text
sanitised (received HTML goes through vox_activity's sanitiser, never into
the page raw), a link to a page about the object, and the activity's JSON to
unfold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.html import strip_tags
from django.utils.safestring import SafeString

from vox_activity.models import InboxItem, StoredObject
from vox_activity.protocol.html import localized_value, plain_text
from vox_activity.protocol.vocabulary import iri_of
from vox_activity.registry import actor_iri, local_object
from vox_activity.site import local_path
from vox_activity.templatetags.vox_activity import activity_html

from .models import Article, Comment
from .people import Person, people, web_url
from .reader import READABLE, anchor, followed_iris

#: Titles quote names typographically, as in: liked 'Hello' (curly quotes).
OPEN_QUOTE, CLOSE_QUOTE = "\u2018", "\u2019"

#: Activities whose object is no page to open (a follow, a deleted object).
NO_LINK = ("Delete", "Follow", "Accept", "Reject", "Undo")

#: How objects are called in titles.
KINDS = {"Article": "article", "Note": "note", "Page": "page", "Question": "poll"}


@dataclass(frozen=True)
class Thing:
    """An activity's object, as far as we know it."""

    iri: str
    kind: str  # "article", "note"...
    title: str  # plain text, may be ""
    owner: str  # the author's actor IRI, or ""
    deleted: bool = False

    def called(self, owner: str) -> str:
        """``your article 'Hello'``, ``the note``... (for ``owner``'s inbox)."""
        whose = "your" if self.owner and self.owner == owner else "the"
        if self.title:
            return f"{whose} {self.kind} {quoted(self.title)}"
        return f"{whose} {self.kind}"


@dataclass(frozen=True)
class InboxRow:
    item: InboxItem
    title: str
    #: The activity's own ``name`` (a notification's subject), plain text.
    name: str
    actor: Person | None
    #: The notification's own text (its ``summary``), sanitised.
    summary: SafeString
    #: The embedded object's ``content``, sanitised.
    content: SafeString
    #: An HTML page about the object (here, or the original elsewhere), or "".
    link: str
    #: Does the object appear in the reader (at ``#anchor``)?
    in_reader: bool
    anchor: str
    #: The activity as JSON, indented, for people who want to see it.
    json: str

    @property
    def iri(self) -> str:
        return self.item.activity.iri


def rows(items: Iterable[InboxItem], owner: Any) -> list[InboxRow]:
    """Rows for ``owner``'s ``items`` (their activities selected), in order."""
    items = list(items)
    owner_iri = actor_iri(owner) or ""
    datas = [_dict(item.activity.data) for item in items]
    actors = people(iri_of(data.get("actor")) for data in datas)
    things = _things(datas)
    followed = set(followed_iris(owner))
    return [
        _row(item, data, owner_iri, actors, things, followed)
        for item, data in zip(items, datas, strict=True)
    ]


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _things(datas: list[dict]) -> dict[str, Thing]:
    """Every object (and replied-to object) the activities name, by IRI."""
    embedded: dict[str, dict] = {}
    for data in datas:
        obj = data.get("object")
        if isinstance(obj, dict) and iri_of(obj):
            embedded.setdefault(iri_of(obj), obj)
            inner = obj.get("object")  # an Undo's Like, an Accept's Follow
            if isinstance(inner, dict) and iri_of(inner):
                embedded.setdefault(iri_of(inner), inner)
    wanted = {iri_of(data.get("object")) for data in datas} | {
        iri_of(obj.get("inReplyTo")) for obj in embedded.values()
    }
    wanted.discard("")
    stored = {o.iri: o for o in StoredObject.objects.filter(iri__in=wanted)}
    return {iri: _thing(iri, embedded.get(iri), stored.get(iri)) for iri in wanted}


def _thing(iri: str, embedded: dict | None, stored: StoredObject | None) -> Thing:
    data = stored.data if stored is not None and not stored.deleted_at else embedded
    data = _dict(data)
    kind = stored.type if stored is not None else data.get("type")
    if kind == "Tombstone":
        kind = data.get("formerType")
    title = plain_text(localized_value(data, "name"))
    owner = stored.owner_iri if stored is not None else iri_of(data.get("attributedTo"))
    local = local_object(iri) if local_path(iri) is not None else None
    if isinstance(local, Article):
        kind, title, owner = "Article", local.title, actor_iri(local.author) or ""
    elif isinstance(local, Comment):
        kind, owner = "Note", actor_iri(local.author) or ""
    name = KINDS.get(kind, kind.lower() if isinstance(kind, str) else "") or "post"
    deleted = stored is not None and stored.deleted_at is not None
    return Thing(iri, name, title, owner, deleted)


def _row(
    item: InboxItem,
    data: dict,
    owner: str,
    actors: dict[str, Person],
    things: dict[str, Thing],
    followed: set[str],
) -> InboxRow:
    actor = actors.get(iri_of(data.get("actor")))
    obj = data.get("object")
    thing = things.get(iri_of(obj)) or Thing(iri_of(obj), "post", "", "")
    embedded = obj if isinstance(obj, dict) else None
    parent = things.get(iri_of(embedded.get("inReplyTo"))) if embedded else None
    who = actor.handle if actor else "Someone"
    # An actor updating itself: its profile, nothing to read in the reader.
    profile = thing.iri == item.activity.actor_iri
    if profile and item.activity.type == "Update":
        title = f"{who} updated their profile"
    else:
        title = _title(item.activity.type, who, thing, parent, embedded, owner)
    summary = activity_html(data, "summary")
    content = activity_html(embedded) if embedded else SafeString("")
    if strip_tags(summary).strip() == strip_tags(content).strip():
        summary = SafeString("")  # a notification that repeats the comment
    remote_object = local_path(thing.iri) is None
    link = ""
    if not thing.deleted and item.activity.type not in NO_LINK:
        if remote_object:
            link = web_url((embedded or {}).get("url")) or web_url(thing.iri)
        elif local_object(thing.iri) is not None:
            link = thing.iri  # our own page
    return InboxRow(
        item=item,
        title=title,
        name=plain_text(localized_value(data, "name")),
        actor=actor,
        summary=summary,
        content=content,
        link=link,
        in_reader=item.activity.type in READABLE
        and item.activity.actor_iri in followed
        and not thing.deleted
        and not profile,
        anchor=anchor(thing.iri),
        json=json.dumps(data, indent=2, ensure_ascii=False),
    )


def quoted(title: str) -> str:
    return f"{OPEN_QUOTE}{title}{CLOSE_QUOTE}"


def a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _title(
    kind: str,
    who: str,
    thing: Thing,
    parent: Thing | None,
    embedded: dict | None,
    owner: str,
) -> str:
    if kind == "Like":
        return f"{who} liked {thing.called(owner)}"
    if kind == "Announce":
        return f"{who} boosted {thing.called(owner)}"
    if kind == "Follow":
        return f"{who} follows you"
    if kind == "Accept":
        return f"{who} accepted your follow"
    if kind == "Reject":
        return f"{who} declined your follow"
    if kind == "Create":
        if parent is not None:
            return f"{who} replied to {parent.called(owner)}"
        if thing.title:
            return f"{who} published {quoted(thing.title)}"
        return f"{who} posted {a(thing.kind)}"
    if kind == "Update":
        if thing.title:
            return f"{who} edited {quoted(thing.title)}"
        return f"{who} edited {a(thing.kind)}"
    if kind == "Delete":
        if thing.title:
            return f"{who} deleted {quoted(thing.title)}"
        return f"{who} deleted {a(thing.kind)}"
    if kind == "Undo":
        inner = embedded.get("type") if embedded else ""
        return f"{who} took back their {str(inner or 'activity').lower()}"
    return f"{who}: {kind}"
