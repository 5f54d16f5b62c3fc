"""vox_activity.addressing: the four visibilities, as Mastodon reads them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from vox_activity import addressing
from vox_activity.outgoing.publish import plan_publication
from vox_activity.protocol.vocabulary import PUBLIC

ALICE = "https://testserver/~alice/"
FOLLOWERS = ALICE + "followers"
CAROL = "https://remote.example/users/carol"


def test_the_four_visibilities(alice, bob):
    assert addressing.public(alice) == {"to": [PUBLIC], "cc": [FOLLOWERS]}
    assert addressing.unlisted(alice) == {"to": [FOLLOWERS], "cc": [PUBLIC]}
    assert addressing.followers_only(alice) == {"to": [FOLLOWERS], "cc": []}
    assert addressing.direct(bob, CAROL) == {
        "to": ["https://testserver/~bob/", CAROL],
        "cc": [],
    }


def test_what_is_not_a_local_actor_is_an_error_not_an_empty_audience(db):
    nobody = Group(name="not registered")
    with pytest.raises(ValueError, match="not a local actor"):
        addressing.public(nobody)
    with pytest.raises(ValueError, match="not a local actor"):
        addressing.direct(nobody)


def test_an_unlisted_note_is_published_with_public_in_cc(alice):
    note = {"type": "Note", "content": "hi", **addressing.unlisted(alice)}
    plan = plan_publication(
        {"type": "Create", "actor": ALICE, "object": note}, fetch=False
    )
    assert plan.document["object"]["cc"] == [PUBLIC]
    assert plan.document["cc"] == [PUBLIC] and plan.document["to"] == [FOLLOWERS]
