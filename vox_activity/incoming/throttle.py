"""Inbox POSTs per remote server, counted and capped (429 with Retry-After).

A server is known by the host of the ``keyId`` it signs with, *and* the
address the request came from: counting by the claimed host alone would let
anyone spend mastodon.social's allowance by naming its keys; counting by
address alone would cap a whole hosting provider.  A 429 is a temporary
failure to senders: Mastodon retries it on its own back-off schedule (we
found no sign that it reads ``Retry-After``); the header is there for
senders that do.

The counters live in Django's cache: per process with the default local
memory cache, shared between processes (and so exact) with Redis or
Memcached.  Behind a reverse proxy, make ``REMOTE_ADDR`` the client's address
(or the proxy's address stands for everyone).
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache
from django.http import HttpRequest

from vox_activity.conf import get_setting
from vox_activity.exceptions import Refused
from vox_activity.protocol.iri import origin_of

__all__ = ["throttle"]


def throttle(key_id: str, request: HttpRequest) -> None:
    """Count this POST; :class:`Refused` (429) when the server is over its limit."""
    limit = get_setting("INBOX_RATE_LIMIT")
    if not limit:
        return
    window = int(get_setting("INBOX_RATE_WINDOW"))
    now = time.time()
    slot = int(now // window)
    who = f"{origin_of(key_id)}|{request.META.get('REMOTE_ADDR', '')}"
    key = f"vox_activity:rate:{hashlib.sha256(who.encode()).hexdigest()}:{slot}"
    cache.add(key, 0, window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: count again
        cache.add(key, 1, window + 1)
        count = 1
    if count > int(limit):
        retry_after = max(1, math.ceil((slot + 1) * window - now))
        raise Refused(
            429,
            f"Too many activities from this server; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
