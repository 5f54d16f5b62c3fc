"""Bounded network while answering a request: a deadline, slots, a memory of slow hosts.

An inbox POST may need the sender's key before it can be answered, and the
key lives on the sender's server.  Fetched naively in the request thread,
that lets four hostile POSTs whose key servers trickle a byte every few
seconds hold every thread of a small server (measured: a plain ``GET /``
then took 28 s).  So fetches made while answering a request run inside
:func:`request_budget`, which gives them:

* one short total deadline for all of them (``FETCH_DEADLINE``, seconds);
* a cap on fetches in flight per process (``FETCH_CONCURRENCY``) and per
  remote host (``FETCH_CONCURRENCY_PER_HOST``); a fetch that finds no free
  slot fails at once instead of waiting, so threads are never held in line;
* a per-host memory of timeouts: a host that timed out is not asked again
  while answering requests for ``FETCH_HOST_BACKOFF`` seconds.

The caller turns any failure into a 401, which senders retry later.
Background work (deliveries, tasks) runs without a budget and keeps the
ordinary HTTP limits.
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache

from vox_activity.conf import get_setting
from vox_activity.exceptions import HttpError

__all__ = [
    "Budget",
    "current_budget",
    "fetch_slot",
    "note_timeout",
    "request_budget",
]


@dataclass
class Budget:
    """The time left for fetches made while answering one request."""

    ends: float

    def remaining(self) -> float:
        return self.ends - time.monotonic()


_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "vox_activity_fetch_budget", default=None
)
_slots_lock = threading.Lock()
_process_slots: threading.BoundedSemaphore | None = None
_process_slots_size = 0
_host_slots: dict[str, int] = {}


@contextmanager
def request_budget(seconds: float | None = None) -> Iterator[Budget]:
    """Bound every fetch inside the block by one deadline (and the caps)."""
    if seconds is None:
        seconds = float(get_setting("FETCH_DEADLINE"))
    outer = _budget.get()
    ends = time.monotonic() + seconds
    if outer is not None:
        ends = min(ends, outer.ends)
    token = _budget.set(Budget(ends))
    try:
        yield _budget.get()  # type: ignore[misc]
    finally:
        _budget.reset(token)


def current_budget() -> Budget | None:
    return _budget.get()


def _process_semaphore() -> threading.BoundedSemaphore:
    global _process_slots, _process_slots_size
    size = int(get_setting("FETCH_CONCURRENCY"))
    with _slots_lock:
        if _process_slots is None or _process_slots_size != size:
            _process_slots = threading.BoundedSemaphore(size)
            _process_slots_size = size
        return _process_slots


def _slow_key(host: str) -> str:
    return "vox_activity:slow-host:" + hashlib.sha256(host.encode()).hexdigest()


@contextmanager
def fetch_slot(host: str, url: str) -> Iterator[None]:
    """Take a slot for one fetch from ``host`` under the current budget.

    Without a budget (background work) this does nothing.  Raises
    :class:`~vox_activity.exceptions.HttpError` when the budget is spent, the
    host recently timed out, or no slot is free.
    """
    budget = _budget.get()
    if budget is None:
        yield
        return
    if budget.remaining() <= 0:
        raise HttpError(f"No time left to fetch {url} while answering.", url=url)
    if cache.get(_slow_key(host)):
        raise HttpError(
            f"{host} timed out recently; not asked again while answering.", url=url
        )
    semaphore = _process_semaphore()
    if not semaphore.acquire(blocking=False):
        raise HttpError(f"Too many fetches in progress to fetch {url} now.", url=url)
    try:
        with _host_slot(host, url):
            yield
    finally:
        semaphore.release()


def note_timeout(host: str) -> None:
    """``host`` timed out while answering a request: leave it alone a while."""
    if _budget.get() is not None:
        cache.set(_slow_key(host), True, int(get_setting("FETCH_HOST_BACKOFF")))


@contextmanager
def _host_slot(host: str, url: str) -> Iterator[None]:
    cap = int(get_setting("FETCH_CONCURRENCY_PER_HOST"))
    with _slots_lock:
        if _host_slots.get(host, 0) >= cap:
            raise HttpError(f"Already fetching from {host}; try again later.", url=url)
        _host_slots[host] = _host_slots.get(host, 0) + 1
    try:
        yield
    finally:
        with _slots_lock:
            _host_slots[host] -= 1
            if not _host_slots[host]:
                del _host_slots[host]
