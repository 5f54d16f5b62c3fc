"""``AnyOf``: ``IN`` with every value in one bound parameter."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from vox_activity.lookups import AnyOf

User = get_user_model()


def usernames(values, field="username"):
    return sorted(
        User.objects.filter(AnyOf(F(field), values)).values_list("username", flat=True)
    )


def test_text_values_select_their_rows(alice, bob, make_user):
    make_user("carol")
    assert usernames(["alice", "carol", "nobody"]) == ["alice", "carol"]


def test_the_values_are_one_parameter(alice, make_user):
    for n in range(50):
        make_user(f"u{n}")
    wanted = [f"u{n}" for n in range(50)]
    queryset = User.objects.filter(AnyOf(F("username"), wanted))
    _, params = queryset.query.sql_with_params()
    assert len(params) == 1  # an array (PostgreSQL) or JSON text (SQLite)
    with CaptureQueriesContext(connection) as queries:
        assert len(list(queryset)) == 50
    assert len(queries) == 1


def test_integer_keys(alice, bob):
    assert usernames([alice.pk], "pk") == ["alice"]
    assert usernames([alice.pk, bob.pk, 10**9], "id") == ["alice", "bob"]


def test_no_values_select_nothing(alice):
    assert usernames([]) == []
    assert usernames([], "pk") == []


def test_quotes_and_unicode_are_values_not_sql(make_user):
    make_user("o'brien")
    make_user("zoë")
    assert usernames(["o'brien", "zoë", '"); DROP TABLE auth_user; --']) == [
        "o'brien",
        "zoë",
    ]
    assert User.objects.count() == 2


def test_other_databases_get_djangos_own_in(alice, bob, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "mysql")
    queryset = User.objects.filter(AnyOf(F("username"), ["alice"]))
    sql, params = queryset.query.sql_with_params()
    assert " IN (%s)" in sql
    assert params == ("alice",)
