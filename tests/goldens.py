"""Golden files, honestly: a mismatch fails; ``LIFT_DSPY_UPDATE_GOLDEN=1`` rewrites it and still fails.

An update run therefore never reports green for a file it changed: review ``git diff`` of the
rewritten files, then rerun without the variable (files that already matched pass either way).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["UPDATE_ENV", "check_golden", "updating"]

UPDATE_ENV = "LIFT_DSPY_UPDATE_GOLDEN"


def updating() -> bool:
    """True when golden files should be rewritten (``LIFT_DSPY_UPDATE_GOLDEN`` set, and not ``0``)."""
    return os.environ.get(UPDATE_ENV, "") not in ("", "0")


def check_golden(path: Path, actual: str) -> None:
    """Fail unless ``path`` holds exactly ``actual`` (UTF-8); in update mode rewrite it, then fail."""
    expected = path.read_text(encoding="utf-8") if path.exists() else None
    if actual == expected:
        return
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        pytest.fail(
            f"{'created' if expected is None else 'rewrote'} golden file {path} ({UPDATE_ENV} is set): "
            f"review `git diff -- {path}`, then rerun without {UPDATE_ENV}",
            pytrace=False,
        )
    if expected is None:
        pytest.fail(f"missing golden file {path}; create it with {UPDATE_ENV}=1 and review it", pytrace=False)
    assert actual == expected, f"{path.name} changed; if intended, rerun with {UPDATE_ENV}=1 and review"
