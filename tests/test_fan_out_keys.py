"""The local fan-out's keys and inserts: each owner once, in flat memory.

``LocalRecipients`` keeps integer keys once each with a bitmap (so that the
inbox insert needs no conflict handling) and gives up, keeping repeats for
the database to skip, where a bitmap cannot say (text keys, huge or negative
ids).  ``InboxItem.objects.fill_keys`` writes either way; ``distinct`` is a
promise the unique constraint enforces.  The inbox's foreign keys have no
database constraint: Django's cascade still removes the rows.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from vox_activity.models import Activity, InboxItem
from vox_activity.models import activity as activity_models
from vox_activity.outgoing import publish as publish_module
from vox_activity.outgoing.publish import LocalRecipients

User = get_user_model()


def keys_of(recipients: LocalRecipients) -> list[tuple[int, list, bool]]:
    return [(t, list(keys), distinct) for t, keys, distinct in recipients.by_type()]


def user_type() -> int:
    return ContentType.objects.get_for_model(User).pk


def test_integer_keys_are_kept_once_across_calls(db):
    recipients = LocalRecipients()
    recipients.add({User: [7, 3, 7]})
    recipients.add({User: [3, 100_000, 0]})
    assert keys_of(recipients) == [(user_type(), [7, 3, 100_000, 0], True)]
    assert len(recipients) == 4


@pytest.mark.parametrize("odd", [-1, publish_module.BITMAP_KEYS, 2**62])
def test_keys_a_bitmap_cannot_hold_are_kept_with_their_repeats(db, odd):
    recipients = LocalRecipients()
    recipients.add({User: [5, 5]})
    recipients.add({User: [odd, 5]})
    ((_, keys, distinct),) = keys_of(recipients)
    assert not distinct
    assert keys == [5, odd, 5]  # the database skips the repeat


def test_text_keys_are_kept_as_text_with_their_repeats(db):
    recipients = LocalRecipients()
    recipients.add({User: [1, 1]})
    recipients.add({User: ["a1b2", 1]})
    assert keys_of(recipients) == [(user_type(), ["1", "a1b2", "1"], False)]


def test_the_bitmap_follows_the_largest_key_not_the_count(db):
    recipients = LocalRecipients()
    recipients.add({User: list(range(0, 80_000, 8))})
    (owner,) = recipients._keys.values()
    assert len(owner.seen) == 79_992 // 8 + 1


@pytest.fixture
def activity(db):
    return Activity.objects.store(
        {"id": "https://testserver/activities/1", "type": "Create"}, local=True
    )


def owners(activity) -> list[str]:
    return sorted(
        InboxItem.objects.filter(activity=activity).values_list("owner_id", flat=True)
    )


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_fill_keys_writes_each_owner_once_in_chunks(activity, monkeypatch, chunk):
    monkeypatch.setattr(activity_models, "FILL_CHUNK", chunk)
    with CaptureQueriesContext(connection) as queries:
        written = InboxItem.objects.fill_keys(activity, user_type(), [3, 1, 3, "x", 1])
    assert written == 3
    assert owners(activity) == ["1", "3", "x"]
    assert len(queries) == -(-5 // chunk)  # one statement per chunk


def test_distinct_keys_are_written_without_conflict_handling(activity):
    with CaptureQueriesContext(connection) as queries:
        InboxItem.objects.fill_keys(activity, user_type(), [1, 2, 3], distinct=True)
    (query,) = queries.captured_queries
    assert "IGNORE" not in query["sql"].upper()
    assert "CONFLICT" not in query["sql"].upper()
    assert owners(activity) == ["1", "2", "3"]


def test_a_broken_distinct_promise_raises_and_doubles_nothing(activity):
    InboxItem.objects.fill_keys(activity, user_type(), [1])
    with pytest.raises(IntegrityError), transaction.atomic():
        InboxItem.objects.fill_keys(activity, user_type(), [2, 1], distinct=True)
    assert owners(activity) == ["1"]


def test_owner_ids_are_text_as_the_column_holds_them(activity):
    InboxItem.objects.fill_keys(activity, user_type(), [7, "007", 2**40])
    assert owners(activity) == ["007", "1099511627776", "7"]


def test_the_inbox_goes_with_its_activity_without_a_database_constraint(
    activity, alice
):
    InboxItem.objects.fill_keys(activity, user_type(), [alice.pk])
    Activity.objects.filter(pk=activity.pk).delete()
    assert InboxItem.objects.count() == 0


def test_the_inbox_goes_with_its_owner_type(activity, alice):
    stale = ContentType.objects.create(app_label="gone", model="thing")
    InboxItem.objects.fill_keys(activity, stale.pk, [1, 2])
    InboxItem.objects.fill_keys(activity, user_type(), [alice.pk])
    stale.delete()
    assert owners(activity) == [str(alice.pk)]


def test_a_fan_out_with_repeated_recipients_writes_each_once(make_user):
    users = [make_user(f"reader{i}") for i in range(3)]
    iris = [f"https://testserver/~{u.username}/" for u in users]
    note = {"type": "Create", "object": {"type": "Note", "content": "hi"}}
    activity = publish_module.publish(
        {**note, "actor": iris[0]}, [*iris, iris[1], "http://testserver/~reader1/"]
    )
    assert owners(activity) == sorted(str(u.pk) for u in users)


def test_fill_by_model_keeps_each_owner_once(activity, alice, bob):
    written = InboxItem.objects.fill_by_model(
        activity, {User: [alice.pk, bob.pk, alice.pk, str(alice.pk)]}
    )
    assert written == 2
    assert owners(activity) == sorted([str(alice.pk), str(bob.pk)])


def test_models_of_one_owner_type_are_filled_as_one(activity, alice, monkeypatch):
    """Two models with one content type (proxies) must not write a key twice."""
    from django.contrib.auth.models import Group

    user_type = ContentType.objects.get_for_model(User)
    real = ContentType.objects.get_for_model
    monkeypatch.setattr(
        ContentType.objects,
        "get_for_model",
        lambda model, *a, **k: user_type if model is Group else real(model, *a, **k),
    )
    written = InboxItem.objects.fill_by_model(
        activity, {User: [alice.pk], Group: [alice.pk, 99]}
    )
    assert written == 2
    assert owners(activity) == sorted([str(alice.pk), "99"])


def test_the_inbox_path_resolves_its_recipients_to_keys(alice, bob):
    """Received activities' local recipients: keys, minus the hidden ones."""
    from vox_activity.incoming.recipients import resolve_owners

    keys = resolve_owners(
        [
            "https://testserver/~alice/",
            "https://testserver/~bob/",
            "https://testserver/~alice/?again",
            "https://remote.example/~zed/",
        ],
        hidden=["https://testserver/~bob/"],
    )
    assert {model: sorted(pks) for model, pks in keys.items() if pks} == {
        User: [alice.pk]
    }
