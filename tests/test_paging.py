"""Keyset paging at its edges (serving/paging.py), on real rows.

Found by the mutation check (devtools/mutation.py): a limit of exactly 1, a
``min_id`` page that is empty or reaches the oldest row, and which query
parameters a page's id repeats.
"""

from __future__ import annotations

import pytest
from django.http import QueryDict

from vox_activity.exceptions import Refused
from vox_activity.models import Activity
from vox_activity.serving.paging import collection_page

IRI = "https://testserver/~alice/outbox"


@pytest.fixture
def rows(db):
    """Five activities, ids ascending: oldest first."""
    for n in range(5):
        Activity.objects.store(
            {"id": f"https://testserver/a/{n}", "type": "Create", "name": f"n{n}"},
            local=True,
        )
    return Activity.objects.all()


def page(rows, query: str) -> dict:
    return collection_page(IRI, rows, QueryDict(query), lambda row: row.data["name"])


def test_a_limit_of_one_is_one_item(rows):
    first = page(rows, "page=true&limit=1")
    assert first["orderedItems"] == ["n4"]
    assert "next" in first and "prev" not in first


def test_zero_is_not_a_limit(rows):
    with pytest.raises(Refused):
        page(rows, "page=true&limit=0")


def test_a_min_id_past_the_newest_is_an_empty_page_without_links(rows):
    newest = rows.order_by("-id").first().id
    empty = page(rows, f"min_id={newest}")
    assert empty["orderedItems"] == []
    assert "next" not in empty and "prev" not in empty


def test_a_min_id_page_that_reaches_the_oldest_links_no_older(rows):
    n0 = rows.order_by("id").first().id
    collection = rows.filter(id__gt=n0)  # n1 ... n4: n1 is the oldest
    middle = page(collection, f"min_id={n0 + 1}&limit=2")
    assert middle["orderedItems"] == ["n3", "n2"]
    assert "next" in middle and "prev" in middle
    oldest = page(collection, f"min_id={n0}&limit=2")
    assert oldest["orderedItems"] == ["n2", "n1"]
    assert "next" not in oldest and "prev" in oldest


def test_a_page_id_repeats_only_the_paging_parameters(rows):
    first = page(rows, "page=true&limit=2&utm_source=x")
    assert first["id"] == f"{IRI}?page=true&limit=2"
    assert first["next"].endswith("&limit=2")
