"""``model_from_schema`` regressions (issue 12, item 7): each failed before its fix.

Each schema here is one raw llguidance compiles; lift-dspy must turn it into a model *and* a
constraint in both layouts, and the model must accept what the schema accepts.
"""

from __future__ import annotations

import json
from typing import Any

import dspy
import llguidance
import pydantic
import pytest

from lift_dspy.constraints import compile_constraint
from lift_dspy.constraints.from_schema import model_from_schema
from lift_dspy.constraints.schema import Options, finalize_schema
from lift_dspy.errors import UnsupportedSchemaError

TOKENIZER = llguidance.LLTokenizer("byte")


def _raw_compiles(schema: dict[str, Any]) -> bool:
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema))
    return llguidance.LLMatcher.validate_grammar(grammar, TOKENIZER) == ""


def _constraints(model: type[pydantic.BaseModel]) -> None:
    signature = dspy.Signature({"q": (str, dspy.InputField()), "out": (model, dspy.OutputField())})
    for fmt in ("json", "chat"):
        compile_constraint(signature, fmt)


def _accepts(model: type[pydantic.BaseModel], value: Any) -> bool:
    try:
        model.model_validate(value)
    except pydantic.ValidationError:
        return False
    return True


def test_a_property_named_format_is_no_type_error() -> None:
    schema = {
        "type": "object",
        "properties": {"format": {"type": "string"}, "d": {"type": "string", "format": "date"}},
    }
    assert _raw_compiles(schema)
    model = model_from_schema(schema, "Formatted")
    _constraints(model)
    finalize_schema(schema, Options(max_text_chars=50))


@pytest.mark.parametrize("fmt", [{"x": 1}, ["date"], 5], ids=["dict", "list", "int"])
def test_a_non_string_format_is_a_typed_error(fmt: Any) -> None:
    """llguidance refuses it ("Expected string for 'format'"), so does lift-dspy: typed, located."""
    schema = {"type": "object", "properties": {"d": {"type": "string", "format": fmt}}}
    for lenient in (False, True):
        with pytest.raises(UnsupportedSchemaError) as raised:
            model_from_schema(schema, "Formatted", lenient=lenient)
        assert (raised.value.keyword, raised.value.field) == ("format", "d")
    finalize_schema(schema, Options(max_text_chars=50))  # no TypeError on the way to llguidance


def test_properties_named_like_keywords_are_properties() -> None:
    """The property map is not a schema: a property named ``additionalProperties`` or ``properties``
    is not closed, bounded or rewritten; one named ``default`` or ``enum`` is still a schema."""
    schema = {
        "type": "object",
        "properties": {
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
            "properties": {"type": "string"},
            "default": {"type": "object", "properties": {"d": {"type": "string", "format": "date"}}},
        },
    }
    final = finalize_schema(schema, Options(max_text_chars=50))
    assert set(final["properties"]) == {"additionalProperties", "properties", "default"}
    assert final["properties"]["default"]["additionalProperties"] is False  # closed
    assert "format" not in final["properties"]["default"]["properties"]["d"]  # tightened
    assert final["properties"]["properties"]["maxLength"] == 50


def test_max_length_on_a_date_string_accepts_valid_dates() -> None:
    schema = {
        "type": "object",
        "properties": {
            "d": {"type": "string", "format": "date", "maxLength": 10},
            "t": {"type": "string", "format": "date-time", "minLength": 1},
            "u": {"type": "string", "format": "uuid", "maxLength": 36},
        },
    }
    model = model_from_schema(schema, "Dated")
    _constraints(model)
    value = {"d": "2024-05-06", "t": "2024-05-06T07:08:09Z", "u": "123e4567-e89b-42d3-a456-426614174000"}
    assert model.model_validate(value).model_dump(mode="json", exclude_unset=True) == value
    assert not _accepts(model, {"d": "2024-05-06x"})
    assert not _accepts(model, {"d": "2024-02-30"})


@pytest.mark.parametrize("additional", [{"type": "string"}, True, None], ids=["schema", "true", "absent"])
def test_keys_outside_pattern_properties_follow_additional_properties(additional: Any) -> None:
    schema: dict[str, Any] = {"type": "object", "patternProperties": {"^a": {"type": "integer"}}}
    if additional is not None:
        schema["additionalProperties"] = additional
    model = model_from_schema(schema, "Patterned")
    _constraints(model)
    assert _accepts(model, {"a1": 1})
    assert _accepts(model, {"a1": 1, "b": "x"})
    assert not _accepts(model, {"a1": "x"})
    if additional == {"type": "string"}:
        assert not _accepts(model, {"b": 1})
    dumped = model.model_validate({"a1": 1, "b": "x"}).model_dump(mode="json", exclude_unset=True)
    assert dumped == {"a1": 1, "b": "x"}


def test_pattern_properties_with_closed_objects_still_reject_other_keys() -> None:
    schema = {
        "type": "object",
        "patternProperties": {"^a": {"type": "integer"}},
        "additionalProperties": False,
    }
    model = model_from_schema(schema, "Closed")
    assert _accepts(model, {"a1": 1})
    assert not _accepts(model, {"b": 1})


@pytest.mark.parametrize(
    "schema",
    [
        # A required key that only additionalProperties (absent: anything) allows: closing the
        # object made it unsatisfiable.
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b"]},
        {
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/x"}},
            "$defs": {"x": {"required": ["z"], "properties": {"y": {}}}},
        },
        # max_text_chars must not bound a string below its own minLength.
        {"type": "object", "properties": {"s": {"type": "string", "minLength": 80}}},
    ],
    ids=["required-undeclared", "required-undeclared-in-def", "min-length-over-bound"],
)
def test_satisfiable_schema_that_llguidance_compiles_is_not_refused(schema: dict[str, Any]) -> None:
    assert _raw_compiles(schema)
    model = model_from_schema(schema, "Satisfiable")
    signature = dspy.Signature({"q": (str, dspy.InputField()), "out": (model, dspy.OutputField())})
    for fmt in ("json", "chat"):
        compile_constraint(signature, fmt, options=Options(max_text_chars=50))


def test_boolean_schemas() -> None:
    anything = model_from_schema(True, "Anything")  # type: ignore[arg-type]
    assert _accepts(anything, {"a": [1]})
    _constraints(anything)
    with pytest.raises(UnsupportedSchemaError, match="accepts no value"):
        model_from_schema(False, "Nothing")  # type: ignore[arg-type]


@pytest.mark.parametrize("schema", [{"format": "date"}, {"type": ["string", "null"], "format": "date"}])
def test_date_formats_are_calendar_exact_whatever_the_type(schema: dict[str, Any]) -> None:
    """The constraint sends the calendar-exact pattern for a typeless or multi-type date too, so it
    cannot let a model write a date the model then rejects (llguidance's own allows 2021-02-29)."""
    final = finalize_schema(schema)
    assert "format" not in final
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(final))
    for text, ok in (('"2024-02-29"', True), ('"2021-02-29"', False)):
        matcher = llguidance.LLMatcher(TOKENIZER, grammar, log_level=0)
        tokens = TOKENIZER.tokenize_bytes(text.encode())
        assert (matcher.try_consume_tokens(tokens) == len(tokens) and matcher.is_accepting()) is ok


def test_an_older_draft_keeps_its_meaning_when_embedded() -> None:
    """Draft 4 has no propertyNames (raw llguidance and jsonschema ignore it there) and boolean
    exclusiveMinimum; the copy embedded in a DSPy output field (no $schema) must mean the same."""
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {
            "codes": {"type": "object", "propertyNames": {"pattern": "^[0-9]+$"}},
            "n": {"type": "number", "minimum": 5, "exclusiveMinimum": True},
        },
    }
    assert _raw_compiles(schema)
    model = model_from_schema(schema, "Draft4")
    _constraints(model)
    assert _accepts(model, {"codes": {"x": 1}, "n": 6})
    assert not _accepts(model, {"n": 5})
