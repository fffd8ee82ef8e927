"""The deterministic half of the hybrid tool-call strategy: fill "auto", validate, name the culprit."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from lift_dspy.schemas import ToolCall
from lift_dspy.signatures.agent import (
    ResolvedCall,
    ToolArgumentError,
    ToolCallError,
    UnknownToolError,
    describe_tools,
    resolve_tool_call,
    tool_call_model,
    tool_call_signature,
)
from pydantic import TypeAdapter, ValidationError

from lift_dspy.errors import LiftDSPyError, UnsupportedSchemaError

TOOLS: dict[str, dict[str, Any]] = {
    "top_rows": {
        "description": "First rows of a table.",
        "parameters": {
            "type": "object",
            "required": ["table"],
            "properties": {
                "table": {"type": "string", "description": "Table name"},
                "n": {"type": "integer", "minimum": 1, "maximum": 100, "default": 5},
                "columns": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
            },
        },
    },
    "plot": {
        "type": "function",
        "function": {
            "name": "plot",
            "description": "Plot a column.",
            "parameters": {
                "type": "object",
                "required": ["column", "kind"],
                "properties": {
                    "column": {"type": "string", "pattern": "^[a-z_]+$"},
                    "kind": {"enum": ["line", "bar", "auto"]},
                    "log_scale": {"type": "boolean", "default": False},
                },
            },
        },
    },
}


def test_auto_and_missing_values_are_filled_from_context_then_defaults() -> None:
    call = {"name": "top_rows", "arguments": {"table": "auto", "n": "auto"}}
    resolved = resolve_tool_call(call, TOOLS, {"table": "sales"})
    assert resolved == ResolvedCall(
        name="top_rows", arguments={"table": "sales", "n": 5}, filled={"table": "context", "n": "default"}
    )


def test_tool_scoped_context_key_wins() -> None:
    resolved = resolve_tool_call(
        {"name": "top_rows", "arguments": {"table": "auto"}}, TOOLS, {"table": "a", "top_rows.table": "b"}
    )
    assert resolved.arguments["table"] == "b"


def test_concrete_values_are_kept_and_optional_unfilled_left_out() -> None:
    resolved = resolve_tool_call({"name": "top_rows", "arguments": {"table": "t", "n": 7}}, TOOLS)
    assert resolved.arguments == {"table": "t", "n": 7}
    assert resolved.filled == {}


def test_auto_is_a_real_value_when_the_enum_lists_it() -> None:
    resolved = resolve_tool_call({"name": "plot", "arguments": {"column": "price", "kind": "auto"}}, TOOLS)
    assert resolved.arguments == {"column": "price", "kind": "auto", "log_scale": False}


def test_generic_tool_call_text_values_are_coerced() -> None:
    call = ToolCall.model_validate(
        {
            "name": "top_rows",
            "arguments": [
                {"name": "table", "value": "sales"},
                {"name": "n", "value": "12"},
                {"name": "columns", "value": '["a", "b"]'},
            ],
        }
    )
    resolved = resolve_tool_call(call, TOOLS)
    assert resolved.arguments == {"table": "sales", "n": 12, "columns": ["a", "b"]}
    plot = resolve_tool_call(
        {"name": "plot", "arguments": [{"name": "column", "value": "x"}, {"name": "kind", "value": "bar"},
                                       {"name": "log_scale", "value": "true"}]},
        TOOLS,
    )  # fmt: skip
    assert plot.arguments["log_scale"] is True


def test_missing_required_parameter_is_named() -> None:
    with pytest.raises(ToolArgumentError) as info:
        resolve_tool_call({"name": "top_rows", "arguments": {"table": "auto"}}, TOOLS, {})
    err = info.value
    assert (err.tool, err.parameter, err.keyword) == ("top_rows", "table", "required")
    assert "'table'" in str(err)
    assert isinstance(err, LiftDSPyError)
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("arguments", "parameter", "keyword"),
    [
        ({"table": "t", "n": 500}, "n", "maximum"),
        ({"table": "t", "n": "many"}, "n", "type"),
        ({"table": "t", "columns": ["a", "b", "c", "d", "e"]}, "columns", "maxItems"),
        ({"table": "t", "columns": "[not json"}, "columns", "type"),
        ({"table": "t", "limit": 3}, "limit", "additionalProperties"),
    ],
)
def test_invalid_values_name_parameter_and_keyword(
    arguments: dict[str, Any], parameter: str, keyword: str
) -> None:
    with pytest.raises(ToolArgumentError) as info:
        resolve_tool_call({"name": "top_rows", "arguments": arguments}, TOOLS)
    assert (info.value.parameter, info.value.keyword) == (parameter, keyword)


def test_pattern_violation_in_openai_style_spec() -> None:
    with pytest.raises(ToolArgumentError) as info:
        resolve_tool_call({"name": "plot", "arguments": {"column": "Price!", "kind": "bar"}}, TOOLS)
    assert (info.value.parameter, info.value.keyword) == ("column", "pattern")


def test_unknown_tool_lists_the_tools() -> None:
    with pytest.raises(UnknownToolError, match="top_rows, plot") as info:
        resolve_tool_call({"name": "drop_table", "arguments": {}}, TOOLS)
    assert info.value.available == ["top_rows", "plot"]
    assert isinstance(info.value, ToolCallError)


def test_inputs_are_not_mutated() -> None:
    tools, call, context = (
        copy.deepcopy(TOOLS),
        {"name": "top_rows", "arguments": {"table": "auto"}},
        {"table": "s"},
    )
    before = copy.deepcopy((tools, call, context))
    resolve_tool_call(call, tools, context)
    assert (tools, call, context) == before


def test_typed_call_from_the_signature_resolves() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(tool_call_model(TOOLS))
    call = adapter.validate_python(
        {"name": "top_rows", "arguments": {"table": "auto", "n": 3, "columns": "auto"}}
    )
    resolved = resolve_tool_call(call, TOOLS, {"table": "sales"})
    assert resolved.arguments == {"table": "sales", "n": 3}
    assert resolved.filled == {"table": "context"}


def test_union_requires_every_parameter_and_admits_auto() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(tool_call_model(TOOLS))
    adapter.validate_python(
        {"name": "plot", "arguments": {"column": "auto", "kind": "auto", "log_scale": "auto"}}
    )
    with pytest.raises(ValidationError):  # "log_scale" missing: the grammar makes the LM write it
        adapter.validate_python({"name": "plot", "arguments": {"column": "x", "kind": "bar"}})
    with pytest.raises(ValidationError):  # arguments of the other tool
        adapter.validate_python({"name": "plot", "arguments": {"table": "t", "n": 1, "columns": []}})
    with pytest.raises(ValidationError):  # bounds still apply to concrete values
        adapter.validate_python({"name": "top_rows", "arguments": {"table": "t", "n": 0, "columns": []}})


def test_union_schema_is_closed_and_lists_tool_names() -> None:
    schema = TypeAdapter(tool_call_model(TOOLS)).json_schema()
    defs = schema["$defs"]
    names = sorted(
        d["properties"]["name"]["const"] for d in defs.values() if "name" in d.get("properties", {})
    )
    assert names == ["plot", "top_rows"]
    assert all(d.get("additionalProperties") is False for d in defs.values() if d.get("type") == "object")


def test_signature_is_cached_and_carries_the_tool_list() -> None:
    sig = tool_call_signature(TOOLS)
    assert sig is tool_call_signature(copy.deepcopy(TOOLS))
    assert list(sig.input_fields) == ["task", "context"]
    assert "top_rows(table: string, n: integer = 5, columns: array (optional))" in sig.instructions
    assert describe_tools(TOOLS) in sig.instructions


def test_single_tool_is_not_a_union() -> None:
    only = {"top_rows": TOOLS["top_rows"]}
    model = tool_call_model(only)
    assert model.model_fields["name"].annotation is not None
    assert model.model_validate({"name": "top_rows", "arguments": {"table": "t", "n": 1, "columns": []}})


@pytest.mark.parametrize(
    ("prop", "keyword"),
    [
        ({"type": ["string", "null"]}, "type"),
        ({"anyOf": [{"type": "string"}]}, "anyOf"),
        ({"type": "array"}, "items"),
    ],
)
def test_unsupported_parameter_schemas_fail_at_definition(prop: dict[str, Any], keyword: str) -> None:
    tools = {"t": {"parameters": {"type": "object", "properties": {"p": prop}}}}
    with pytest.raises(UnsupportedSchemaError) as info:
        tool_call_model(tools)
    assert info.value.field == "t.p"
    assert info.value.keyword == keyword


def test_empty_tool_list_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one tool"):
        tool_call_model({})
