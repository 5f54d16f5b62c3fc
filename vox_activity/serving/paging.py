"""Paged OrderedCollections with keyset paging, newest first.

The collection itself (``/~alice/inbox``) carries ``totalItems`` and links to
its ``first`` page.  Pages are addressed by row id, as Mastodon does:
``?page=true`` (newest), ``?max_id=N`` (older than N), ``?min_id=N`` (newer
than N).  Each page is one indexed range query however deep it is, unlike
OFFSET paging whose cost grows with the page number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import QueryDict

from vox_activity.conf import get_setting
from vox_activity.exceptions import Refused
from vox_activity.protocol.iri import ascii_int
from vox_activity.protocol.vocabulary import AS_CONTEXT

__all__ = [
    "collection",
    "collection_page",
    "is_page_request",
    "page_size",
]


def _positive_int(params: QueryDict, name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    value = ascii_int(raw)
    if value is None or value < 1:
        raise Refused(400, f"{name} must be a positive whole number, not {raw!r}.")
    return value


def page_size(params: QueryDict) -> int:
    limit = _positive_int(params, "limit")
    default = get_setting("PAGE_SIZE")
    return min(limit or default, get_setting("MAX_PAGE_SIZE"))


def is_page_request(params: QueryDict) -> bool:
    return any(name in params for name in ("page", "max_id", "min_id", "limit"))


def collection(
    collection_iri: str, total: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The collection document: size and a link to its first page."""
    return {
        "@context": AS_CONTEXT,
        "id": collection_iri,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": f"{collection_iri}?page=true",
        **(extra or {}),
    }


def collection_page(
    collection_iri: str,
    queryset: QuerySet,
    params: QueryDict,
    render: Callable[[Any], Any],
    context: Any = AS_CONTEXT,
) -> dict[str, Any]:
    """One page of ``queryset`` (any model with an integer ``id``), newest first."""
    limit = page_size(params)
    max_id = _positive_int(params, "max_id")
    min_id = _positive_int(params, "min_id")
    if max_id is not None and min_id is not None:
        raise Refused(400, "Use max_id or min_id, not both.")
    if min_id is not None:
        rows = list(queryset.filter(id__gt=min_id).order_by("id")[: limit + 1])
        has_newer = len(rows) > limit
        rows = rows[:limit][::-1]
        has_older = bool(rows) and queryset.filter(id__lt=rows[-1].id).exists()
    else:
        window = queryset if max_id is None else queryset.filter(id__lt=max_id)
        rows = list(window.order_by("-id")[: limit + 1])
        has_older = len(rows) > limit
        rows = rows[:limit]
        has_newer = bool(rows) and queryset.filter(id__gt=rows[0].id).exists()

    query = {k: v for k, v in params.items() if k in ("max_id", "min_id", "limit")}
    page: dict[str, Any] = {
        "@context": context,
        "id": f"{collection_iri}?{urlencode({'page': 'true', **query})}",
        "type": "OrderedCollectionPage",
        "partOf": collection_iri,
        "orderedItems": [render(row) for row in rows],
    }
    keep = {"limit": params["limit"]} if "limit" in params else {}
    if has_older:
        page["next"] = f"{collection_iri}?{urlencode({'max_id': rows[-1].id, **keep})}"
    if has_newer:
        page["prev"] = f"{collection_iri}?{urlencode({'min_id': rows[0].id, **keep})}"
    return page
