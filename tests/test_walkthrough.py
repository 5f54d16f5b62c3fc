"""The "Integrate into your site" walk-through runs, and its page shows its code.

docs/integrate.rst builds a new site (``tests/walkthrough``) and includes its
files with ``literalinclude``; ``tests/walkthrough/scenario.py`` follows the
page in a process of its own, from ``migrate`` to a note delivered, signed,
to a follower on a fake remote server.  These tests run it and check what
the other server received, and that the page includes only files that exist
here, so that neither the page nor the code can drift from the other.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

#: Real processes (workers, servers, a project run in a subprocess): slow.
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGH = ROOT / "tests" / "walkthrough"
PAGE = ROOT / "docs" / "integrate.rst"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ALICE = "https://notes.example/~alice/"


@pytest.fixture(scope="module")
def summary():
    """Run the scenario once; its last line is a JSON summary of what happened."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "suite_settings",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(WALKTHROUGH), str(ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    result = subprocess.run(
        [sys.executable, "-m", "scenario"],
        cwd=WALKTHROUGH,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_issuing_before_make_notifications_fails_as_the_page_says(summary):
    assert "Notification matching query does not exist" in summary["early_error"]


def test_the_remote_follow_is_accepted_with_a_signed_accept(summary):
    assert summary["follow_state"] == "accepted"
    assert summary["accept"] == {"key_id": ALICE + "#main-key", "verified": True}


def test_the_first_note_reaches_the_remote_follower_signed(summary):
    create = summary["create"]
    # Checked by the fake server with an independent library, with alice's key
    # as her actor document publishes it.
    assert create["verified"] is True
    assert create["key_id"] == summary["alice_key"] == ALICE + "#main-key"
    assert create["rfc9421"] is True  # the double knock's first scheme, accepted
    assert create["path"] == "/inbox"  # the follower's shared inbox
    activity = create["activity"]
    assert activity["type"] == "Create"
    assert activity["actor"] == ALICE
    assert activity["name"] == "alice wrote a note"  # the template's subject
    assert activity["proof"]["verificationMethod"] == ALICE + "#ed25519-key"
    note = activity["object"]
    assert note["id"] == "https://notes.example/notes/hello/"
    assert note["to"] == [PUBLIC]
    assert note["cc"] == [ALICE + "followers"]
    assert {"type": "Hashtag", "name": "#fediverse"} in note["tag"]


def test_inboxes_are_read_as_the_page_says(summary):
    assert "alice wrote a note" in summary["bob_inbox_page"]
    assert summary["alice_inbox"] == [
        ["Follow", summary["zoe"]],
        ["Follow", "https://notes.example/~bob/"],
    ]


def test_the_note_is_served_at_its_own_iri(summary):
    served = summary["served_note"]
    assert summary["served_type"].startswith("application/activity+json")
    assert served["id"] == "https://notes.example/notes/hello/"
    assert served["to"] == [PUBLIC]
    assert served["replies"] == "https://notes.example/notes/hello/replies"


def test_the_page_includes_the_walkthroughs_own_files():
    text = PAGE.read_text()
    included = re.findall(r"^\.\. literalinclude:: (\S+)", text, re.MULTILINE)
    assert included, "the walk-through shows no code from tests/walkthrough"
    for target in included:
        path = (PAGE.parent / target).resolve()
        assert path.is_relative_to(WALKTHROUGH), target
        assert path.is_file(), target
    markers = re.findall(r":start-after: (.+)$", text, re.MULTILINE)
    sources = "".join(p.read_text() for p in WALKTHROUGH.rglob("*.py"))
    for marker in markers:
        assert marker.strip() in sources, marker


def test_the_pages_sample_has_the_fields_of_what_was_sent(summary):
    """The JSON on the page is what a follower receives, field for field."""
    text = PAGE.read_text()
    marker = text.index("tests/test_walkthrough.py compares them.")
    block = re.search(
        r"\.\. code-block:: json\n\n((?:   .*\n|\n)+)", text[marker:]
    ).group(1)
    sample = json.loads(block)
    sent = summary["create"]["activity"]
    assert sample.keys() == sent.keys()
    assert sample["object"].keys() == sent["object"].keys()
    assert sample["proof"].keys() == sent["proof"].keys()
    for field in ("type", "actor", "to", "cc", "name", "summary"):
        assert sample[field] == sent[field], field
    for field in ("type", "id", "content", "to", "cc", "tag", "url"):
        assert sample["object"][field] == sent["object"][field], field
