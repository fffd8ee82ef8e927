"""Native function calling: ``dspy.ToolCalls`` answered through a request's ``tools``, constrained.

With ``dspy.ChatAdapter(use_native_function_calling=True)`` or ``dspy.JSONAdapter()`` (native by
default), DSPy removes the ``dspy.ToolCalls`` output and the ``list[dspy.Tool]`` input from the
prompt and sends the tools as the request's ``tools``; it then reads the calls from the response's
``tool_calls``. vLLM only turns text into ``tool_calls`` with a model-specific tool parser and
``tool_choice="auto"`` (which cannot be combined with a grammar), so lift-dspy does the whole job:

* the constraint is the rendered signature's layout plus one more section, ``tool_calls``, whose
  value is ``{"tool_calls": [{"name": ..., "args": {...}}, ...]}`` (DSPy's own ToolCalls form)
  with the name a choice of the declared tools and ``args`` that tool's (closed) parameter schema;
  ``tool_choice`` is honoured (``none``: no calls, ``required``: at least one, a named tool: only
  it; ``parallel_tool_calls=False``: at most one);
* the tools still travel in the request (the chat template shows them to the model) with
  ``tool_choice="none"``, so vLLM neither parses nor constrains them itself;
* the answer is checked like any other (byte for byte, then by value: every call names a declared
  tool and its arguments match that tool's schema) and returned to DSPy as OpenAI-style tool calls
  next to the text, which DSPy's adapter parses for the remaining fields.
"""

from __future__ import annotations

import copy
import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.lm15 import Message, TextPart, ToolCallPart

from lift_dspy.constraints.chat import FieldRule, chat_grammar, field_rule
from lift_dspy.constraints.check import GrammarMatcher, compile_grammar, grammar_from_lark
from lift_dspy.constraints.constraint import Constraint, OutputFormat
from lift_dspy.constraints.model import output_fields, output_model
from lift_dspy.constraints.schema import DEFAULT_OPTIONS, Options, check_json_schema, finalize_schema
from lift_dspy.errors import ConstraintViolationError, UnsupportedSchemaError

__all__ = [
    "TOOL_CALLS_FIELD",
    "NativeTools",
    "ToolCallsConstraint",
    "assistant_message",
    "native_tools",
    "native_tools_constraint",
    "prompt_tools",
    "rendered_without_tools",
    "tools_from_kwargs",
    "tools_from_request",
]

TOOL_CALLS_FIELD = "tool_calls"


@dataclass(frozen=True)
class NativeTools:
    """The tools of one request and how they may be used (hashable: part of the cache key).

    Attributes:
        tools: ``(name, parameters JSON)`` per declared tool, in order.
        mode: ``auto`` (zero or more calls), ``required`` (at least one) or ``none`` (no call).
        allowed: Tool names the calls may use (all declared tools unless a tool was named).
        parallel: False allows at most one call.
    """

    tools: tuple[tuple[str, str], ...]
    mode: str = "auto"
    allowed: tuple[str, ...] = ()
    parallel: bool | None = None

    @property
    def names(self) -> list[str]:
        """The declared tool names."""
        return [name for name, _ in self.tools]


def _tool_entry(tool: Any) -> tuple[str, dict[str, Any]]:
    """(name, parameters) of an lm15 ``FunctionTool`` or an OpenAI/litellm tool dict."""
    if isinstance(tool, Mapping):
        function = tool.get("function", tool)
        name, parameters = function.get("name"), function.get("parameters")
    else:
        name, parameters = getattr(tool, "name", None), getattr(tool, "parameters", None)
    if not isinstance(name, str) or not name:
        raise UnsupportedSchemaError(f"a native tool without a name: {tool!r}", keyword="tools")
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
    if not isinstance(parameters, Mapping):
        raise UnsupportedSchemaError(
            f"the parameters of tool {name!r} are not a JSON Schema object",
            field=f"{name}(args)",
            keyword="tools",
        )
    return name, dict(parameters)


def native_tools(tools: Sequence[Any], tool_choice: Any = None, parallel: bool | None = None) -> NativeTools:
    """Read a request's tools and tool choice (lm15 objects or OpenAI/litellm dicts).

    Args:
        tools: ``request.tools`` (lm15 ``FunctionTool``) or the ``tools`` kwarg DSPy passes to an LM.
        tool_choice: lm15 ``ToolChoice``, ``"auto"``/``"required"``/``"none"`` or
            ``{"type": "function", "function": {"name": ...}}``; None means ``auto``.
        parallel: The ``parallel_tool_calls`` option (lm15 carries it in ``ToolChoice.parallel``).

    Raises:
        UnsupportedSchemaError: a tool without a name or with non-object parameters, or a
            ``tool_choice`` naming an unknown tool.
    """
    entries = [_tool_entry(tool) for tool in tools]
    names = [name for name, _ in entries]
    mode, allowed = "auto", tuple(names)
    if isinstance(tool_choice, str):
        mode = tool_choice
    elif isinstance(tool_choice, Mapping):
        function = tool_choice.get("function") or {}
        named = str(function.get("name") or tool_choice.get("name"))
        mode, allowed = "required", (named,)
    elif tool_choice is not None:  # lm15 ToolChoice
        mode = getattr(tool_choice, "mode", "auto")
        allowed = tuple(getattr(tool_choice, "allowed", ()) or names)
        if getattr(tool_choice, "parallel", None) is not None:
            parallel = tool_choice.parallel
    if mode not in ("auto", "required", "none"):
        mode = "required" if mode in ("any", "tool") else "auto"
    unknown = [name for name in allowed if name not in names]
    if unknown:
        raise UnsupportedSchemaError(
            f"tool_choice names {unknown[0]!r}, which is not one of the declared tools ({', '.join(names)})",
            keyword="tool_choice",
        )
    key = tuple((name, json.dumps(parameters, sort_keys=True, default=str)) for name, parameters in entries)
    return NativeTools(key, mode, allowed, parallel)


def tools_from_request(request: Any) -> NativeTools | None:
    """The native tools of an lm15 ``Request`` (None when it has none)."""
    if not request.tools:
        return None
    return native_tools(request.tools, request.config.tool_choice)


def tools_from_kwargs(kwargs: Mapping[str, Any]) -> NativeTools | None:
    """The native tools of DSPy's LM-call keyword arguments (None when there are none)."""
    if not kwargs.get("tools"):
        return None
    return native_tools(kwargs["tools"], kwargs.get("tool_choice"), kwargs.get("parallel_tool_calls"))


def rendered_without_tools(signature: Any) -> Any:
    """``signature`` as DSPy renders it for native function calling (ToolCalls and Tool fields removed)."""
    from dspy.adapters.types.tool import Tool, ToolCalls

    for name, info in list(signature.output_fields.items()):
        if info.annotation is ToolCalls:
            signature = signature.delete(name)
    for name, info in list(signature.input_fields.items()):
        annotation = info.annotation
        if annotation is Tool or (
            getattr(annotation, "__origin__", None) is list and annotation.__args__ == (Tool,)
        ):
            signature = signature.delete(name)
    return signature


@dataclass(frozen=True)
class ToolCallsConstraint(Constraint):
    """A :class:`Constraint` whose answer ends with the ``tool_calls`` section (native tools).

    Attributes:
        tools: The declared tools and tool choice.
        arg_matchers: Per tool name, the matcher of its argument schema (checks values on any backend).
        section: The field that holds the calls (``tool_calls`` for native calls, else the
            signature's own ``dspy.ToolCalls`` field).
        native: The calls go back to DSPy as tool calls (native function calling); otherwise DSPy
            parses them from the text, as any field.
    """

    tools: NativeTools = field(default=None, compare=False)  # type: ignore[assignment]
    arg_matchers: dict[str, GrammarMatcher] = field(default_factory=dict, repr=False, compare=False)
    section: str = TOOL_CALLS_FIELD
    native: bool = True

    def validate(self, text: str, *, model_name: str | None = None, exact: bool = True) -> dict[str, Any]:
        """Check the answer (see :meth:`Constraint.validate`), then every call by value.

        Raises:
            ConstraintViolationError: the text does not conform, a call names an undeclared (or not
                allowed) tool, or its arguments do not follow that tool's schema.
        """
        values = super().validate(text, model_name=model_name, exact=exact)
        calls = _calls(values, self.section)
        self._check_calls(calls, text, model_name)
        return values

    def _check_calls(self, calls: list[dict[str, Any]], text: str, model_name: str | None) -> None:
        tools = self.tools
        allowed = set(tools.allowed) if tools.mode != "none" else set()
        problem = None
        if tools.mode == "required" and not calls:
            problem = "tool_choice requires at least one tool call"
        elif tools.parallel is False and len(calls) > 1:
            problem = "parallel_tool_calls=False allows one tool call"
        for call in calls:
            if problem:
                break
            name = call.get("name")
            if name not in allowed:
                problem = (
                    f"tool {name!r} is not one of the tools this call may use ({', '.join(sorted(allowed))})"
                )
            else:
                mismatch = self.arg_matchers[name].mismatch(json.dumps(call.get("args"), ensure_ascii=False))
                if mismatch is not None:
                    problem = f"the arguments of {name!r} do not follow its schema: {mismatch[1]}"
        if problem:
            raise ConstraintViolationError(problem, raw_text=text, field=self.section, model=model_name)

    def tool_call_parts(self, text: str) -> list[ToolCallPart]:
        """The calls of a validated answer as lm15 tool-call parts (what DSPy reads as ``tool_calls``)."""
        values = self._parse(text, None)
        return [
            ToolCallPart(
                id=f"call_{uuid.uuid4().hex[:24]}", name=call["name"], input=dict(call.get("args") or {})
            )
            for call in _calls(values, self.section)
        ]


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _calls(values: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    section = values.get(name)
    if isinstance(section, Mapping):
        calls = section.get("tool_calls")
        return [dict(call) for call in calls if isinstance(call, Mapping)] if isinstance(calls, list) else []
    return []


def assistant_message(constraint: Constraint | None, text: str) -> tuple[Message, bool]:
    """The assistant message for a validated answer, and whether it holds tool calls.

    For a native-tools constraint the calls become tool-call parts next to the text (DSPy parses
    the text for the other output fields, which ignores the ``tool_calls`` section).
    """
    if isinstance(constraint, ToolCallsConstraint) and constraint.native:
        calls = constraint.tool_call_parts(text)
        return Message.assistant([TextPart(text), *calls]), bool(calls)
    return Message.assistant([TextPart(text)]), False


def _calls_schema(tools: NativeTools, options: Options) -> tuple[dict[str, Any], dict[str, GrammarMatcher]]:
    """The JSON Schema of the ``tool_calls`` value, and a matcher per tool for its arguments."""
    variants: list[dict[str, Any]] = []
    defs: dict[str, Any] = {}
    matchers: dict[str, GrammarMatcher] = {}
    for name, parameters_json in tools.tools:
        parameters = finalize_schema(json.loads(parameters_json), options)
        matchers[name] = GrammarMatcher(check_json_schema(parameters, field=f"{name}(args)"))
        if name not in tools.allowed:
            continue
        args = {key: value for key, value in parameters.items() if key not in ("$defs", "x-guidance")}
        for def_name, def_schema in (parameters.get("$defs") or {}).items():
            if defs.setdefault(def_name, def_schema) != def_schema:
                raise UnsupportedSchemaError(
                    f"two tools define different schemas named {def_name!r} in $defs; rename one",
                    field=f"{name}(args)",
                    keyword="$defs",
                )
        variants.append(
            {
                "type": "object",
                "properties": {"name": {"const": name}, "args": args},
                "required": ["name", "args"],
                "additionalProperties": False,
            }
        )
    calls: dict[str, Any] = {"type": "array", "items": {"anyOf": variants}}
    if tools.mode == "none" or not variants:
        calls["maxItems"] = 0
    else:
        if tools.mode == "required":
            calls["minItems"] = 1
        if tools.parallel is False:
            calls["maxItems"] = 1
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"tool_calls": calls},
        "required": ["tool_calls"],
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    return finalize_schema(schema, options), matchers


def native_tools_constraint(
    signature: Any,
    fmt: OutputFormat,
    tools: NativeTools,
    options: Options = DEFAULT_OPTIONS,
    *,
    field: str | None = None,
) -> ToolCallsConstraint:
    """The constraint of a call with tools whose prompt was rendered for ``signature``.

    Args:
        signature: The rendered signature. For native calls DSPy already removed the ToolCalls and
            Tool fields (if they are still there they are removed here).
        fmt: ``chat`` or ``json``.
        tools: From :func:`native_tools` or :func:`prompt_tools`.
        options: How constraints are built.
        field: Not native: the signature's own ``dspy.ToolCalls`` output, held in place to the tools
            (DSPy's non-native path describes the tools in the prompt and parses that field).

    Raises:
        UnsupportedSchemaError: another layout, an output already named ``tool_calls``, or a tool
            whose parameter schema cannot be enforced (the field path starts with the tool name).
    """
    if field is not None:
        return _compile(signature, fmt, tools, options, field)
    return _compile(rendered_without_tools(signature), fmt, tools, options, None)


def prompt_tools(signature: Any, inputs: Mapping[str, Any]) -> tuple[str, NativeTools] | None:
    """For DSPy's non-native path: the ``dspy.ToolCalls`` output and the tools given as an input.

    Returns:
        (the ToolCalls field, the tools of the ``list[dspy.Tool]`` input in ``inputs``), or None
        when the signature has no such pair or the input holds no tools.
    """
    from dspy.adapters.types.tool import Tool, ToolCalls

    outputs = [name for name, info in signature.output_fields.items() if info.annotation is ToolCalls]
    given: list[Any] = [inputs[name] for name in signature.input_fields if name in inputs]
    tools: list[Tool] = [
        tool
        for value in given
        for tool in (value if isinstance(value, list) else [value])
        if isinstance(tool, Tool)
    ]
    if len(outputs) != 1 or not tools:
        return None
    return outputs[0], native_tools([tool.format_as_litellm_function_call() for tool in tools])


@functools.lru_cache(maxsize=512)
def _compile(
    signature: Any, fmt: OutputFormat, tools: NativeTools, options: Options, in_place: str | None
) -> ToolCallsConstraint:
    if fmt not in ("chat", "json"):
        raise UnsupportedSchemaError(
            f"tool calls held to their tools in the {fmt} layout have no grammar; use dspy.ChatAdapter() "
            "or dspy.JSONAdapter()",
            keyword="tools",
        )
    section = in_place or TOOL_CALLS_FIELD
    if in_place is None:
        if TOOL_CALLS_FIELD in output_fields(signature):
            raise UnsupportedSchemaError(
                f"an output field named {TOOL_CALLS_FIELD!r} collides with the section native tool calls are "
                "written in; rename the field",
                field=TOOL_CALLS_FIELD,
                keyword="field name",
            )
        signature = signature.append(TOOL_CALLS_FIELD, dspy.OutputField(), type_=dspy.ToolCalls)
    model = output_model(signature)
    calls_schema, matchers = _calls_schema(tools, options)
    name = getattr(signature, "__name__", "Signature")
    extra = (tools, matchers, section, in_place is None)
    if fmt == "chat":
        rules = [
            FieldRule(n, "json", schema=calls_schema) if n == section else field_rule(n, info, options)
            for n, info in output_fields(signature).items()
        ]
        lark = chat_grammar(rules)
        grammar = grammar_from_lark(lark)
        error = compile_grammar(grammar)
        if error:
            raise UnsupportedSchemaError(f"llguidance rejected the chat grammar: {error.splitlines()[0]}")
        return ToolCallsConstraint(
            name, "chat", {"grammar": lark}, model, tuple(rules), GrammarMatcher(grammar), *extra
        )
    schema = finalize_schema(model.model_json_schema(), options)
    inner = copy.deepcopy(calls_schema)
    for def_name, def_schema in inner.pop("$defs", {}).items():
        if schema.setdefault("$defs", {}).setdefault(def_name, def_schema) != def_schema:
            raise UnsupportedSchemaError(
                f"a tool's $defs entry {def_name!r} collides with an output type of that name; rename one",
                keyword="$defs",
            )
    inner.pop("x-guidance", None)
    schema["properties"][section] = inner
    matcher = GrammarMatcher(check_json_schema(schema))
    return ToolCallsConstraint(name, "json", {"json": schema}, model, (), matcher, *extra)
