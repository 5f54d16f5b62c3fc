"""Provenance: whose word is each embedded object?  One rule, for every type.

An activity arrives signed by its actor, and only the actor's own server can
speak for what lives there.  So for every object the activity embeds, at any
depth (``object``, an ``object`` that is a list, the ``object`` of an Undo,
Accept, Reject or Announce, ``target``, an ``inReplyTo`` given in full...):

* an embedded object whose ``id`` is on the actor's origin is the actor's
  word, and is kept as sent;
* an embedded object whose ``id`` is on any other origin is never trusted as
  content: only its IRI is kept.  A handler that needs the content (an
  Announce shows the announced post) fetches it from its own origin
  (:func:`check_fetched_object`), before the transaction, and refuses the
  activity if that fails;
* an embedded object without an ``id`` (a tag, an attachment, a Follow
  embedded without id) is part of whatever contains it.

Mastodon applies the same rule (``ActivityPub::Activity#invalid_origin?``,
and Announces are always fetched unless embedded by their own server).
Because :func:`trusted_view` runs before any handler sees the activity, no
forged content can reach an inbox item, a stored object or a signal, whatever
the type, including types a site adds.
"""

from __future__ import annotations

from typing import Any

from vox_activity.exceptions import Refused
from vox_activity.protocol.iri import is_iri, same_origin
from vox_activity.protocol.vocabulary import as_list, iri_of

__all__ = ["check_fetched_object", "trusted_view"]

#: Top-level fields that are never embedded content (scalars and the actor,
#: which is checked against the signer and then read from our own cache).
_NOT_CONTENT = frozenset({"@context", "id", "type", "actor"})


def trusted_view(data: dict[str, Any], actor_iri: str) -> dict[str, Any]:
    """A copy of ``data`` where content not on the actor's origin is only IRIs.

    The ``actor`` field, embedded or not, becomes the actor's IRI.
    """
    view = {
        key: value if key in _NOT_CONTENT else _trusted(value, actor_iri)
        for key, value in data.items()
    }
    if "actor" in view:
        view["actor"] = iri_of(view["actor"]) or view["actor"]
    return view


def _trusted(value: Any, actor_iri: str) -> Any:
    if isinstance(value, list):
        return [_trusted(item, actor_iri) for item in value]
    if not isinstance(value, dict):
        return value
    if "id" in value and not same_origin(value.get("id"), actor_iri):
        return value.get("id")  # not the actor's to describe: its IRI only
    return {key: _trusted(item, actor_iri) for key, item in value.items()}


def check_fetched_object(data: dict[str, Any], iri: str, fetched_from: str) -> None:
    """May a document fetched for ``iri`` be trusted as that origin's content?

    It must be served from its own id (after redirects), and the actors it
    is attributed to must live on the same origin, or a server could host a
    post "by" an actor elsewhere.  Raises :class:`Refused` (400) otherwise.
    """
    if data.get("id") != iri or fetched_from != iri:
        raise Refused(
            400, f"The document fetched from {iri} is not served from its own id."
        )
    for author in as_list(data.get("attributedTo")):
        author_iri = iri_of(author)
        if not is_iri(author_iri) or not same_origin(author_iri, iri):
            raise Refused(
                400, f"{iri} is attributed to {author_iri!r}, on another server."
            )
