"""HTML parsed again, as a browser reads it, to assert what survived sanitising.

:func:`assert_safe` fails on any element, attribute or link scheme outside
the allow-list of :mod:`vox_activity.protocol.html`; the Mastodon-shaped
samples are the shapes Mastodon's formatter emits (mentions in an
``h-card``, hashtags as ``mention hashtag`` links, long links split into
``invisible``/``ellipsis`` spans).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from vox_activity.protocol.html import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    LINK_REL,
    LINK_SCHEMES,
)

__all__ = [
    "HASHTAG",
    "LONG_LINK",
    "MASTODON_NOTE",
    "MENTION",
    "Parsed",
    "assert_safe",
    "scheme",
]

# --- parsing the output again ------------------------------------------------


class Parsed(HTMLParser):
    """Every start tag (name, attributes) and the text, as a browser sees them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def tags(self) -> list[str]:
        return [tag for tag, _ in self.elements]


def scheme(url: str) -> str | None:
    """A URL's scheme the way browsers read it (tabs/newlines ignored)."""
    cleaned = re.sub(r"[\t\n\r]", "", url).lstrip("".join(map(chr, range(0x21))))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else None


def assert_safe(output: str) -> Parsed:
    """Only allowed tags, attributes and link schemes in ``output``."""
    parsed = Parsed(output)
    for tag, attrs in parsed.elements:
        assert tag in ALLOWED_TAGS, (tag, output)
        allowed = ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tag, frozenset())
        if tag == "a":
            allowed = allowed | {"rel", "target"}
        for name in attrs:
            assert name in allowed, (tag, name, output)
            assert not name.startswith("on"), (tag, name, output)
        if tag == "a":
            assert attrs["rel"] == LINK_REL, output
            assert attrs["target"] == "_blank", output
            if "href" in attrs:
                assert scheme(attrs["href"] or "") in LINK_SCHEMES, output
    return parsed


# --- Mastodon-shaped content -------------------------------------------------

MENTION = (
    '<span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron"'
    ' class="u-url mention">@<span>Gargron</span></a></span>'
)
HASHTAG = (
    '<a href="https://mastodon.social/tags/fediverse" class="mention hashtag"'
    ' rel="tag">#<span>fediverse</span></a>'
)
LONG_LINK = (
    '<a href="https://example.com/a/very/long/path/to/somewhere" target="_blank"'
    ' rel="nofollow noopener noreferrer" translate="no">'
    '<span class="invisible">https://</span>'
    '<span class="ellipsis">example.com/a/very/long/path/</span>'
    '<span class="invisible">to/somewhere</span></a>'
)
MASTODON_NOTE = (
    f"<p>{MENTION} hello {HASHTAG}</p><p>see {LONG_LINK}<br />second line</p>"
)
