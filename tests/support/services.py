"""Services some tests need from the machine (Redis): skip them, or fail in CI."""

from __future__ import annotations

import os

import pytest

__all__ = ["in_ci", "unavailable"]


def in_ci() -> bool:
    """``CI`` is set to a true value (as dev.py reads it)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip the test, or fail it in CI: a missing service hides no feature there."""
    if in_ci():
        pytest.fail(f"{reason} (CI must run this test)", pytrace=False)
    pytest.skip(reason)
