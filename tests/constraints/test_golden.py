"""Golden files: signature -> output model schema, chat-format Lark grammar, JSON-mode schema.

Regenerate after an intended change with ``LIFT_DSPY_UPDATE_GOLDEN=1 pytest tests/constraints``:
every rewritten file fails that run (see tests/goldens.py); review the diff and rerun without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import dspy
import pytest
from goldens import UPDATE_ENV, check_golden
from zoo import ZOO

import lift_dspy

GOLDEN = Path(__file__).parent.parent / "golden"


@pytest.mark.parametrize("name", sorted(ZOO))
def test_output_model_schema(name: str) -> None:
    schema = lift_dspy.output_model(ZOO[name]).model_json_schema()
    check_golden(GOLDEN / f"{name}.model.json", json.dumps(schema, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("name", sorted(ZOO))
def test_chat_grammar(name: str) -> None:
    payload = lift_dspy.constraint_for(ZOO[name])
    assert list(payload) == ["grammar"]
    check_golden(GOLDEN / f"{name}.chat.lark", payload["grammar"])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_json_schema(name: str) -> None:
    payload = lift_dspy.constraint_for(ZOO[name], dspy.JSONAdapter())
    assert list(payload) == ["json"]
    check_golden(GOLDEN / f"{name}.json-mode.json", json.dumps(payload["json"], indent=2) + "\n")


def test_zoo_is_large_enough() -> None:
    assert len(ZOO) >= 15


def test_update_mode_rewrites_and_still_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An update run is never green for a file it changed; an unchanged file passes in both modes."""
    path = tmp_path / "x.lark"
    path.write_text("old\n")
    monkeypatch.setenv(UPDATE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="rewrote golden file"):
        check_golden(path, "new\n")
    assert path.read_text() == "new\n"
    check_golden(path, "new\n")  # now it matches: passes
    with pytest.raises(pytest.fail.Exception, match="created golden file"):
        check_golden(tmp_path / "missing.lark", "x\n")
    monkeypatch.delenv(UPDATE_ENV)
    with pytest.raises(AssertionError, match="changed"):
        check_golden(path, "other\n")
    assert path.read_text() == "new\n"  # never written outside update mode
    with pytest.raises(pytest.fail.Exception, match="missing golden file"):
        check_golden(tmp_path / "absent.lark", "x\n")
