"""The threat table of docs/security.rst names tests that exist.

Each row points at the tests that prove a defence; a renamed or deleted test
must not leave the table pointing at nothing.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE_TITLE = "Threats and the tests that prove the defences"
#: ``test_file.py::test_name``, or ``::test_name`` for the file named before.
REFERENCE = re.compile(r"``(test_\w+\.py)?::(test_\w+)``")


def test_every_test_the_threat_table_names_exists():
    text = (ROOT / "docs" / "security.rst").read_text(encoding="utf-8")
    table = text[text.index(TABLE_TITLE) :]
    current = None
    named = []
    for match in REFERENCE.finditer(table):
        current = match.group(1) or current
        named.append((current, match.group(2)))
    assert len(named) > 50
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not re.search(
            rf"^def {name}\(", (ROOT / "tests" / path).read_text(), re.MULTILINE
        )
    ]
    assert missing == []
