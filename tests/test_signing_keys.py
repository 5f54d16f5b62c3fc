"""Signing keys are parsed once per process, and a rotation replaces them at once."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from vox_activity.models import ActorKey
from vox_activity.net.signing import forget_signing_keys, signing_key_for

ALICE = "https://testserver/~alice/"


def test_a_key_is_read_from_the_database_once(alice, settings):
    settings.VOX_ACTIVITY = {"KEY_SIZE": 1024}
    first = signing_key_for(ALICE)
    with CaptureQueriesContext(connection) as queries:
        again = [signing_key_for(ALICE) for _ in range(20)]
    assert len(queries) == 0
    assert {key.private_key_pem for key in again} == {first.private_key_pem}
    assert first.key_id == ALICE + "#main-key"
    assert "PRIVATE" not in repr(first)


def test_a_rotation_replaces_the_cached_key_in_this_process(alice, settings):
    settings.VOX_ACTIVITY = {"KEY_SIZE": 1024}
    before = signing_key_for(ALICE)
    rotated = ActorKey.objects.rotate(alice)
    after = signing_key_for(ALICE)
    assert after.private_key_pem == rotated.private_key_pem != before.private_key_pem


def test_forgetting_reads_the_key_again(alice, settings):
    settings.VOX_ACTIVITY = {"KEY_SIZE": 1024}
    signing_key_for(ALICE)
    forget_signing_keys()
    with CaptureQueriesContext(connection) as queries:
        signing_key_for(ALICE)
    assert len(queries) >= 1
