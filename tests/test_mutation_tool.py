"""The scripted mutation check (``devtools/mutation.py``): what it mutates."""

from __future__ import annotations

import textwrap

from devtools.mutation import mutants_of, mutated_source

SOURCE = textwrap.dedent(
    '''
    import logging
    from dataclasses import dataclass

    logger = logging.getLogger(__name__)


    @dataclass(frozen=True)
    class Page:
        """A docstring with a > in it."""

        size: int = 20


    def last(rows: list[int], limit: int) -> bool:
        assert limit > 0
        logger.debug("rows %s", len(rows) > 3)
        return len(rows) > limit and not rows[0] == 1
    '''
)


def test_it_mutates_the_logic_and_nothing_else():
    changes = [(m.line, m.change) for m in mutants_of("x.py", SOURCE)]
    # Not the decorator's True, the annotated default, the docstring, the
    # assert or the logging call: only the return line's logic.
    assert changes == [
        (18, "and -> or"),
        (18, "Gt -> GtE"),
        (18, "not x -> x"),
        (18, "Eq -> NotEq"),
        (18, "1 -> 2"),
        (18, "0 -> 1"),
    ]


def test_a_mutant_changes_one_place():
    mutants = mutants_of("x.py", SOURCE)
    strict = next(m for m in mutants if m.change == "Gt -> GtE")
    changed = mutated_source(SOURCE, strict)
    assert "len(rows) >= limit and (not rows[0] == 1)" in changed
    assert "assert limit > 0" in changed  # the assert is untouched
    assert "len(rows) > 3" in changed  # the logging call too
