"""An activity's addressing when the site addresses only its object."""

from __future__ import annotations

from vox_activity.outgoing.publish import plan_publication
from vox_activity.protocol.vocabulary import PUBLIC

ALICE = "https://testserver/~alice/"
NOTE = "https://testserver/notes/1/"


def test_a_create_takes_its_objects_audience(db, alice):
    note = {"id": NOTE, "type": "Note", "to": [PUBLIC], "cc": [ALICE + "followers"]}
    plan = plan_publication(
        {"type": "Create", "actor": ALICE, "object": note}, fetch=False
    )
    assert plan.document["to"] == [PUBLIC]
    assert plan.document["cc"] == [ALICE + "followers"]
    assert PUBLIC in plan.remote_addresses


def test_an_addressed_activity_keeps_its_own_addressing(db, alice):
    note = {"id": NOTE, "type": "Note", "to": [PUBLIC]}
    plan = plan_publication(
        {"type": "Update", "actor": ALICE, "to": [ALICE + "followers"], "object": note},
        fetch=False,
    )
    assert plan.document["to"] == [ALICE + "followers"]
    assert "cc" not in plan.document


def test_an_announce_does_not_take_the_announced_objects_audience(db, alice):
    theirs = {"id": "https://remote.example/notes/9", "type": "Note", "to": [PUBLIC]}
    plan = plan_publication(
        {"type": "Announce", "actor": ALICE, "object": theirs}, fetch=False
    )
    assert "to" not in plan.document
    assert plan.remote_addresses == []
