"""What a published object carries: its audience, its dates, its mentions.

Mastodon decides a post's visibility from the *object's* addressing when it
fetches the object by its IRI, and Fedify-based servers read the object's
own ``to``/``cc`` always; ActivityPub section 6.2 says a server SHOULD copy
the activity's recipients onto the object it creates.  So the object of a
``Create`` or ``Update`` we publish gets, unless it has its own:

* the activity's ``to`` and ``cc`` (never ``bto``/``bcc``: blind recipients
  are never served or sent, section 6.6);
* ``attributedTo`` (its actor), ``published`` and ``url`` (its id);
* on an ``Update``, ``updated`` (now): Mastodon applies an edit only when
  ``updated`` is newer than what it has;
* a ``Mention`` tag for every actor addressed in ``to``/``cc``: Mastodon
  shows a post to the people it mentions, and a post addressed only to
  people without mentioning them is treated as a limited post they may never
  see (``ActivityPub::Activity::Create#process_audience``).
"""

from __future__ import annotations

import datetime
from typing import Any

from vox_activity.protocol.vocabulary import (
    as_list,
    format_datetime,
    iri_of,
)

__all__ = ["complete_object"]

#: Activities whose embedded object is the published content.
CONTENT_ACTIVITIES = frozenset({"Create", "Update"})


def complete_object(
    document: dict[str, Any],
    *,
    published: datetime.datetime,
    mentions: dict[str, str],
) -> dict[str, Any]:
    """``document`` with its embedded object completed (see the module docstring).

    ``mentions`` maps the IRIs of addressed actors to their ``@user@host``.
    Anything else than a Create or Update of an embedded object is returned
    unchanged.
    """
    obj = document.get("object")
    if document.get("type") not in CONTENT_ACTIVITIES or not isinstance(obj, dict):
        return document
    completed = dict(obj)
    if "to" not in completed and "cc" not in completed:
        for field in ("to", "cc"):
            if document.get(field):
                completed[field] = list(as_list(document[field]))
    actor = iri_of(document.get("actor"))
    if actor:
        completed.setdefault("attributedTo", actor)
    stamp = format_datetime(published)
    completed.setdefault("published", stamp)
    if document["type"] == "Update":
        completed["updated"] = stamp
    if isinstance(completed.get("id"), str):
        completed.setdefault("url", completed["id"])
    tags = as_list(completed.get("tag"))
    tagged = {iri_of(tag.get("href")) for tag in tags if isinstance(tag, dict)}
    addressed = [
        iri
        for field in ("to", "cc")
        for iri in map(iri_of, as_list(completed.get(field)))
        if iri in mentions and iri not in tagged
    ]
    extra = [
        {"type": "Mention", "href": iri, "name": mentions[iri]}
        for iri in dict.fromkeys(addressed)
    ]
    if extra:
        completed["tag"] = [*tags, *extra]
    return {**document, "object": completed}
