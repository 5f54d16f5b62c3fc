"""Received text made safe to show: HTML sanitised, plain text kept plain.

ActivityStreams says ``content`` and ``summary`` are HTML and ``name`` is
plain text ("HTML markup MUST NOT be included").  Whatever another server
sends is stored as received (``Activity.data``, ``StoredObject.data``); this
module is what turns it into something a page can show:

* :func:`sanitize_html` for ``content`` and ``summary``: an allow-list of the
  markup Mastodon itself keeps, everything else removed;
* :func:`plain_text` for ``name`` and the like: never HTML, control
  characters removed, for the template to escape as usual;
* :func:`localized_value` and :func:`activity_field`, which find the value in
  the first place: ``content`` or else ``contentMap`` (language → value), and
  for an activity, its embedded object's value before its own.

Why ``nh3``.  It binds Ammonia, the Rust allow-list sanitiser built on
html5ever, the browsers' own HTML5 parsing algorithm: the tree it cleans is
the tree a browser would build, so mis-nested, unclosed and entity-encoded
tricks are judged as a browser would read them, not by regular expressions.
It is allow-list only (tags, attributes per tag, URL schemes), drops the
content of ``script``/``style`` rather than showing it, takes a per-attribute
filter for the value rules below (classes, ``translate``, relative links),
and ships wheels for every platform (no Rust toolchain to install).  One
:class:`nh3.Cleaner` is built once and reused.  bleach, the usual Python
choice, is deprecated; Django's ``strip_tags`` keeps no markup at all.

The allow-list follows Mastodon's ``Sanitize::Config::MASTODON_STRICT``
(``lib/sanitize_ext/sanitize_config.rb`` in mastodon/mastodon), which is
both what Mastodon emits and what it accepts from others, so posts from the
Fediverse keep their paragraphs, line breaks, links, mentions, hashtags and
basic formatting.  Where this module differs, it is stricter:

* **classes**: Mastodon keeps every class with a microformats prefix
  (``h-``, ``p-``, ``u-``, ``dt-``, ``e-``); here only the microformats
  classes that Fediverse posts use are kept (:data:`KEPT_CLASSES`), because
  utility CSS frameworks use the same prefixes (Tailwind's ``h-screen``,
  ``p-4``) and a remote post must not restyle the site's page;
* **headings** (``h1``-``h6``): Mastodon turns them into ``<p><strong>``;
  here the tag is removed and its text kept, so a post cannot add headings
  to the page's outline;
* **relative links** (``/tags/x``, ``//host/x``, ``#x``): dropped, as
  Mastodon does (its link schemes list no ``:relative``); a relative link in
  someone else's post would point into *this* site.  The text stays.
* **math**: Mastodon swaps FEP-dc88 ``<math>`` for its TeX annotation;
  Ammonia removes MathML (and SVG) with its content.

Every kept link gets ``rel="nofollow noopener noreferrer"`` (any ``rel`` it
came with is replaced: a remote post cannot claim ``rel="me"``) and
``target="_blank"``, as Mastodon does: every kept link is absolute and leads
off this site, and ``noopener`` keeps the opened page from reaching this one
through ``window.opener``.

Images are removed, as Mastodon removes them: media travel as
``attachment``\\ s, and an ``<img>`` in the text would load a third-party
resource (a tracking pixel, the reader's IP address) whenever the page is
shown.  ``style`` attributes, event handlers, iframes, forms, SVG and every
other element or attribute not listed are removed too; the content of
:data:`DROPPED_WITH_CONTENT` goes with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

import nh3
from django.conf import settings
from django.utils.translation import get_language

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "DROPPED_WITH_CONTENT",
    "KEPT_CLASSES",
    "LINK_REL",
    "LINK_SCHEMES",
    "activity_field",
    "localized_value",
    "plain_text",
    "sanitize_html",
]

#: The elements Mastodon keeps (MASTODON_STRICT ``elements``).
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "span", "a",
        "del", "s", "pre", "blockquote", "code",
        "b", "strong", "u", "i", "em",
        "ul", "ol", "li",
        "ruby", "rt", "rp",
    }
)  # fmt: skip

#: Attributes per element (``"*"``: on every element), as Mastodon keeps
#: them.  ``class``, ``translate``, ``href``, ``lang``, ``start`` and
#: ``value`` are further checked by value (see :func:`_filter_attribute`).
ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "*": frozenset({"lang"}),
    "a": frozenset({"href", "class", "translate"}),
    "span": frozenset({"class", "translate"}),
    "p": frozenset({"class"}),
    "ol": frozenset({"start", "reversed"}),
    "li": frozenset({"value"}),
}

#: URL schemes a link may have: Mastodon's ``LINK_PROTOCOLS``.
LINK_SCHEMES: frozenset[str] = frozenset(
    {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp",
     "magnet", "gemini"}
)  # fmt: skip

#: The ``rel`` every kept link gets, replacing any it came with.
LINK_REL = "nofollow noopener noreferrer"

#: Classes kept: the semantic ones Mastodon keeps (``mention``, ``hashtag``,
#: ``ellipsis``, ``invisible``, ``quote-inline``) and the microformats that
#: Fediverse software puts on mentions (``h-card``, ``u-url``...).
KEPT_CLASSES: frozenset[str] = frozenset(
    {
        "mention", "hashtag", "ellipsis", "invisible", "quote-inline",
        "h-card", "u-url", "u-uid", "p-name", "p-nickname",
    }
)  # fmt: skip

#: Elements removed together with their content: code, styles, embedded
#: documents and form values are not text to show.  Any other element not
#: allowed is removed and its text kept.
DROPPED_WITH_CONTENT: frozenset[str] = frozenset(
    {
        "script", "style", "template", "noscript", "noembed", "noframes",
        "xmp", "iframe", "frameset", "object", "applet", "svg", "title",
        "textarea", "select",
    }
)  # fmt: skip

# A URL's scheme, read as browsers do (WHATWG URL): leading C0 controls and
# spaces are ignored, tabs and newlines anywhere are ignored.
_URL_IGNORED = re.compile(r"[\t\n\r]")
_URL_SCHEME = re.compile(r"[\x00-\x20]*([A-Za-z][A-Za-z0-9+.\-]*):")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*\Z")
_INTEGER = re.compile(r"-?[0-9]{1,9}\Z")
_HTML_WHITESPACE = re.compile(r"[\t\n\f\r ]+")


def _link_scheme(url: str) -> str | None:
    """The lower-cased scheme of ``url``; None for a relative URL."""
    match = _URL_SCHEME.match(_URL_IGNORED.sub("", url))
    return match.group(1).lower() if match else None


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Ammonia's per-attribute hook: the value to keep, or None to drop it.

    Called after Ammonia's own checks (the attribute is allowed on the tag,
    a URL's scheme is allowed) and for the attributes it adds (``rel``,
    ``target``), which pass unchanged.
    """
    if attribute == "class":
        kept = [name for name in _HTML_WHITESPACE.split(value) if name in KEPT_CLASSES]
        return " ".join(kept) or None
    if attribute == "href":
        # Ammonia passes relative URLs through; they would point into this
        # site.  The scheme is checked again here, read the browsers' way.
        return value if _link_scheme(value) in LINK_SCHEMES else None
    if attribute == "translate":
        # Mastodon keeps translate="no" (names, code) and nothing else.
        return value if value == "no" else None
    if attribute == "lang":
        return value if _LANGUAGE_TAG.match(value) else None
    if attribute in ("start", "value"):
        return value if _INTEGER.match(value.strip()) else None
    return value


#: Passes after the first before giving up on markup (see sanitize_html).
_MAX_PASSES = 3


@cache
def _text_only() -> nh3.Cleaner:
    return nh3.Cleaner(tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=set(LINK_SCHEMES),
    )


def sanitize_html(html: str | None) -> str:
    """``html`` with only the allowed markup left; "" for anything not a str.

    The result is an HTML fragment safe to insert in a page as is (a
    template marks it safe; see the ``activity_html`` filter).  Sanitising
    is idempotent: sanitising the result again changes nothing.
    """
    if not isinstance(html, str) or not html:
        return ""
    cleaner = _cleaner()
    cleaned = cleaner.clean(html)
    # The result must read back as itself.  Removing an element can leave a
    # tree that the HTML parser builds differently from its serialisation
    # (``<li><table><li>`` leaves an ``li`` inside an ``li``), and Ammonia
    # reorders an element's attributes when the filter drops one; so the
    # result is cleaned again until it no longer changes.  Real posts settle
    # at the second pass.
    for _ in range(_MAX_PASSES):
        again = cleaner.clean(cleaned)
        if again == cleaned:
            return cleaned
        cleaned = again
    # Pathological input that never settles: keep its text only.
    return _text_only().clean(cleaned)


# C0 and C1 controls: whitespace ones become a space, the rest go.  Bidi
# embeddings, overrides and isolates (U+202A-E, U+2066-9) go too: an
# unbalanced one in a name reorders the rest of the line it is shown in.
_WHITESPACE_CONTROLS = "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85"
_REMOVED = (
    dict.fromkeys((*range(0x00, 0x20), *range(0x7F, 0xA0)))
    | dict.fromkeys((*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
    | {ord(char): " " for char in _WHITESPACE_CONTROLS}
)


def plain_text(value: object) -> str:
    """``value`` as one line of plain text; "" for anything not a str.

    For ``name`` and other fields ActivityStreams defines as plain text:
    markup is not interpreted (``<b>`` stays the three characters it is,
    for the template to escape), control and bidi-override characters are
    removed, and runs of whitespace become one space.
    """
    if not isinstance(value, str):
        return ""
    return " ".join(value.translate(_REMOVED).split())


def _primary_subtag(language: str) -> str:
    return language.replace("_", "-").split("-", 1)[0].lower()


def _site_language() -> str:
    # The reader's language when a request activated one (LocaleMiddleware),
    # else settings.LANGUAGE_CODE (get_language() is None when translations
    # are deactivated, as in management commands).
    return get_language() or settings.LANGUAGE_CODE or ""


def localized_value(obj: object, field: str, language: str | None = None) -> str | None:
    """The value of ``field`` of ``obj``, from ``<field>Map`` if need be.

    ActivityStreams lets an object give ``content`` (or ``summary``,
    ``name``) as a map of language tags to values, ``contentMap``, instead of
    or beside the plain field.  The plain field wins when it is a string;
    else the map's value for ``language`` (default: the active language,
    which is ``settings.LANGUAGE_CODE`` unless a request activated another),
    compared case-insensitively, then for its primary subtag (``en-us``
    finds ``en`` and ``en-GB``); else the map's first string value.  None
    when there is no string to be found.
    """
    if not isinstance(obj, Mapping):
        return None
    value = obj.get(field)
    if isinstance(value, str):
        return value
    by_language = obj.get(f"{field}Map")
    if not isinstance(by_language, Mapping):
        return None
    values = {
        str(tag).lower().replace("_", "-"): text
        for tag, text in by_language.items()
        if isinstance(text, str)
    }
    if not values:
        return None
    wanted = (language if language is not None else _site_language()).lower()
    wanted = wanted.replace("_", "-")
    if wanted in values:
        return values[wanted]
    primary = _primary_subtag(wanted)
    for tag, text in values.items():
        if primary and _primary_subtag(tag) == primary:
            return text
    return next(iter(values.values()))


def activity_field(data: object, field: str, language: str | None = None) -> str | None:
    """``field`` of an activity, read from its embedded object first.

    A ``Create`` carries its ``Note`` in ``object``, and the note's
    ``content`` is what a reader wants to see; a ``Like`` of an IRI has only
    its own fields.  So: the embedded object's value when ``object`` is an
    object that has one (or a map of them), else the activity's own.
    """
    if not isinstance(data, Mapping):
        return None
    embedded = data.get("object")
    value = localized_value(embedded, field, language)
    if value is not None:
        return value
    return localized_value(data, field, language)
