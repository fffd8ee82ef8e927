"""The JSON Schemas are the contract: committed models match them, and both agree on instances."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lift_dspy.schemas import regenerate
from pydantic import BaseModel, ValidationError

from lift_dspy import schemas

SCHEMA_FILES = sorted(schemas.SCHEMA_DIR.glob("*.schema.json"))
ROOT_MODELS: dict[str, type[BaseModel]] = {
    "function_ir": schemas.FunctionIR,
    "typescript_impl": schemas.TypeScriptImplementation,
    "rust_impl": schemas.RustImplementation,
    "go_impl": schemas.GoImplementation,
    "java_impl": schemas.JavaImplementation,
    "intent": schemas.IntentClassification,
    "plan": schemas.Plan,
    "tool_call": schemas.ToolCall,
}

_IR = {
    "name": "clamp_value",
    "purpose": "Clamp an integer to a range.",
    "params": [{"name": "value", "type": "int", "description": "The value."}],
    "returns": {"type": "int", "description": "The clamped value."},
    "effects": ["pure"],
    "preconditions": [],
    "postconditions": ["lo <= result <= hi"],
    "examples": [{"input": "15, 0, 10", "output": "10"}],
}
_GO = {
    "function_signature": {
        "name": "F",
        "params": [{"name": "xs", "type": "[]int"}],
        "return_type": "(int, error)",
    },
    "imports": ["strings", "unicode/utf8"],
    "helper_types": [],
    "body_statements": ["return 0, nil"],
}
_SIG0 = {"name": "f", "params": [], "return_type": "()"}
_JSIG = {"name": "f", "params": [], "return_type": "int"}
_STEP: dict[str, Any] = {"id": 1, "action": "load", "tool": "load_table", "depends_on": [], "status": "done"}
_PLAN: dict[str, Any] = {
    "goal": "Plot revenue",
    "steps": [_STEP],
    "rationale": "",
}

# (schema stem, instance, valid?)
CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("function_ir", _IR, True),
    ("function_ir", {**_IR, "name": "ClampValue"}, False),  # not snake_case
    ("function_ir", {**_IR, "effects": []}, False),  # minItems
    ("function_ir", {**_IR, "returns": {"type": "integer", "description": "x"}}, False),  # not an IR type
    ("function_ir", {**_IR, "extra": 1}, False),  # closed object
    ("function_ir", {k: v for k, v in _IR.items() if k != "examples"}, False),  # required
    ("go_impl", _GO, True),
    ("go_impl", {**_GO, "imports": ["github.com/x/y"]}, False),  # only std-like paths
    ("go_impl", {**_GO, "body_statements": []}, False),
    (
        "rust_impl",
        {"function_signature": _SIG0, "uses": ["std::fmt"], "helper_types": [], "body_statements": ["()"]},
        True,
    ),
    (
        "rust_impl",
        {
            "function_signature": _SIG0,
            "uses": ["serde::Serialize"],
            "helper_types": [],
            "body_statements": ["()"],
        },
        False,
    ),
    (
        "java_impl",
        {
            "function_signature": {"name": "f", "params": [], "return_type": "List<Integer>"},
            "imports": ["java.util.List", "java.util.*"],
            "helper_types": [],
            "body_statements": ["return null;"],
        },
        True,
    ),
    (
        "java_impl",
        {
            "function_signature": _JSIG,
            "imports": ["org.junit.Test"],
            "helper_types": [],
            "body_statements": ["return 1;"],
        },
        False,
    ),
    (
        "typescript_impl",
        {
            "function_signature": {"name": "f", "params": [], "return_type": "number | null"},
            "imports": [],
            "helper_types": [],
            "body_statements": ["x" * 161],
        },
        False,
    ),  # maxLength
    (
        "intent",
        {
            "intent": "visualize",
            "confidence": "high",
            "entities": [{"kind": "column", "value": "price"}],
            "needs_clarification": False,
            "clarification_question": "",
        },
        True,
    ),
    (
        "intent",
        {
            "intent": "dance",
            "confidence": "high",
            "entities": [],
            "needs_clarification": False,
            "clarification_question": "",
        },
        False,
    ),
    ("plan", _PLAN, True),
    ("plan", {**_PLAN, "steps": []}, False),
    ("plan", {**_PLAN, "steps": [{**_STEP, "id": 0}]}, False),
    ("tool_call", {"name": "top_rows", "arguments": [{"name": "n", "value": "auto"}]}, True),
    ("tool_call", {"name": "top rows", "arguments": []}, False),
]


def _load(stem: str) -> dict[str, Any]:
    return schemas.load_schema(stem)


def test_committed_models_match_the_schemas() -> None:
    pytest.importorskip("datamodel_code_generator")
    drift = regenerate.regenerate(check=True)
    assert drift == [], f"run `python -m lift_dspy.schemas.regenerate`: {drift}"


@pytest.fixture
def scratch_copy(tmp_path: Path) -> tuple[Path, Path]:
    json_dir, out_dir = tmp_path / "json", tmp_path / "models"
    shutil.copytree(schemas.SCHEMA_DIR, json_dir)
    shutil.copytree(regenerate.MODELS_DIR, out_dir, ignore=shutil.ignore_patterns("__pycache__"))
    return json_dir, out_dir


def test_check_mode_reports_drift_and_writes_nothing(scratch_copy: tuple[Path, Path]) -> None:
    pytest.importorskip("datamodel_code_generator")
    json_dir, out_dir = scratch_copy
    plan = json_dir / "plan.schema.json"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace('"maxItems": 8', '"maxItems": 9'), encoding="utf-8"
    )
    (out_dir / "orphan.py").write_text("# stale\n", encoding="utf-8")
    before = (out_dir / "plan.py").read_text(encoding="utf-8")

    drift = regenerate.regenerate(json_dir, out_dir, check=True)
    assert drift == [out_dir / "orphan.py", out_dir / "plan.py"]
    assert (out_dir / "plan.py").read_text(encoding="utf-8") == before
    assert regenerate.main(["--check", "--json-dir", str(json_dir), "--out-dir", str(out_dir)]) == 1

    assert regenerate.regenerate(json_dir, out_dir) == drift
    assert "max_length=9" in (out_dir / "plan.py").read_text(encoding="utf-8")
    assert not (out_dir / "orphan.py").exists()
    assert regenerate.regenerate(json_dir, out_dir, check=True) == []


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_closed_and_compact(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node.get("additionalProperties") is False, f"{where} is open"
                assert set(node.get("required", [])) == set(node["properties"]), f"{where}: all required"
            if node.get("type") == "array":
                assert "maxItems" in node, f"{where}: unbounded array"
            if node.get("type") == "string" and "enum" not in node:
                assert "maxLength" in node or "pattern" in node, f"{where}: unbounded string"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, path.name)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_llguidance_accepts_the_schema(path: Path) -> None:
    llguidance = pytest.importorskip("llguidance")
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["x-guidance"] = {"whitespace_flexible": False}
    grammar = llguidance.grammar_from("json_schema", json.dumps(schema))
    assert llguidance.LLMatcher.validate_grammar(grammar) == ""


def test_every_schema_has_a_root_model() -> None:
    assert {regenerate.model_module_name(p) for p in SCHEMA_FILES} == set(ROOT_MODELS)


@pytest.mark.parametrize(("stem", "instance", "valid"), CASES)
def test_json_schema_and_pydantic_agree(stem: str, instance: dict[str, Any], valid: bool) -> None:
    schema_ok = jsonschema.Draft202012Validator(_load(stem)).is_valid(instance)
    try:
        ROOT_MODELS[stem].model_validate(instance)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert (schema_ok, model_ok) == (valid, valid)


@pytest.mark.parametrize("stem", sorted(ROOT_MODELS))
def test_pydantic_json_schema_is_closed(stem: str) -> None:
    """What the constraint builder sees: every object of the model's own schema is closed."""
    rendered = ROOT_MODELS[stem].model_json_schema()
    objects = [rendered, *rendered.get("$defs", {}).values()]
    for node in objects:
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, node.get("title")


def test_load_schema_lists_names_when_missing() -> None:
    with pytest.raises(FileNotFoundError, match="function_ir"):
        schemas.load_schema("nope")
