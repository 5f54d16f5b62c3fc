"""The delivery retry policy, on its own."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from vox_activity.protocol.retry_policy import (
    RETRY_AFTER_CAP,
    Outcome,
    backoff,
    classify,
    next_attempt_delay,
    parse_retry_after,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (202, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (401, Outcome.RETRY),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (502, Outcome.RETRY),
        (503, Outcome.RETRY),
        (599, Outcome.RETRY),
        (None, Outcome.RETRY),  # timeout, refused connection
        (501, Outcome.FAILED),
        (400, Outcome.FAILED),
        (403, Outcome.FAILED),
        (422, Outcome.FAILED),
        (404, Outcome.GONE),
        (410, Outcome.GONE),
        (301, Outcome.FAILED),  # redirects are followed earlier; one left is an error
    ],
)
def test_status_classes(status, outcome):
    assert classify(status) is outcome


def test_backoff_grows_and_spans_two_to_three_days_over_16_attempts():
    rng = random.Random(1)
    delays = [backoff(n, rng) for n in range(1, 16)]
    assert delays == sorted(delays)
    total = sum(delays, timedelta())
    assert timedelta(days=2) < total < timedelta(days=3), total


def test_backoff_has_jitter():
    values = {backoff(3, random.Random(seed)) for seed in range(20)}
    assert len(values) > 5


@pytest.mark.parametrize("attempt", [1, 2, 5])
def test_backoff_jitter_spans_zero_to_thirty_steps(attempt):
    """attempt⁴ + 15 s, plus 0..30 jitter steps of (attempt + 1) s each."""
    values = {backoff(attempt, random.Random(seed)) for seed in range(400)}
    floor = attempt**4 + 15
    assert min(values) == timedelta(seconds=floor)
    assert max(values) == timedelta(seconds=floor + 30 * (attempt + 1))
    steps = {(v.total_seconds() - floor) / (attempt + 1) for v in values}
    assert steps == set(range(31))


def test_retry_after_seconds_and_dates():
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after("Thu, 01 Jan 2026 12:10:00 GMT", NOW) == timedelta(
        minutes=10
    )
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", NOW) == timedelta(0)
    assert parse_retry_after("999999999", NOW) == RETRY_AFTER_CAP == timedelta(days=1)
    # RFC 5322's "-0000" (no zone known) parses naive: read as UTC.
    assert parse_retry_after("Thu, 01 Jan 2026 12:10:00 -0000", NOW) == timedelta(
        minutes=10
    )
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_retry_after_wins_only_when_longer():
    rng = random.Random(0)
    short = next_attempt_delay(1, "1", NOW, random.Random(0))
    assert short == backoff(1, rng)
    assert next_attempt_delay(1, "3600", NOW, random.Random(0)) == timedelta(hours=1)


def test_a_fixed_schedule_repeats_its_last_delay():
    from vox_activity.protocol.retry_policy import scheduled_delay

    schedule = [5, 60, 3600]
    assert [scheduled_delay(n, schedule).total_seconds() for n in range(1, 6)] == [
        5,
        60,
        3600,
        3600,
        3600,
    ]
    with pytest.raises(ValueError, match="at least one delay"):
        scheduled_delay(1, [])


def test_a_fixed_schedule_still_honours_a_longer_retry_after():
    schedule = [5]
    assert next_attempt_delay(1, None, NOW, schedule=schedule) == timedelta(seconds=5)
    assert next_attempt_delay(1, "120", NOW, schedule=schedule) == timedelta(
        seconds=120
    )
    assert next_attempt_delay(1, "1", NOW, schedule=schedule) == timedelta(seconds=5)
