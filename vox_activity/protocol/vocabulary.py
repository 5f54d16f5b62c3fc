"""ActivityStreams vocabulary: activity types, addressing, aspy → JSON.

Pure functions with no model or database access, so they can be used (and
tested) anywhere.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ACTIVITY_JSON",
    "ACTIVITY_TYPES",
    "ADDRESSING_FIELDS",
    "AS_CONTEXT",
    "AS_NAMESPACE",
    "BLIND_FIELDS",
    "CODENAME_TO_TYPE",
    "DEFAULT_ACTIVITY_TYPE",
    "LD_JSON",
    "LD_JSON_AS",
    "PUBLIC",
    "PUBLIC_ALIASES",
    "SECURITY_CONTEXT",
    "activity_type_for",
    "address_iri",
    "as_list",
    "build_context",
    "format_datetime",
    "iri_of",
    "is_public",
    "normalise_public",
    "origin_of",
    "past_tense",
    "public_view",
    "recipients_of",
    "to_json",
    "type_from_codename",
    "type_from_setting",
]

AS_NAMESPACE = "https://www.w3.org/ns/activitystreams"
AS_CONTEXT = AS_NAMESPACE
SECURITY_CONTEXT = "https://w3id.org/security/v1"
#: The special collection "everyone"; always emitted in this full form.
PUBLIC = AS_NAMESPACE + "#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

#: Media types that mean "ActivityPub" (the ld+json one needs the AS profile).
ACTIVITY_JSON = "application/activity+json"
LD_JSON = "application/ld+json"
LD_JSON_AS = f'{LD_JSON}; profile="{AS_NAMESPACE}"'

#: Every activity type of the ActivityStreams 2.0 vocabulary.
ACTIVITY_TYPES = (
    "Accept", "Add", "Announce", "Arrive", "Block", "Create", "Delete",
    "Dislike", "Flag", "Follow", "Ignore", "Invite", "Join", "Leave", "Like",
    "Listen", "Move", "Offer", "Question", "Read", "Reject", "Remove",
    "TentativeAccept", "TentativeReject", "Travel", "Undo", "Update", "View",
)  # fmt: skip
DEFAULT_ACTIVITY_TYPE = "Create"
ADDRESSING_FIELDS = ("to", "cc", "bto", "bcc", "audience")
BLIND_FIELDS = ("bto", "bcc")

_IRREGULAR_PAST = {
    "leave": "left",
    "read": "read",
    "undo": "undone",
    "travel": "traveled",  # "travelled" is accepted too, below
}


def past_tense(verb: str) -> str:
    """English past tense of a (lower-case) activity verb: like → liked."""
    if verb in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ied"
    if re.search(r"[^aeiou][aeiou][bdgpt]$", verb):
        return verb + verb[-1] + "ed"  # flag → flagged (accept → accepted)
    return verb + "ed"


def _normalise_word(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _build_codename_map() -> dict[str, str]:
    mapping = {}
    for name in ACTIVITY_TYPES:
        verb = name.lower()
        mapping[verb] = name
        mapping[past_tense(verb)] = name
    mapping["travelled"] = "Travel"
    mapping["tentativelyaccepted"] = "TentativeAccept"
    mapping["tentativelyrejected"] = "TentativeReject"
    return mapping


CODENAME_TO_TYPE = _build_codename_map()


def type_from_codename(codename: str) -> str:
    """``liked``/``like`` → ``Like``; a codename naming no activity → ``Create``."""
    return CODENAME_TO_TYPE.get(_normalise_word(codename or ""), DEFAULT_ACTIVITY_TYPE)


def type_from_setting(value: Any) -> str | None:
    """The type named by a notification's ``activity_type``, or None if unset.

    django-vox stores ``activity_type`` as a string and defaults it to the bare
    word ``"Create"``; an explicit ``aspy`` class is stored as its full IRI
    (``https://www.w3.org/ns/activitystreams#Like``).  So an empty value or the
    bare default counts as "not set" (the codename decides), while anything
    else, including the full Create IRI, is an explicit choice.
    """
    if value is None:
        return None
    if isinstance(value, type):  # an aspy class
        return value.__name__
    text = str(value).strip()
    if text in ("", DEFAULT_ACTIVITY_TYPE):
        return None
    name = text.rsplit("#", 1)[-1].rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name or None


def activity_type_for(notification: Any) -> str:
    """The activity type for a django-vox notification (see the docs table)."""
    explicit = type_from_setting(getattr(notification, "activity_type", None))
    if explicit:
        return explicit
    return type_from_codename(getattr(notification, "codename", ""))


# --- JSON --------------------------------------------------------------------


def to_json(value: Any, contexts: list | None = None) -> Any:
    """Convert an aspy object (or anything JSON-ready) to plain JSON data.

    aspy objects become dicts; their extra JSON-LD context entries are
    appended to ``contexts`` so the caller can put them in ``@context``.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "part_to_dict"):  # aspy.Object / aspy.Link
        if contexts is not None and getattr(value, "extra_context", None):
            contexts.append(dict(value.extra_context))
        return normalise_public(value.part_to_dict())
    if isinstance(value, dict):
        return {str(k): to_json(v, contexts) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v, contexts) for v in value]
    if isinstance(value, datetime.datetime):
        return format_datetime(value)
    raise TypeError(
        f"Cannot turn {type(value).__name__} into ActivityStreams JSON; return an "
        "aspy object, a dict or an IRI string from __activity__()."
    )


def build_context(extra: Iterable[dict] = ()) -> str | list:
    """An ``@context`` holding the ActivityStreams context (and any extras)."""
    merged: dict = {}
    for item in extra:
        merged.update(item)
    return [AS_CONTEXT, merged] if merged else AS_CONTEXT


def format_datetime(value: datetime.datetime) -> str:
    """xsd:dateTime in UTC with a ``Z``, the form Mastodon emits."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def address_iri(value: Any) -> str | None:
    """The IRI of an address (a string, or an object with an ``id``)."""
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not value:
        return None
    return PUBLIC if value in PUBLIC_ALIASES else value


def normalise_public(data: Any) -> Any:
    """Replace ``as:Public``/``Public`` with the full Public IRI, recursively."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if key in ADDRESSING_FIELDS:
                value = [
                    PUBLIC if isinstance(v, str) and v in PUBLIC_ALIASES else v
                    for v in as_list(value)
                ]
            out[key] = normalise_public(value)
        return out
    if isinstance(data, list):
        return [normalise_public(v) for v in data]
    return data


def public_view(data: dict) -> dict:
    """A copy of ``data`` without blind recipients, at any depth (AP §6.6)."""
    if isinstance(data, dict):
        return {k: public_view(v) for k, v in data.items() if k not in BLIND_FIELDS}
    if isinstance(data, list):
        return [public_view(v) for v in data]
    return data


def recipients_of(data: dict, fields: Iterable[str] = ADDRESSING_FIELDS) -> list[str]:
    """Every addressed IRI of an activity, in order, without duplicates."""
    seen: dict[str, None] = {}
    for field in fields:
        for value in as_list(data.get(field)):
            iri = address_iri(value)
            if iri:
                seen.setdefault(iri, None)
    return list(seen)


def is_public(data: dict) -> bool:
    return PUBLIC in recipients_of(data, ("to", "cc", "audience"))


def origin_of(iri: str) -> str:
    """``scheme://host[:port]`` of an IRI, lower-cased: what "same server" means."""
    parts = urlsplit(iri)
    return f"{parts.scheme}://{parts.netloc}".lower()


def iri_of(value: Any) -> str:
    """The ``id`` of an embedded object, or the value itself if it is an IRI."""
    if isinstance(value, dict):
        value = value.get("id", "")
    return value if isinstance(value, str) else ""
