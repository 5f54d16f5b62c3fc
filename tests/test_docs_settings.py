"""docs/settings.rst documents every vox_activity setting, with its real default.

Each key of ``VOX_ACTIVITY`` is an entry of the page's ``VOX_ACTIVITY``
section written ``KEY`` (default ``value``); a key added to
``vox_activity.conf.DEFAULTS`` without an entry, a default changed in one
place only, or an entry left behind for a key that is gone, fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from vox_activity.conf import DEFAULTS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "settings.rst"
#: An entry: ````KEY```` (default ````value````) at the start of a line.
ENTRY = re.compile(r"^``([A-Z][A-Z0-9_]*)`` \(default ``([^`]+)``\)", re.MULTILINE)


def documented() -> dict[str, str]:
    """{key: default as written} of the VOX_ACTIVITY section of the page."""
    text = PAGE.read_text()
    section = text[: text.index("\nThe site's origin\n")]
    entries = ENTRY.findall(section)
    keys = [key for key, _ in entries]
    assert len(keys) == len(set(keys)), f"documented twice: {keys}"
    return dict(entries)


def test_every_setting_is_documented():
    missing = sorted(set(DEFAULTS) - set(documented()))
    assert not missing, f"docs/settings.rst does not document {missing}"


def test_every_documented_setting_exists():
    stale = sorted(set(documented()) - set(DEFAULTS))
    assert not stale, f"docs/settings.rst documents settings that are gone: {stale}"


def test_documented_defaults_are_the_real_ones():
    wrong = {
        key: (shown, DEFAULTS[key])
        for key, shown in documented().items()
        if key in DEFAULTS and ast.literal_eval(shown) != DEFAULTS[key]
    }
    assert not wrong, f"(documented, real) defaults differ: {wrong}"


def test_the_entry_pattern_reads_the_page():
    """A control: the pattern finds entries (else the tests above prove nothing)."""
    assert documented()["PAGE_SIZE"] == "20"
    assert documented()["INBOX_PROCESSING"] == '"task"'
