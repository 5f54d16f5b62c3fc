"""The ActivityStreams vocabulary helpers: type mapping, addressing, JSON."""

import datetime

import aspy
import pytest

from vox_activity.protocol import vocabulary as activities
from vox_activity.protocol.vocabulary import (
    ACTIVITY_TYPES,
    PUBLIC,
    activity_type_for,
    normalise_public,
    public_view,
    recipients_of,
    to_json,
    type_from_codename,
)


class FakeNotification:
    def __init__(self, codename, activity_type=""):
        self.codename = codename
        self.activity_type = activity_type


@pytest.mark.parametrize(
    ("codename", "expected"),
    [
        ("like", "Like"),
        ("liked", "Like"),
        ("LIKED", "Like"),
        ("created", "Create"),
        ("create", "Create"),
        ("updated", "Update"),
        ("deleted", "Delete"),
        ("followed", "Follow"),
        ("accepted", "Accept"),
        ("added", "Add"),
        ("announced", "Announce"),
        ("blocked", "Block"),
        ("flagged", "Flag"),
        ("joined", "Join"),
        ("left", "Leave"),
        ("read", "Read"),
        ("undone", "Undo"),
        ("travelled", "Travel"),
        ("traveled", "Travel"),
        ("tentative_accept", "TentativeAccept"),
        ("tentatively_rejected", "TentativeReject"),
        ("viewed", "View"),
        ("moved", "Move"),
        ("published", "Create"),
        ("shared", "Create"),
        ("", "Create"),
    ],
)
def test_codename_maps_to_activity_type(codename, expected):
    assert type_from_codename(codename) == expected


def test_every_activity_type_is_reachable_by_name_and_past_tense():
    for name in ACTIVITY_TYPES:
        assert type_from_codename(name.lower()) == name
        assert type_from_codename(activities.past_tense(name.lower())) == name


@pytest.mark.parametrize(
    ("activity_type", "codename", "expected"),
    [
        ("", "liked", "Like"),  # unset: codename decides
        ("Create", "liked", "Like"),  # django-vox's bare default counts as unset
        (aspy.Announce.get_type(), "liked", "Announce"),  # explicit IRI wins
        (aspy.Create.get_type(), "liked", "Create"),  # explicit Create IRI wins
        ("Flag", "created", "Flag"),  # an explicit short name wins
        ("as:Offer", "created", "Offer"),
        (None, "published", "Create"),
    ],
)
def test_explicit_activity_type_wins(activity_type, codename, expected):
    assert activity_type_for(FakeNotification(codename, activity_type)) == expected


def test_public_aliases_become_the_full_iri_at_any_depth():
    data = {"to": "as:Public", "object": {"cc": ["Public", "https://x/y"]}}
    assert normalise_public(data) == {
        "to": [PUBLIC],
        "object": {"cc": [PUBLIC, "https://x/y"]},
    }


def test_public_view_removes_blind_recipients_everywhere():
    data = {"to": ["a"], "bto": ["b"], "bcc": ["c"], "object": {"bcc": ["d"], "x": 1}}
    assert public_view(data) == {"to": ["a"], "object": {"x": 1}}
    assert "bto" in data  # the original is untouched


def test_recipients_are_deduplicated_in_order():
    data = {"to": ["a", PUBLIC], "cc": ["a", {"id": "b"}], "bcc": "c"}
    assert recipients_of(data) == ["a", PUBLIC, "b", "c"]


def test_to_json_turns_aspy_objects_into_plain_json_with_context():
    contexts = []
    obj = aspy.Note(id="https://s/n/1", content="hi", to=[PUBLIC])
    obj["https://example.org/ns#mood"] = "happy"
    result = to_json(obj, contexts)
    assert result["type"] == "Note"
    assert result["to"] == [PUBLIC]  # aspy shortens it to "Public"; we do not
    assert result["mood"] == "happy"
    assert contexts == [{"mood": "https://example.org/ns#mood"}]


def test_datetimes_are_utc_with_z():
    value = datetime.datetime(
        2024, 1, 2, 3, 4, 5, 678, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    assert to_json(value) == "2024-01-02T01:04:05Z"


def test_to_json_explains_unusable_values():
    with pytest.raises(TypeError, match="aspy object"):
        to_json(object())
