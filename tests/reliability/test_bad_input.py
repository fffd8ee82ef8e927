"""Bad input: random signatures and JSON Schemas give a working constraint or a typed error.

Never a crash, never a hang: every grammar lift-dspy builds is compiled by llguidance under its
resource limits, and the worst compile time found is reported as a figure (not asserted).
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from typing import Any, Literal

import dspy
import pytest
from answers import render_answer
from badinput import (
    UNSUPPORTED,
    deep_model,
    json_schemas,
    nested_list,
    signatures,
    supported_object_schemas,
)
from figures import record, record_max
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import create_model

import lift_dspy
from lift_dspy.constraints import compile_constraint

pytest.importorskip("datamodel_code_generator")  # lift_dspy.model_from_schema needs it

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
            # The path starts at an output field in both layouts (followed through $refs).
            root = re.split(r"[.\[{]", result.field)[0]
            assert root in signature.output_fields, result.field
        assert any(fix in str(result) for fix in ("Fix:", "use", "rename")), result  # says what to do
        return
    _count(f"signature/{layout}: constraint")
    assert set(result) == {"grammar" if layout == "chat" else "json"}
    # The constraint that was returned is the one the LM sends, and its matcher is ready.
    constraint = compile_constraint(signature, layout, None, lift_dspy.constraints.schema.Options())
    assert constraint.matcher.mismatch("") is not None


def _build(schema: dict[str, Any], *, lenient: bool = False) -> Any:
    started = time.perf_counter()
    try:
        return lift_dspy.model_from_schema(schema, "Hostile", lenient=lenient)
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


@pytest.mark.parametrize("layout", sorted(ADAPTERS))
def test_output_field_named_completed(layout: str) -> None:
    """DSPy's end marker is ``[[ ## completed ## ]]``: the chat layout refuses a field of that name."""
    signature = dspy.Signature("q -> completed: int")
    outcome = _constrain(signature, layout)
    if layout == "json":
        assert isinstance(outcome, dict)
        return
    assert isinstance(outcome, lift_dspy.UnsupportedSchemaError)
    assert outcome.field == "completed"
    assert "rename" in str(outcome)


@pytest.mark.parametrize("choice", [" padded", "two\nlines", "para\u2028sep", "[[ ## completed ## ]]"])
def test_unreadable_choices_are_refused_at_definition(choice: str) -> None:
    """Choices DSPy's ChatAdapter cannot read back (it strips values and splits lines): refused, named."""
    signature = dspy.Signature("q -> c").with_updated_fields("c", type_=Literal[choice, "other"])
    outcome = _constrain(signature, "chat")
    assert isinstance(outcome, lift_dspy.UnsupportedSchemaError)
    assert (outcome.field, outcome.keyword) == ("c", "enum")
    assert "JSONAdapter" in str(outcome)
    as_json = compile_constraint(signature, "json")  # the JSON layout carries any string
    assert as_json.validate(render_answer(as_json, {"c": choice})) == {"c": choice}


def test_choice_with_a_control_character_round_trips() -> None:
    """Regression: a raw DEL in a Lark string literal was a lexer error with no field or keyword."""
    signature = dspy.Signature("q -> c").with_updated_fields("c", type_=Literal["x\x7fy", "other"])
    constraint = compile_constraint(signature, "chat")
    text = render_answer(constraint, {"c": "x\x7fy"})
    assert constraint.validate(text) == {"c": "x\x7fy"}
    assert dspy.ChatAdapter().parse(signature, text) == {"c": "x\x7fy"}


def _wide_model(width: int) -> Any:
    fields: dict[str, Any] = {f"f{i}": (int, ...) for i in range(width)}
    return create_model(f"Wide{width}", **fields)


def _nested(value: Any, depth: int, wrap: Callable[[Any], Any]) -> Any:
    for _ in range(depth):
        value = wrap(value)
    return value


# name -> (the output type, one valid answer value: the last enum value, every field, the full depth)
EXTREMES: dict[str, tuple[Callable[[], Any], Any]] = {
    "Literal of 20 000 values": (
        lambda: Literal[tuple(f"value_{i}" for i in range(20_000))],
        "value_19999",
    ),
    "Literal of 50 000 values": (
        lambda: Literal[tuple(f"value_{i}" for i in range(50_000))],
        "value_49999",
    ),
    "model with 2 000 fields": (lambda: _wide_model(2000), {f"f{i}": i for i in range(2000)}),
    "list nested 100 deep": (lambda: nested_list(int, 100), _nested(7, 100, lambda v: [v])),
    "model nested 40 deep": (lambda: deep_model(int, 40), _nested(7, 40, lambda v: {"inner": v})),
}


def _answer(signature: Any, layout: str, value: Any) -> str:
    """A correct answer as the server would write it: DSPy's own chat rendering, or compact JSON."""
    if layout == "chat":
        return dspy.ChatAdapter().format_assistant_message_content(signature, {"x": value})
    return json.dumps({"x": value})


@pytest.mark.timeout(600)  # "bounded time": a hang fails here; the time itself is a figure, not asserted
@pytest.mark.parametrize("name", list(EXTREMES))
def test_extreme_sizes_compile_in_bounded_time_or_fail_typed(name: str) -> None:
    """Each layout gives a constraint that accepts a valid answer, or a typed error with its fix."""
    make, value = EXTREMES[name]
    signature = dspy.Signature({"q": (str, dspy.InputField()), "x": (make(), dspy.OutputField())})
    outcomes: dict[str, dict[str, Any] | lift_dspy.UnsupportedSchemaError] = {}
    for layout in sorted(ADAPTERS):
        started = time.perf_counter()
        outcome = outcomes[layout] = _constrain(signature, layout)
        seconds = round(time.perf_counter() - started, 2)
        verdict = "constraint" if isinstance(outcome, dict) else f"UnsupportedSchemaError({outcome.keyword})"
        record(f"extreme: {name} / {layout}", f"{verdict} in {seconds} s")
        if isinstance(outcome, lift_dspy.UnsupportedSchemaError):
            assert outcome.keyword, outcome
            assert outcome.field == "x", outcome  # names the output field
            assert "Fix:" in str(outcome), outcome  # says what to do
            continue
        assert set(outcome) == {"grammar" if layout == "chat" else "json"}
        # Compiling is not enough: the constraint must accept a correct answer (a grammar can compile
        # and still reject everything at match time, e.g. over llguidance's Earley row limit).
        constraint = compile_constraint(signature, layout)
        assert constraint.structured_outputs == outcome
        assert constraint.validate(_answer(signature, layout, value)) == {"x": value}
    assert any(isinstance(outcome, dict) for outcome in outcomes.values()), "no layout can run it"
    for outcome in outcomes.values():
        if isinstance(outcome, lift_dspy.UnsupportedSchemaError) and "chat layout" in str(outcome):
            assert isinstance(outcomes["chat"], dict), f"the fix points to the chat layout: {outcome}"


@pytest.mark.parametrize("layout", sorted(ADAPTERS))
def test_deeply_nested_model_is_a_typed_error(layout: str) -> None:
    """Regression: 50+ levels made Pydantic's schema generator raise a raw RecursionError."""
    deep = deep_model(int, 80)  # builds fine: Pydantic validates instances of it
    signature = dspy.Signature({"q": (str, dspy.InputField()), "x": (deep, dspy.OutputField())})
    outcome = _constrain(signature, layout)
    assert isinstance(outcome, lift_dspy.UnsupportedSchemaError), outcome
    assert outcome.keyword == "nesting depth"
    assert "flatten" in str(outcome)
