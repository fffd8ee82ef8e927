"""Bad input: random signatures and JSON Schemas give a working constraint or a typed error.

Never a crash, never a hang: every grammar lift-dspy builds is compiled by llguidance under its
resource limits, and the worst compile time found is reported as a figure (not asserted).
"""

from __future__ import annotations

import copy
import time
from typing import Any, Literal

import dspy
import pytest
from badinput import UNSUPPORTED, json_schemas, signatures, supported_object_schemas
from figures import record, record_max
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lift_dspy
from lift_dspy.constraints import compile_constraint

pytest.importorskip("datamodel_code_generator")
from lift_dspy.constraints.from_schema import model_from_schema

ADAPTERS = {"chat": None, "json": dspy.JSONAdapter()}
_outcomes: dict[str, int] = {}


def _count(kind: str) -> None:
    _outcomes[kind] = _outcomes.get(kind, 0) + 1
    record("bad input outcomes", dict(sorted(_outcomes.items())))


def _constrain(signature: Any, layout: str) -> dict[str, Any] | lift_dspy.UnsupportedSchemaError:
    started = time.perf_counter()
    try:
        result: dict[str, Any] | lift_dspy.UnsupportedSchemaError = lift_dspy.constraint_for(
            signature, ADAPTERS[layout]
        )
    except lift_dspy.UnsupportedSchemaError as exc:
        result = exc
    seconds = time.perf_counter() - started
    fields = ", ".join(f"{n}: {f.annotation!r}"[:80] for n, f in signature.output_fields.items())
    record_max("worst constraint compile (s)", round(seconds, 3), f"{layout}: {fields}")
    return result


@pytest.mark.timeout(900)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(signatures(), st.sampled_from(sorted(ADAPTERS)))
def test_random_signatures_constrain_or_raise_typed(signature: Any, layout: str) -> None:
    result = _constrain(signature, layout)
    if isinstance(result, lift_dspy.UnsupportedSchemaError):
        _count(f"signature/{layout}: UnsupportedSchemaError({result.keyword})")
        assert result.keyword, result
        if result.field is not None:
            # The path starts at an output field, or (JSON layout) at the model in $defs that holds
            # the keyword: see RELIABILITY.md, "field paths through $defs".
            root = result.field.split(".")[0].split("[")[0]
            defs = lift_dspy.output_model(signature).model_json_schema().get("$defs", {})
            assert root in signature.output_fields or root in defs, result.field
        assert "Fix:" in str(result) or "use" in str(result).lower(), result
        return
    _count(f"signature/{layout}: constraint")
    assert set(result) == {"grammar" if layout == "chat" else "json"}
    # The constraint that was returned is the one the LM sends, and its matcher is ready.
    constraint = compile_constraint(signature, layout, None, lift_dspy.constraints.schema.Options())
    assert constraint.matcher.mismatch("") is not None


def _build(schema: dict[str, Any], *, lenient: bool = False) -> Any:
    started = time.perf_counter()
    try:
        return model_from_schema(schema, "Hostile", lenient=lenient)
    except lift_dspy.UnsupportedSchemaError as exc:
        return exc
    finally:
        seconds = time.perf_counter() - started
        record_max("worst model_from_schema (s)", round(seconds, 3), str(schema)[:160])


@pytest.mark.timeout(900)
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(json_schemas())
def test_random_json_schemas_give_a_model_or_a_typed_error(schema: dict[str, Any]) -> None:
    original = copy.deepcopy(schema)
    result = _build(schema)
    assert schema == original  # never mutates what the caller passed in
    if isinstance(result, lift_dspy.UnsupportedSchemaError):
        _count(f"schema: UnsupportedSchemaError({result.keyword})")
        return
    _count("schema: model")
    # A model that was accepted becomes a working constraint in both layouts (or a typed error).
    signature = dspy.Signature({"q": (str, dspy.InputField()), "out": (result, dspy.OutputField())})
    for layout in ADAPTERS:
        outcome = _constrain(signature, layout)
        if isinstance(outcome, lift_dspy.UnsupportedSchemaError):
            _count(f"schema model -> {layout}: UnsupportedSchemaError({outcome.keyword})")
        else:
            _count(f"schema model -> {layout}: constraint")


@pytest.mark.timeout(900)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(supported_object_schemas(), st.sampled_from(sorted(UNSUPPORTED)))
def test_unsupported_keyword_is_named_with_its_field(
    planted: tuple[dict[str, Any], list[str]], word: str
) -> None:
    schema, path = planted
    assert not isinstance(_build(schema), lift_dspy.UnsupportedSchemaError)
    node = schema
    for name in path[:-1]:
        node = node["properties"][name]
    node["properties"][path[-1]] = copy.deepcopy(UNSUPPORTED[word])
    error = _build(schema)
    assert isinstance(error, lift_dspy.UnsupportedSchemaError), f"{word} at {path} was accepted"
    assert error.keyword == word
    assert error.field == ".".join(path)
    assert ".".join(path) in str(error)
    assert word in str(error)
    if word not in ("pattern",):
        # lenient=True lets llguidance skip keywords it does not implement; a bad regex stays an error.
        relaxed = _build(schema, lenient=True)
        assert not isinstance(relaxed, lift_dspy.UnsupportedSchemaError), relaxed


def test_output_field_named_completed_is_refused_or_parsed() -> None:
    signature = dspy.Signature("q -> completed: int")
    constraint = _chat_constraint_or_none(signature, "completed")
    if constraint is None:
        return  # refused at definition time, naming the field: fine
    text = constraint.render({"completed": 5})
    assert constraint.matcher.mismatch(text) is None  # the grammar allows it ...
    assert dspy.ChatAdapter().parse(signature, text) == {"completed": 5}  # ... DSPy parses it ...
    assert constraint.validate(text) == {"completed": 5}  # ... so lift-dspy must accept it.


@pytest.mark.parametrize("choice", [" padded", "two\nlines", "para\u2028sep", "[[ ## completed ## ]]"])
def test_unreadable_choices_are_refused_at_definition(choice: str) -> None:
    signature = dspy.Signature("q -> c").with_updated_fields("c", type_=Literal[choice, "other"])
    constraint = _chat_constraint_or_none(signature, "c")
    assert constraint is None, f"{choice!r} compiled, but no answer choosing it can validate"


def test_choice_with_a_control_character_round_trips() -> None:
    """Regression: a raw DEL in a Lark string literal was a lexer error with no field or keyword."""
    signature = dspy.Signature("q -> c").with_updated_fields("c", type_=Literal["x\x7fy", "other"])
    constraint = compile_constraint(signature, "chat")
    text = constraint.render({"c": "x\x7fy"})
    assert constraint.validate(text) == {"c": "x\x7fy"}
    assert dspy.ChatAdapter().parse(signature, text) == {"c": "x\x7fy"}


def _chat_constraint_or_none(signature: Any, field: str) -> Any:
    """The chat constraint, or None if it was refused with an error naming ``field``."""
    try:
        return compile_constraint(signature, "chat")
    except lift_dspy.UnsupportedSchemaError as exc:
        if exc.field != field:
            raise
        return None
