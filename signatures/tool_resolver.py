"""Deterministic completion and validation of LM-proposed tool calls.

The LM proposes arguments (``"auto"`` where it defers); :func:`resolve_tool_call` fills every
``"auto"`` or missing parameter from the caller's context, then from the schema's ``default``,
coerces text values to the schema's types, and validates the result with ``jsonschema``.
Its errors live in :mod:`lift_dspy.errors` (re-exported here)::

    LiftDSPyError
    └── ToolCallError            (also ValueError)
        ├── UnknownToolError     the name is not one of the tools; lists them
        └── ToolArgumentError    a parameter is missing, unknown, or invalid; names it
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel

from lift_dspy.errors import ToolArgumentError, ToolCallError, UnknownToolError

__all__ = [
    "AUTO",
    "ResolvedCall",
    "ToolArgumentError",
    "ToolCallError",
    "UnknownToolError",
    "resolve_tool_call",
    "tool_parameters",
]

AUTO = "auto"
"""The value an LM writes for a parameter the resolver should fill."""

FillSource = Literal["context", "default"]
_MISSING = object()


@dataclass(frozen=True)
class ResolvedCall:
    """A validated tool call, ready to execute.

    Attributes:
        name: The tool.
        arguments: Every argument, with ``"auto"`` and missing values filled.
        filled: For each parameter the resolver filled, where the value came from.
    """

    name: str
    arguments: dict[str, Any]
    filled: dict[str, FillSource] = field(default_factory=dict)


def tool_parameters(name: str, spec: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split a tool spec into ``(description, parameters JSON Schema)``.

    Accepts ``{"description", "parameters"}``, an OpenAI ``{"type": "function", "function": {...}}``
    entry, or a bare parameters schema.
    """
    if spec.get("type") == "function" and isinstance(spec.get("function"), Mapping):
        spec = spec["function"]
    if "parameters" in spec:
        params = spec["parameters"]
    elif "properties" in spec or spec.get("type") == "object":
        params = spec
    else:
        params = {"type": "object", "properties": {}}
    if not isinstance(params, Mapping):
        raise ToolCallError(f"tool {name!r}: 'parameters' must be a JSON Schema object", tool=name)
    description = str(spec.get("description", "")) if "parameters" in spec else ""
    return description, dict(params)


def _call_parts(call: BaseModel | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(name, arguments)`` from a typed call, a generic ``ToolCall`` or a plain dict."""
    data = call.model_dump() if isinstance(call, BaseModel) else dict(call)
    name = data.get("name")
    if not isinstance(name, str):
        raise ToolCallError("a tool call needs a string 'name'", tool=str(name))
    args = data.get("arguments") or {}
    if isinstance(args, list):  # the generic ToolCall: [{"name": ..., "value": ...}]
        args = {item["name"]: item["value"] for item in args}
    if not isinstance(args, Mapping):
        raise ToolCallError(f"tool {name!r}: 'arguments' must be an object", tool=name)
    return name, dict(args)


def _coerce(tool: str, param: str, value: Any, prop: Mapping[str, Any]) -> Any:
    """Turn text into the schema's type (the generic ToolCall carries every value as text)."""
    kind = prop.get("type")
    if not isinstance(value, str) or kind in (None, "string") or ("enum" in prop and value in prop["enum"]):
        return value
    text = value.strip()
    try:
        if kind == "integer" and re.fullmatch(r"-?\d+", text):
            return int(text)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text):
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind in ("array", "object"):
            return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolArgumentError(
            tool, param, f"{text!r} is not valid JSON for a {kind}", keyword="type"
        ) from exc
    return value  # left for jsonschema to report with the exact keyword


def _lookup(context: Mapping[str, Any], tool: str, param: str) -> Any:
    for key in (f"{tool}.{param}", param):
        if key in context and context[key] is not None:
            return context[key]
    return _MISSING


def resolve_tool_call(
    call: BaseModel | Mapping[str, Any],
    tools: Mapping[str, Mapping[str, Any]],
    context: Mapping[str, Any] | None = None,
) -> ResolvedCall:
    """Fill ``"auto"``/missing arguments and validate the call against its tool's JSON Schema.

    For each parameter whose value is ``"auto"`` or absent, the value is taken from
    ``context["<tool>.<param>"]``, then ``context["<param>"]``, then the schema's ``default``; an
    optional parameter with none of these is left out. ``"auto"`` is kept as a real value only for
    an enum that lists it. The caller's objects are not modified.

    Args:
        call: A call from :func:`~lift_dspy.signatures.agent.tool_call_signature` or the generic
            ``ToolCall``, or ``{"name": ..., "arguments": {...}}``.
        tools: The tool specs the call was proposed for.
        context: The agent's state, for parameters the LM left to the resolver.

    Raises:
        UnknownToolError: The tool does not exist.
        ToolArgumentError: A required parameter has no value, a parameter is unknown, or a value
            fails the schema; the error names the parameter and the keyword.
    """
    name, proposed = _call_parts(call)
    if name not in tools:
        raise UnknownToolError(name, list(tools))
    _, schema = tool_parameters(name, tools[name])
    props: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required", ()))
    context = context or {}

    # An invented parameter is far likelier an LM slip than an intended extra, so extras are
    # refused unless the schema explicitly allows them.
    unknown = [p for p in proposed if p not in props]
    if unknown and schema.get("additionalProperties", False) is False:
        raise ToolArgumentError(
            name,
            unknown[0],
            f"unknown parameter; expected one of {', '.join(props) or '(none)'}",
            keyword="additionalProperties",
        )

    arguments: dict[str, Any] = {p: proposed[p] for p in unknown}
    filled: dict[str, FillSource] = {}
    for param, prop in props.items():
        value = proposed.get(param, _MISSING)
        if value == AUTO and AUTO in prop.get("enum", ()):
            arguments[param] = value
            continue
        if value is _MISSING or value == AUTO:
            value = _lookup(context, name, param)
            source: FillSource = "context"
            if value is _MISSING and "default" in prop:
                value, source = prop["default"], "default"
            if value is _MISSING:
                if param in required:
                    raise ToolArgumentError(
                        name,
                        param,
                        "required, but the call left it to the resolver and neither the context "
                        f"(key {param!r} or {name + '.' + param!r}) nor the schema gives a value",
                        keyword="required",
                    )
                continue
            filled[param] = source
        arguments[param] = _coerce(name, param, value, prop)

    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        path = ".".join(str(p) for p in error.absolute_path) or "(arguments)"
        raise ToolArgumentError(name, path, error.message, keyword=str(error.validator))
    return ResolvedCall(name=name, arguments=arguments, filled=filled)
