"""The date-times of integrity proofs and keys: XML Schema ``dateTimeStamp``.

W3C Data Integrity writes ``created`` and ``expires`` of a proof, and the
``expires`` and ``revoked`` of a verification method, as XML Schema 1.1
``dateTimeStamp`` strings: ``2023-02-24T23:36:38Z``, with optional fractional
seconds and a mandatory time zone (``Z`` or ``±hh:mm``).

What we write is always whole seconds in UTC with ``Z``.  That is not only
tidy: Fedify, verifying a proof, rebuilds the proof configuration with
``created`` re-serialised by ``Temporal.Instant.prototype.toString()``
(``packages/fedify/src/sig/proof.ts``), which prints exactly that form for a
whole-second UTC instant.  A ``created`` with an offset or with trailing zeros
in the fraction would come back different, and the proof would not verify
there.  What we read is kept as received wherever it is signed; this module
only turns it into a :class:`~datetime.datetime` to compare with the clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from vox_activity.exceptions import SignatureError

__all__ = ["format_timestamp", "parse_timestamp"]

_DATE_TIME_STAMP = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?:(?P<utc>Z)|(?P<sign>[+-])(?P<tzh>\d{2}):(?P<tzm>\d{2}))",
    re.ASCII,
)


def format_timestamp(moment: datetime) -> str:
    """``moment`` as ``YYYY-MM-DDThh:mm:ssZ`` (UTC, whole seconds).

    ``moment`` must be aware: a naive date-time has no defined instant.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("A proof's time must be timezone-aware.")
    utc = moment.astimezone(UTC).replace(microsecond=0, tzinfo=None)
    return utc.isoformat() + "Z"


def parse_timestamp(value: object, *, what: str) -> datetime:
    """The aware date-time of a ``dateTimeStamp``; SignatureError if it is not one.

    ``what`` names the field in the error.  Fractions finer than a
    microsecond (JavaScript's Temporal writes nanoseconds) are cut to
    microseconds, which is all the comparison with the clock needs.
    """
    match = _DATE_TIME_STAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise SignatureError(
            f"{what} is not a date-time with a time zone (like 2023-02-24T23:36:38Z)."
        )
    parts = match.groupdict()
    if parts["utc"]:
        zone = UTC
    else:
        offset = timedelta(hours=int(parts["tzh"]), minutes=int(parts["tzm"]))
        if offset >= timedelta(hours=24):
            raise SignatureError(f"{what} has an impossible time zone offset.")
        zone = timezone(-offset if parts["sign"] == "-" else offset)
    fraction = (parts["fraction"] or "")[:6].ljust(6, "0")
    try:
        return datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"]),
            int(fraction),
            tzinfo=zone,
        )
    except ValueError:
        raise SignatureError(f"{what} is not a valid date-time.") from None
