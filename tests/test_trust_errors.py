"""Errors and transactions: one exception root, headers that reach the answer,
and no network inside a database transaction.

* A remote server decides how long its answer takes; waiting for it inside
  a transaction holds locks (on SQLite, the whole database) for that long.
  So :func:`vox_activity.net.http.request` refuses to run inside
  ``transaction.atomic()`` (:class:`NetworkInTransactionError`), while the
  atomic block pytest-django and ``TestCase`` wrap around each test does not
  count.
* Everything the package raises on purpose derives from
  :class:`VoxActivityError`, so a site can catch one class.
* :class:`Refused` carries headers (``Retry-After``, ``Allow``), and they
  reach the HTTP answer.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django.db import transaction

import vox_activity
from vox_activity.exceptions import (
    NetworkInTransactionError,
    Refused,
    VoxActivityError,
)
from vox_activity.incoming.handlers import LikeHandler
from vox_activity.net import http
from vox_activity.net.transactions import in_transaction

from .fediverse import Fediverse
from .settings import SUITE_VOX_ACTIVITY
from .support.constants import SITE
from .support.records import table_counts
from .support.remote_actors import make_remote, post_signed

ALICE = f"{SITE}/~alice/"
SHARED = "/activitypub/inbox"


@pytest.fixture
def server(httpsig, settings):
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "ALLOW_PRIVATE_ADDRESSES": True,
        "INBOX_RATE_LIMIT": None,
    }
    fediverse = Fediverse(httpsig)
    yield fediverse.server()
    fediverse.close()


# --- no network inside a transaction ---------------------------------------------


def test_a_request_inside_atomic_is_refused_before_it_is_sent(db, server):
    with transaction.atomic(), pytest.raises(NetworkInTransactionError) as refused:
        http.get(server.url("/users/x"))
    assert "inside a database transaction" in str(refused.value)
    assert server.requests() == []


def test_a_request_inside_a_nested_atomic_is_refused(db, server):
    with (
        transaction.atomic(),
        transaction.atomic(),
        pytest.raises(NetworkInTransactionError),
    ):
        http.post(server.url("/inbox"), b"{}")
    assert server.requests() == []


def test_the_test_wrapper_is_no_transaction_of_the_code(db, server):
    """pytest-django's ``db`` wraps the test in atomic(); that one is not ours."""
    assert not in_transaction()
    assert http.get(server.url("/users/x")).status_code == 404
    assert len(server.requests()) == 1


def test_outside_any_transaction_requests_go_out(transactional_db, server):
    assert not in_transaction()
    assert http.get(server.url("/users/x")).status_code == 404
    with transaction.atomic():
        assert in_transaction()
        with pytest.raises(NetworkInTransactionError):
            http.get(server.url("/users/y"))
    assert [hit.path for hit in server.requests()] == ["/users/x"]


def test_the_error_is_a_programming_error_and_ours():
    assert issubclass(NetworkInTransactionError, VoxActivityError)
    assert issubclass(NetworkInTransactionError, RuntimeError)
    assert not issubclass(NetworkInTransactionError, Refused)


# --- one exception root ------------------------------------------------------------


def _package_modules():
    yield vox_activity
    for info in pkgutil.walk_packages(vox_activity.__path__, "vox_activity."):
        if ".migrations." in info.name:
            continue
        yield importlib.import_module(info.name)


def _error_classes():
    seen = {}
    for module in _package_modules():
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("vox_activity")
            ):
                seen[f"{value.__module__}.{value.__qualname__}"] = value
    return seen


def test_every_error_class_derives_from_vox_activity_error():
    """Private classes (a leading underscore) never leave their module: they
    are caught where they are raised (``actor_documents._Refusal``)."""
    found = _error_classes()
    assert "vox_activity.net.http.RequestTimeoutError" in found
    assert "vox_activity.diagnostics.channels.Unreachable" in found
    outside = sorted(
        name
        for name, cls in found.items()
        if not issubclass(cls, VoxActivityError) and not cls.__name__.startswith("_")
    )
    assert outside == []


# --- Refused headers reach the answer -----------------------------------------------


class RefusingLikeHandler(LikeHandler):
    """A site's handler that refuses inside ``apply``, with headers."""

    def apply(self, incoming):
        super().apply(incoming)
        raise Refused(
            409,
            "Not now.",
            headers={"Retry-After": "120", "X-Vox-Reason": "maintenance"},
        )


def test_refused_headers_from_a_handler_reach_the_response(client, alice, settings):
    settings.VOX_ACTIVITY = {
        **SUITE_VOX_ACTIVITY,
        "INBOX_RATE_LIMIT": None,
        "INBOX_HANDLERS": {"Like": f"{__name__}.RefusingLikeHandler"},
    }
    carol = make_remote("carol")
    before = table_counts()
    response = post_signed(client, SHARED, carol.activity("Like", ALICE), carol)
    assert response.status_code == 409
    assert response["Retry-After"] == "120"
    assert response["X-Vox-Reason"] == "maintenance"
    assert response.json() == {"error": "Not now."}
    assert table_counts() == before  # apply ran, and was rolled back


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", SHARED, "POST"),
        ("POST", "/activitypub/actor", "GET"),
        ("POST", "/activitypub/actor/outbox", "GET"),
        ("POST", "/.well-known/webfinger", "GET"),
    ],
)
def test_a_wrong_method_is_405_with_allow(client, alice, method, path, allow):
    response = client.generic(method, path, HTTP_ACCEPT="application/activity+json")
    assert response.status_code == 405
    assert response["Allow"] == allow
