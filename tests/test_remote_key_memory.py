"""Remote keys remembered per process for a few seconds (``RemoteKey.objects.usable``).

Every inbox POST needs its sender's key; a busy sender posts many times a
second.  What a change does to the memory: in this process at once, from
another process (a write that sends no signal) after ``KEYS_CACHE_SECONDS``.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vox_activity.models import RemoteActor, RemoteKey
from vox_activity.models import remote as remote_models
from vox_activity.protocol.actor_documents import KeyFields

from .support.remote_actors import public_key


@pytest.fixture
def clock(monkeypatch):
    """The memory's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(remote_models.time, "monotonic", lambda: now[0])
    return now


def queries_for(key_id: str) -> tuple[RemoteKey | None, int]:
    with CaptureQueriesContext(connection) as queries:
        key = RemoteKey.objects.usable(key_id)
    return key, len(queries)


def test_a_key_read_once_is_not_read_again_soon(carol, clock):
    first, count = queries_for(carol.key_id)
    assert count == 1 and first is not None and first.actor.iri == carol.iri
    again, count = queries_for(carol.key_id)
    assert (again, count) == (first, 0)
    clock[0] += remote_models.KEYS_CACHE_SECONDS + 1
    later, count = queries_for(carol.key_id)
    assert count == 1 and later == first


def test_a_key_changed_here_is_seen_at_once(carol, clock):
    queries_for(carol.key_id)
    carol.row.add_key(KeyFields(carol.key_id, "rsa", public_key(3)))  # rotated
    key, count = queries_for(carol.key_id)
    assert count == 1 and key is not None
    assert key.public_key_pem == public_key(3)


def test_an_actor_marked_gone_here_verifies_nothing_at_once(carol, clock):
    assert queries_for(carol.key_id)[0] is not None
    RemoteActor.objects.mark_gone([carol.iri])
    assert queries_for(carol.key_id) == (None, 1)


def test_a_change_made_by_another_process_is_seen_within_the_bound(carol, clock):
    queries_for(carol.key_id)
    # Another process's write: no signal reaches this one.
    RemoteKey.objects.filter(key_id=carol.key_id).update(public_key_pem="changed")
    assert queries_for(carol.key_id)[0].public_key_pem == public_key(0)
    clock[0] += remote_models.KEYS_CACHE_SECONDS + 0.5
    assert queries_for(carol.key_id)[0].public_key_pem == "changed"


def test_unknown_keys_are_not_remembered(carol, clock):
    assert queries_for("https://remote.example/users/nobody#main-key") == (None, 1)
    assert queries_for("https://remote.example/users/nobody#main-key") == (None, 1)


def test_the_memory_is_bounded(carol, dave, erin, clock, monkeypatch):
    monkeypatch.setattr(remote_models, "_RECENT_KEYS_MAX", 2)
    for remote in (carol, dave, erin):
        queries_for(remote.key_id)
    assert list(remote_models._recent_keys) == [dave.key_id, erin.key_id]
    assert queries_for(carol.key_id)[1] == 1  # forgotten, read again


def test_a_read_that_races_a_change_is_not_remembered(carol, clock, monkeypatch):
    """A change forgotten while a key was being read: the row read may predate
    it, so it is used once but not remembered."""
    read = remote_models.RemoteKeyQuerySet.filter

    def changed_meanwhile(self, *args, **kwargs):
        remote_models.forget_recent_keys()  # another thread saved a key
        return read(self, *args, **kwargs)

    monkeypatch.setattr(remote_models.RemoteKeyQuerySet, "filter", changed_meanwhile)
    key, count = queries_for(carol.key_id)
    assert key is not None and count == 1
    assert carol.key_id not in remote_models._recent_keys
    monkeypatch.setattr(remote_models.RemoteKeyQuerySet, "filter", read)
    assert queries_for(carol.key_id)[1] == 1  # read again, now remembered
    assert queries_for(carol.key_id)[1] == 0
