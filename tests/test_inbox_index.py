"""One index per inbox serves its pages and its unread count.

A fan-out writes a row into every B-tree of the inbox table, so the table
has one per-owner index, ``vox_inbox_owner`` (owner, newest first,
``read_at``), instead of one for paging and one for unread items.  These
tests ask each database's planner whether that index serves the queries an
inbox makes: a page newest first (no sort), the next page (keyset), the
unread filter and the unread count.

A planner's choice follows the table's statistics, and on a table of ten
rows every index costs the same: the first CI run on a fresh PostgreSQL
chose the unique (activity, owner) index for the unread count, a tie broken
by chance.  So the fixture gives the table the shape an inbox table has in
use, a few thousand rows spread over many owners and half of them read, and
runs ``ANALYZE`` before asking: the owner index then wins on cost, as it
does on a site.  On PostgreSQL sequential and bitmap scans are still turned
off for the question, so what is asserted is that the owner index serves
the query, not how a planner weighs a scan of a small table.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from vox_activity.models import InboxItem

from .support.inbox import stored_create

pytestmark = pytest.mark.django_db


#: Other owners' rows around alice's: many owners, each with a few rows.
OTHER_OWNERS = 40
OTHER_ACTIVITIES = 100


@pytest.fixture
def crowded_table():
    """Rows of other owners, half of them read, and fresh statistics."""
    others = list(range(10**6, 10**6 + OTHER_OWNERS))
    for n in range(OTHER_ACTIVITIES):
        activity = stored_create(n, origin="https://elsewhere.example")
        InboxItem.objects.fill_by_model(activity, {get_user_model(): others})
    rows = InboxItem.objects.order_by("id").values_list("id", flat=True)
    InboxItem.objects.filter(id__lte=rows[len(rows) // 2]).mark_read()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {InboxItem._meta.db_table}")


@pytest.fixture
def inbox(crowded_table, alice, bob):
    for n in range(5):
        InboxItem.objects.fill(stored_create(n), [alice, bob])
    items = InboxItem.objects.for_owner(alice)
    oldest = items.order_by("id").values_list("id", flat=True)[:2]
    items.filter(id__in=list(oldest)).mark_read()
    return items


def plan(queryset) -> str:
    """The database's plan for ``queryset``, as text."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
    return queryset.explain()


QUERIES = {
    "a page, newest first": lambda items: items.newest_first()[:20],
    "the next page": lambda items: items.filter(id__lt=10**9).newest_first()[:20],
    "the unread items": lambda items: items.unread().newest_first()[:20],
    "the unread count": lambda items: items.unread().values("id"),
}


@pytest.mark.parametrize("query", QUERIES)
def test_the_owner_index_serves_the_inbox_without_a_sort(inbox, query):
    text = plan(QUERIES[query](inbox))
    assert "vox_inbox_owner" in text
    assert "Sort" not in text  # PostgreSQL's sort node
    assert "TEMP B-TREE" not in text  # SQLite's sort


#: How each database says it answered from the index alone.
INDEX_ONLY = {
    "sqlite": "COVERING INDEX vox_inbox_owner",
    "postgresql": "Index Only Scan using vox_inbox_owner",
}


def test_the_unread_count_reads_the_index_alone(inbox):
    """read_at is in the index: counting unread items reads no table row."""
    assert INDEX_ONLY[connection.vendor] in plan(inbox.unread().values("id"))


def test_the_queries_answer_what_the_inbox_holds(inbox):
    """The plans above are plans for the right answers."""
    newest = list(inbox.newest_first().values_list("id", "read_at"))
    assert [pk for pk, _ in newest] == sorted((pk for pk, _ in newest), reverse=True)
    assert [read is None for _, read in newest] == [True, True, True, False, False]
    assert inbox.unread().count() == 3
    assert inbox.unread().mark_read() == 3
    assert inbox.unread().count() == 0
