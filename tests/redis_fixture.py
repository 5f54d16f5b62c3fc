"""A Redis server for the tests that run RQ workers; import the fixture.

``from tests.redis_fixture import redis_server`` in a test module makes the
``redis_server`` fixture available there (a :class:`RedisServer`):

* with ``REDIS_URL`` set (``.ci/run`` starts a private server and sets it),
  that server; it must answer.  The tests empty the Redis databases they
  use (see ``testsite.redis_server.DATABASES``): point ``REDIS_URL`` at a
  throwaway server, never at one holding data you want to keep;
* otherwise a private ``redis-server`` started on a free loopback port with
  a temporary directory, and stopped (by the pid it started) at the end;
* when neither is possible the tests that need Redis are skipped, with the
  reason, except in CI (``CI=true``), where they fail: CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from testsite.redis_server import RedisError, RedisServer

__all__ = ["in_ci", "redis_server", "unavailable"]


def in_ci() -> bool:
    """``CI`` is set to a true value (as dev.py reads it)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip the test, or fail it in CI: a missing service hides no feature there."""
    if in_ci():
        pytest.fail(f"{reason} (CI must run this test)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    url = os.environ.get("REDIS_URL")
    if url:
        try:
            server = RedisServer.from_url(url)
        except RedisError as exc:
            pytest.fail(f"REDIS_URL: {exc}", pytrace=False)
        if not server.ping():
            pytest.fail(f"nothing answers at REDIS_URL={url}", pytrace=False)
        yield server
        return
    try:
        server = RedisServer.start()
    except RedisError as exc:
        unavailable(
            f"no Redis for the RQ tests: REDIS_URL is not set, and {exc} "
            "(apt-get install redis-server)"
        )
    try:
        yield server
    finally:
        server.stop()
