"""Golden files: signature -> output model schema, chat-format Lark grammar, JSON-mode schema.

Regenerate after an intended change with ``LIFT_DSPY_UPDATE_GOLDEN=1 pytest tests/constraints``
and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dspy
import pytest
from zoo import ZOO

import lift_dspy

GOLDEN = Path(__file__).parent.parent / "golden"
UPDATE = os.environ.get("LIFT_DSPY_UPDATE_GOLDEN") == "1"


def _check(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual)
    if not path.exists():
        pytest.fail(f"missing golden file {path}; run with LIFT_DSPY_UPDATE_GOLDEN=1 and review it")
    assert actual == path.read_text(), (
        f"{path.name} changed; rerun with LIFT_DSPY_UPDATE_GOLDEN=1 if intended"
    )


@pytest.mark.parametrize("name", sorted(ZOO))
def test_output_model_schema(name: str) -> None:
    schema = lift_dspy.output_model(ZOO[name]).model_json_schema()
    _check(GOLDEN / f"{name}.model.json", json.dumps(schema, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("name", sorted(ZOO))
def test_chat_grammar(name: str) -> None:
    payload = lift_dspy.constraint_for(ZOO[name])
    assert list(payload) == ["grammar"]
    _check(GOLDEN / f"{name}.chat.lark", payload["grammar"])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_json_schema(name: str) -> None:
    payload = lift_dspy.constraint_for(ZOO[name], dspy.JSONAdapter())
    assert list(payload) == ["json"]
    _check(GOLDEN / f"{name}.json-mode.json", json.dumps(payload["json"], indent=2) + "\n")


def test_zoo_is_large_enough() -> None:
    assert len(ZOO) >= 15
