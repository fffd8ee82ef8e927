"""DSPy signatures for an analysis agent: intent classification, plan adaptation and tool calls.

Tool calls follow a hybrid strategy: the LM proposes arguments inside a strict grammar built from
the real tool list, writing the literal ``"auto"`` for any parameter it leaves to the caller, and
:func:`resolve_tool_call` fills those from the context or defaults and validates the result::

    import dspy
    from lift_dspy.signatures.agent import resolve_tool_call, tool_call_signature

    tools = {"top_rows": {"description": "First rows of a table.", "parameters": {
        "type": "object", "required": ["table"],
        "properties": {"table": {"type": "string"}, "n": {"type": "integer", "default": 5}}}}}
    call = dspy.Predict(tool_call_signature(tools))(task="show me sales", context="").call
    resolved = resolve_tool_call(call, tools, {"table": "sales"})
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import dspy
from lift_dspy.schemas import IntentClassification, Plan, ToolCall
from pydantic import BaseModel, ConfigDict, Field, create_model

from lift_dspy.errors import UnsupportedSchemaError

from .tool_resolver import (
    AUTO,
    ResolvedCall,
    ToolArgumentError,
    ToolCallError,
    UnknownToolError,
    resolve_tool_call,
    tool_parameters,
)

__all__ = [
    "AUTO",
    "AdaptPlan",
    "ClassifyIntent",
    "ProposeToolCall",
    "ResolvedCall",
    "ToolArgumentError",
    "ToolCallError",
    "UnknownToolError",
    "describe_tools",
    "resolve_tool_call",
    "tool_call_model",
    "tool_call_signature",
]


class ClassifyIntent(dspy.Signature):
    """Classify what the user wants from the data-analysis agent.

    Pick the one intent that best matches the request, list the entities it names (datasets,
    columns, dates, numbers, metrics), and ask one short clarifying question only when the
    request cannot be acted on as written (otherwise leave the question empty).
    """

    request: str = dspy.InputField(desc="The user's message.")
    context: str = dspy.InputField(desc="Known datasets and the recent conversation; may be empty.")
    classification: IntentClassification = dspy.OutputField(desc="The intent and its entities.")


class AdaptPlan(dspy.Signature):
    """Adapt the agent's plan to what just happened.

    Keep steps that are done (status done) and their ids; mark a failed step failed or replace
    it; add, drop or reorder pending steps only as the observation requires; use only the
    available tools (or "none"). Say in the rationale what changed and why.
    """

    plan: Plan = dspy.InputField(desc="The current plan.")
    observation: str = dspy.InputField(desc="What happened: a step result, an error, or new user input.")
    tools: list[str] = dspy.InputField(desc="Names of the available tools.")
    adapted: Plan = dspy.OutputField(desc="The updated plan.")


class ProposeToolCall(dspy.Signature):
    """Choose the one tool that does the task and propose its arguments.

    Use only a tool from the list and only its parameters. Write a concrete value when the task
    or context states it; write "auto" when the value should come from the defaults or the
    agent's state (the caller fills and validates it).
    """

    task: str = dspy.InputField(desc="What the agent must do next.")
    tools: str = dspy.InputField(desc="The available tools with their parameters.")
    context: str = dspy.InputField(desc="Relevant state: current dataset, earlier results; may be empty.")
    call: ToolCall = dspy.OutputField(desc="The tool call.")


def _pascal(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p) or "Tool"


def _constraints(prop: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    return {arg: prop[key] for key, arg in mapping.items() if key in prop}


def _python_type(prop: Mapping[str, Any], where: str) -> Any:
    """A Pydantic-ready annotation for one JSON Schema property (closed objects, no ``$ref``).

    Built directly, not with datamodel-code-generator (``lift_dspy.codegen``): tool parameters are
    a small subset of JSON Schema, every field also admits ``"auto"``, and tool-call signatures
    must work without the optional ``codegen`` extra.
    """
    if "enum" in prop or "const" in prop:
        values = tuple(prop["enum"]) if "enum" in prop else (prop["const"],)
        if not values or not all(isinstance(v, str | int | bool) for v in values):
            raise UnsupportedSchemaError("enum values must be strings, integers or booleans", field=where)
        return Literal[values]
    kind = prop.get("type")
    number_limits = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"}
    if kind == "string":
        limits = _constraints(
            prop, {"minLength": "min_length", "maxLength": "max_length", "pattern": "pattern"}
        )
        return Annotated[str, Field(**limits)] if limits else str
    if kind in ("integer", "number"):
        base = int if kind == "integer" else float
        limits = _constraints(prop, number_limits)
        return Annotated[base, Field(**limits)] if limits else base
    if kind == "boolean":
        return bool
    if kind == "array":
        items = prop.get("items")
        if not isinstance(items, Mapping):
            raise UnsupportedSchemaError("arrays need one 'items' schema", field=where, keyword="items")
        inner = _python_type(items, f"{where}[]")
        limits = _constraints(prop, {"minItems": "min_length", "maxItems": "max_length"})
        return Annotated[list[inner], Field(**limits)] if limits else list[inner]  # type: ignore[valid-type]
    if kind == "object":
        return _object_model(prop, f"{_pascal(where)}Object", where, allow_auto=False)
    raise UnsupportedSchemaError(
        "tool parameters must have a type: string, integer, number, boolean, array, object (or an enum)",
        field=where,
        keyword="type" if kind is not None else next(iter(prop), None),
    )


def _with_auto(annotation: Any) -> Any:
    """``annotation | Literal["auto"]``, merged into one Literal when it already is one."""
    if get_origin(annotation) is Literal:
        values = get_args(annotation)
        return annotation if AUTO in values else Literal[(*values, AUTO)]
    if annotation is str:
        return str
    return Union[annotation, Literal["auto"]]  # noqa: UP007 - built from a runtime value


def _object_model(
    schema: Mapping[str, Any], model_name: str, where: str, *, allow_auto: bool
) -> type[BaseModel]:
    """A closed model whose fields are all required (the LM writes every one, "auto" if unsure)."""
    properties = schema.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise UnsupportedSchemaError("'properties' must be an object", field=where, keyword="properties")
    fields: dict[str, Any] = {}
    for name, prop in properties.items():
        path = f"{where}.{name}"
        if not isinstance(prop, Mapping):
            raise UnsupportedSchemaError("a property schema must be an object", field=path)
        annotation = _python_type(prop, path)
        if allow_auto:
            annotation = _with_auto(annotation)
        description = prop.get("description")
        fields[name] = (
            Annotated[annotation, Field(description=description)] if description else annotation,
            ...,
        )
    model: type[BaseModel] = create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
    return model


def _call_model(name: str, spec: Mapping[str, Any]) -> type[BaseModel]:
    description, params = tool_parameters(name, spec)
    args_model = _object_model(params, f"{_pascal(name)}Arguments", name, allow_auto=True)
    name_type: Any = Literal[name]
    model: type[BaseModel] = create_model(
        f"{_pascal(name)}Call",
        __config__=ConfigDict(extra="forbid"),
        __doc__=description or None,
        name=(name_type, ...),
        arguments=(args_model, ...),
    )
    return model


@functools.lru_cache(maxsize=64)
def _cached_union(tools_json: str) -> Any:
    tools: dict[str, Any] = json.loads(tools_json)
    if not tools:
        raise ValueError("tool_call_model needs at least one tool")
    models = [_call_model(name, spec) for name, spec in tools.items()]
    if len(models) == 1:
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="name")]  # noqa: UP007


def tool_call_model(tools: Mapping[str, Mapping[str, Any]]) -> Any:
    """The output type for a call to one of ``tools``: a union discriminated by ``name``.

    Each member is ``{"name": Literal[tool], "arguments": {...}}`` with every parameter of that
    tool required and also admitting ``"auto"``. Cached by the tools' content.

    Raises:
        UnsupportedSchemaError: A parameter schema uses a construct the grammar cannot express.
        ValueError: ``tools`` is empty.
    """
    return _cached_union(json.dumps(tools))


def _describe_param(name: str, prop: Mapping[str, Any], required: bool) -> str:
    kind = "|".join(json.dumps(v) for v in prop["enum"]) if "enum" in prop else str(prop.get("type", "any"))
    extra = "" if required else (f" = {json.dumps(prop['default'])}" if "default" in prop else " (optional)")
    return f"{name}: {kind}{extra}"


def describe_tools(tools: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per tool, ``name(param: type = default, ...): description``, for prompts."""
    lines = []
    for name, spec in tools.items():
        description, params = tool_parameters(name, spec)
        required = set(params.get("required", ()))
        props = params.get("properties") or {}
        args = ", ".join(_describe_param(p, props[p], p in required) for p in props)
        lines.append(f"- {name}({args})" + (f": {description}" if description else ""))
    return "\n".join(lines)


@functools.lru_cache(maxsize=64)
def _cached_signature(tools_json: str) -> type[dspy.Signature]:
    tools: dict[str, Any] = json.loads(tools_json)
    call_type = _cached_union(tools_json)
    instructions = f"{ProposeToolCall.instructions}\n\nAvailable tools:\n{describe_tools(tools)}"
    signature = ProposeToolCall.delete("tools").with_updated_fields("call", type_=call_type)
    return signature.with_instructions(instructions)


def tool_call_signature(tools: Mapping[str, Mapping[str, Any]]) -> type[dspy.Signature]:
    """A :class:`ProposeToolCall` constrained to the given tools (inputs: ``task``, ``context``).

    ``tools`` maps each tool name to ``{"description": ..., "parameters": <JSON Schema>}`` (an
    OpenAI ``{"type": "function", "function": {...}}`` entry or a bare parameters schema also
    work). The tool list goes into the instructions; ``call`` is typed by :func:`tool_call_model`.
    The same tools give the same signature class, so constraint caches keyed on it keep working.

    Raises:
        UnsupportedSchemaError: A parameter schema uses a construct the grammar cannot express.
        ValueError: ``tools`` is empty.
    """
    return _cached_signature(json.dumps(tools))
