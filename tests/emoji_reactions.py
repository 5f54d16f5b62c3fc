"""Emoji reactions: the worked example of a site adding an activity type.

``docs/receiving.rst`` ("Adding an activity type") shows this module; the
tests in ``tests/test_handlers_registry.py`` run it end to end, so the
documented code is code that works.

Pleroma, Akkoma and Misskey send emoji reactions as ``EmojiReact`` (FEP-c0e0,
in the LitePub vocabulary): a ``Like`` whose ``content`` is one emoji, or
the ``:shortcode:`` of a custom emoji described by an ``Emoji`` in ``tag``::

    {"type": "EmojiReact", "actor": "https://pleroma.example/users/carol",
     "object": "https://blog.example/articles/hello/", "content": "🔥"}

vox_activity does not know the type, so it would only store it, fill the
inboxes and signal it.  A site that wants more registers a handler::

    VOX_ACTIVITY = {
        "INBOX_HANDLERS": {"EmojiReact": "tests.emoji_reactions.EmojiReactHandler"},
    }
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Any

from django.dispatch import Signal

from vox_activity.exceptions import Refused
from vox_activity.incoming.context import Incoming
from vox_activity.incoming.handlers import LikeHandler
from vox_activity.models import Activity
from vox_activity.protocol.vocabulary import as_list

__all__ = [
    "EmojiReactHandler",
    "emoji_reaction_received",
    "is_one_emoji",
    "reaction_counts",
]

#: Sent for every accepted reaction, inside the inbox's transaction:
#: ``activity`` (the stored row), ``emoji``, ``object_iri``, ``actor``.
emoji_reaction_received = Signal()

#: A custom emoji's name, as Mastodon and Misskey write it.
SHORTCODE = re.compile(r"^:[A-Za-z0-9_+-]{1,64}:$")

_ZWJ = "\u200d"
#: Code points that attach to the emoji before them: variation selectors,
#: the keycap, skin tones and the tag characters of subdivision flags.
_MODIFIERS = re.compile(
    "[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]"
)
_REGIONAL = re.compile("[\U0001f1e6-\U0001f1ff]")


def is_one_emoji(text: str) -> bool:
    """Is ``text`` one emoji (one grapheme of emoji code points)?

    A small reading of Unicode's emoji sequences, enough for reactions: one
    symbol, or a keycap base (``1️⃣``), with its modifiers; more joined with
    ZWJ (``👩‍💻``); or a pair of regional indicators (a flag, ``🇫🇷``).
    """
    if not text or len(text) > 32:
        return False
    if len(text) == 2 and all(_REGIONAL.match(char) for char in text):
        return True
    expect_base = True
    for char in text:
        if expect_base:
            keycap = char in "0123456789#*" and "\u20e3" in text
            if unicodedata.category(char) != "So" and not keycap:
                return False
            if _REGIONAL.match(char):
                return False  # half a flag
            expect_base = False
        elif char == _ZWJ:
            expect_base = True
        elif not _MODIFIERS.match(char):
            return False  # a second emoji, or text
    return not expect_base


def custom_emoji_in(tags: Any, shortcode: str) -> dict[str, Any] | None:
    """The ``Emoji`` of ``tag`` named ``shortcode``, if the activity has it.

    ``tags`` comes from the trusted view: an ``Emoji`` whose ``id`` is on
    another server than the actor's is only an IRI there, so it is not found.
    """
    for tag in as_list(tags):
        if not isinstance(tag, dict) or tag.get("type") != "Emoji":
            continue  # a mention, a hashtag, or an IRI
        if tag.get("name") == shortcode:
            return tag
    return None


class EmojiReactHandler(LikeHandler):
    """An emoji reaction: a Like with an emoji (FEP-c0e0).

    Everything a Like gets comes with it: ``object`` is required and checked,
    the author of a local object gets it in her inbox, the object's
    ``activity_emojireact(data, actor)`` method is called, and an ``Undo``
    takes it back.  This handler adds the check of ``content`` and a signal.
    """

    types = ("EmojiReact",)

    def validate(self, incoming: Incoming) -> None:
        super().validate(incoming)
        emoji = incoming.data.get("content")
        if not isinstance(emoji, str):
            raise Refused(400, '"content" must be the emoji of the reaction.')
        if SHORTCODE.match(emoji):
            if custom_emoji_in(incoming.data.get("tag"), emoji) is None:
                raise Refused(
                    400, f'The custom emoji {emoji} is not described in "tag".'
                )
        elif not is_one_emoji(emoji):
            raise Refused(400, '"content" must be one emoji or a :shortcode:.')

    def apply(self, incoming: Incoming) -> None:
        emoji_reaction_received.send(
            EmojiReactHandler,
            activity=incoming.activity,
            emoji=incoming.data["content"],
            object_iri=incoming.object_iri,
            actor=incoming.actor,
        )


def reaction_counts(object_iri: str) -> dict[str, int]:
    """``{emoji: how many}`` of the standing reactions to ``object_iri``."""
    reactions = Activity.objects.reactions_to(object_iri, "EmojiReact")
    documents = reactions.values_list("data", flat=True)
    return dict(Counter(str(data.get("content")) for data in documents))
