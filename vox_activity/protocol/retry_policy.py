"""What a delivery attempt's outcome means, and when to try again.

Pure functions, so the policy can be read and tested on its own:

* 2xx: delivered.
* 401, 408, 429, 5xx except 501, timeouts and connection errors: transient,
  retried with exponential backoff and jitter (Sidekiq's curve, which
  Mastodon uses): attempt *n* waits ``n⁴ + 15 + random(0..30)·(n + 1)``
  seconds, so 16 attempts span about two and a half days.  A ``Retry-After``
  header that asks for longer is honoured (capped at a day).  A site can
  replace the curve with a fixed schedule (:func:`scheduled_delay`, the
  ``DELIVERY_RETRY_DELAYS`` setting).
* 404 and 410: permanent, and the recipient is gone.
* Any other 4xx, and 501: permanent.
"""

from __future__ import annotations

import email.utils
import enum
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from vox_activity.protocol.iri import ascii_int

__all__ = [
    "RETRYABLE_STATUSES",
    "RETRY_AFTER_CAP",
    "Outcome",
    "backoff",
    "classify",
    "next_attempt_delay",
    "parse_retry_after",
]

RETRY_AFTER_CAP = timedelta(days=1)
RETRYABLE_STATUSES = frozenset({401, 408, 429})


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    GONE = "gone"


def classify(status: int | None) -> Outcome:
    """The outcome of an HTTP status (None: no response at all)."""
    if status is None:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in (404, 410):
        return Outcome.GONE
    if status in RETRYABLE_STATUSES or (500 <= status < 600 and status != 501):
        return Outcome.RETRY
    return Outcome.FAILED


def backoff(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Delay before attempt ``attempt + 1`` after ``attempt`` failed (1-based)."""
    jitter = (rng or random).randint(0, 30) * (attempt + 1)
    return timedelta(seconds=attempt**4 + 15 + jitter)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None if absent or garbage."""
    if not value:
        return None
    value = value.strip()
    seconds = ascii_int(value)
    if seconds is not None:
        delay = timedelta(seconds=seconds)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - now
    return max(timedelta(0), min(delay, RETRY_AFTER_CAP))


def scheduled_delay(attempt: int, delays: Sequence[float]) -> timedelta:
    """Delay after ``attempt`` failed (1-based) from a fixed schedule.

    ``delays[0]`` follows the first attempt, and so on; the last value is
    used for every later attempt.  (``DELIVERY_RETRY_DELAYS``.)
    """
    if not delays:
        raise ValueError("a retry schedule needs at least one delay")
    index = min(max(attempt, 1), len(delays)) - 1
    return timedelta(seconds=max(0.0, float(delays[index])))


def next_attempt_delay(
    attempt: int,
    retry_after: str | None,
    now: datetime,
    rng: random.Random | None = None,
    schedule: Sequence[float] | None = None,
) -> timedelta:
    """The backoff (or ``schedule``), or the server's Retry-After if longer."""
    delay = scheduled_delay(attempt, schedule) if schedule else backoff(attempt, rng)
    asked = parse_retry_after(retry_after, now)
    return max(delay, asked) if asked is not None else delay
