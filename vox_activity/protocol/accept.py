"""The ``Accept`` header with its q-values: which media type a client prefers.

RFC 9110 §12.5.1: an ``Accept`` header lists media ranges (``text/html``,
``text/*``, ``*/*``), each with an optional weight ``q`` from 0 to 1 (1 when
absent; 0 means "not acceptable").  The weight of a given media type is that
of the *most specific* range matching it (``text/html;level=1`` before
``text/html`` before ``text/*`` before ``*/*``), not the highest one.

vox_activity answers browsers with HTML error pages and everyone else with
JSON (:func:`vox_activity.serving.responses.error_response`): HTML only when
the client weighs ``text/html`` strictly higher than every JSON type, so a
client sending no ``Accept``, or ``*/*`` (as servers and ``fetch()`` do), gets
JSON.  Pure: no Django, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["JSON_TYPES", "MediaRange", "parse_accept", "prefers_html", "quality"]

#: The JSON media types an error can be answered in: what an ActivityPub or
#: WebFinger client would name when it asks for JSON.
JSON_TYPES = (
    "application/json",
    "application/activity+json",
    "application/ld+json",
    "application/jrd+json",
)
HTML = "text/html"


@dataclass(frozen=True)
class MediaRange:
    """One entry of an ``Accept`` header: ``type/subtype;params;q=…``."""

    type: str
    subtype: str
    q: float = 1.0
    params: dict[str, str] = field(default_factory=dict, compare=False)

    def matches(self, media_type: str) -> bool:
        main, _, sub = media_type.lower().partition("/")
        if self.type == "*":
            return True
        return self.type == main and self.subtype in ("*", sub)

    @property
    def specificity(self) -> int:
        """``*/*`` 0, ``text/*`` 1, ``text/html`` 2, with parameters 3."""
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 3 if self.params else 2


def _weight(value: str) -> float | None:
    """A q-value (``qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )``)."""
    value = value.strip()
    try:
        weight = float(value)
    except ValueError:
        return None
    if not 0 <= weight <= 1 or not value[:1].isdigit():
        return None
    return weight


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header, in the order given.

    Malformed entries (no ``/``, a bad q-value) are skipped rather than
    refused: an odd header must not break an error page.
    """
    ranges = []
    for part in (header or "").split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        main, slash, sub = pieces[0].lower().partition("/")
        if not slash or not main or not sub or (main == "*" and sub != "*"):
            continue
        q: float | None = 1.0
        params = {}
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            name = name.strip().lower()
            if name == "q":
                q = _weight(value)
                break  # what follows q are accept-extensions, not parameters
            if name:
                params[name] = value.strip().strip('"')
        if q is None:
            continue
        ranges.append(MediaRange(main, sub, q, params))
    return ranges


def quality(ranges: Iterable[MediaRange], media_type: str) -> float:
    """How much the client wants ``media_type``: the most specific match's q.

    Ranges are matched by type and subtype; one with parameters
    (``application/ld+json; profile="…"``) counts as a match of its bare
    type, the most specific kind.  0 when nothing matches.
    """
    best: MediaRange | None = None
    for candidate in ranges:
        if candidate.matches(media_type) and (
            best is None or candidate.specificity > best.specificity
        ):
            best = candidate
    return best.q if best is not None else 0.0


def prefers_html(header: str | None) -> bool:
    """Does this ``Accept`` weigh ``text/html`` above every JSON type?

    No header, ``*/*`` or a tie → False: JSON is the default, as servers
    expect it.
    """
    ranges = parse_accept(header)
    if not ranges:
        return False
    html = quality(ranges, HTML)
    return html > 0 and html > max(quality(ranges, t) for t in JSON_TYPES)
