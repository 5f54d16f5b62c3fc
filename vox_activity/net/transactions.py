""" "No network inside a database transaction", enforced rather than commented.

A remote server decides how long its answer takes.  Waiting for it inside a
transaction holds row locks (on SQLite, the whole database) for as long as
that server likes, so one slow peer can stall every request of the site.
Every outbound request passes :func:`refuse_inside_transaction` first, and
code that needs remote data fetches it before it opens a transaction.

The atomic blocks that Django's ``TestCase`` (and pytest-django's ``db``
fixture) wrap around each test are not real transactions of the code under
test, so they do not count.
"""

from __future__ import annotations

from django.db import connections

from vox_activity.exceptions import NetworkInTransactionError

__all__ = ["in_transaction", "refuse_inside_transaction"]


def in_transaction() -> bool:
    """Is any database connection of this thread inside ``atomic()``?"""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            continue
        blocks = getattr(connection, "atomic_blocks", None)
        if blocks is None:  # pragma: no cover - Django always has it today
            return True
        if any(not getattr(block, "_from_testcase", False) for block in blocks):
            return True
    return False


def refuse_inside_transaction(what: str) -> None:
    """Raise :class:`NetworkInTransactionError` if a transaction is open."""
    if in_transaction():
        raise NetworkInTransactionError(
            f"Refused to make a network request ({what}) inside a database "
            "transaction: fetch what is needed before the transaction starts."
        )
