"""SQL statements counted in a server process, by verb, for ``bench/inbox_floor.py``.

The inbox benchmark's waitress process installs the counter once
(:func:`install`); every database connection any of its threads opens gets
an execute wrapper that adds one to the statement's verb (``SELECT``,
``INSERT``, ``SAVEPOINT``...).  The benchmark reads the totals over HTTP
(``GET /_bench/sql``, :mod:`bench.floor_views`) before and after a run, so
the difference divided by the number of POSTs is the statements per POST of
the path it timed.

Counted: every statement Django executes through a cursor, ``BEGIN`` and
savepoints included (SQLite's ``BEGIN IMMEDIATE`` too); not counted: the
``COMMIT`` and ``ROLLBACK`` Django sends through the driver's own methods.
The wrapper keeps no SQL text, only one dictionary increment under a lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["install", "snapshot"]

_lock = threading.Lock()
_counts: Counter[str] = Counter()


def _count(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    with _lock:
        _counts[verb] += 1
    return execute(sql, params, many, context)


def _watch(sender: Any, connection: Any, **kwargs: Any) -> None:
    # With persistent connections this runs once per thread; with PostgreSQL's
    # pool, every time a thread takes a connection: never wrap twice.
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


def install() -> None:
    """Count the statements of every connection opened from now on."""
    from django.db.backends.signals import connection_created

    connection_created.connect(_watch, dispatch_uid="vox-bench-sql-counter")


def snapshot() -> dict[str, int]:
    """The totals so far, by verb."""
    with _lock:
        return dict(_counts)
