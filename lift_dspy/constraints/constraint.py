"""Signature (+ output format, + tools) -> one compiled, cached Constraint.

A :class:`Constraint` knows three things about a signature: the ``structured_outputs`` payload
vLLM enforces, the output model, and how to check an answer (fail closed: the text must be a
sentence of the grammar that was sent *and* validate against the output model).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import pydantic
from pydantic import BaseModel

from lift_dspy.constraints.chat import (
    FieldRule,
    chat_grammar,
    field_marker,
    field_rule,
    field_value,
)
from lift_dspy.constraints.check import GrammarMatcher, compile_grammar, grammar_from_lark
from lift_dspy.constraints.fields import refuse_in_json
from lift_dspy.constraints.model import output_fields, output_model
from lift_dspy.constraints.schema import DEFAULT_OPTIONS, Options, check_json_schema, finalize_schema
from lift_dspy.constraints.tools import ARGS_FIELD, NAME_FIELD, ToolSpec, tool_spec
from lift_dspy.constraints.xml import parse_xml, xml_grammar, xml_rule
from lift_dspy.errors import ConstraintViolationError, UnsupportedSchemaError

__all__ = ["Constraint", "OutputFormat", "compile_constraint", "constraint_for", "format_for_adapter"]

OutputFormat = Literal["chat", "json", "xml"]
_HEADER = re.compile(r"\[\[ ## (\w+) ## \]\]")


@dataclass(frozen=True)
class Constraint:
    """A compiled constraint for one signature in one output format.

    Attributes:
        signature_name: The signature's class name (for messages and monitoring).
        format: ``chat`` (DSPy ChatAdapter's ``[[ ## field ## ]]`` layout), ``json`` or ``xml``
            (DSPy XMLAdapter's ``<field>...</field>`` layout).
        structured_outputs: The exact vLLM ``structured_outputs`` value. Treat as read-only.
        model: The Pydantic output model answers are validated against.
        rules: Per-field chat/XML-format rules (empty for ``json``).
    """

    signature_name: str
    format: OutputFormat
    structured_outputs: dict[str, Any]
    model: type[BaseModel]
    rules: tuple[FieldRule, ...] = ()
    matcher: GrammarMatcher = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of exactly what is enforced (the payload); equal payloads, equal prints."""
        text = json.dumps(self.structured_outputs, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def validate(self, text: str, *, model_name: str | None = None, exact: bool = True) -> dict[str, Any]:
        """Check an answer; return the validated output values by field name.

        Args:
            text: The complete answer.
            model_name: For error messages.
            exact: Also require the text to be a sentence of the grammar, byte for byte (right for
                the guidance backend, which enforced exactly this grammar). Other backends
                (xgrammar) write their own whitespace, so only the values are checked.

        Raises:
            ConstraintViolationError: the text is not a sentence of the constraint's grammar or
                does not validate against the output model; ``field`` names the first bad field.
        """
        try:
            values = self._parse(text, model_name)
        except ConstraintViolationError as exc:
            mismatch = self.matcher.mismatch(text) if exact else None
            if mismatch is not None and mismatch[0] == len(text.encode("utf-8")):
                raise ConstraintViolationError(
                    f"{exc.reason} ({mismatch[1]})",
                    raw_text=text,
                    field=exc.field,
                    model=model_name,
                    hint=_STOPPED_EARLY,
                ) from exc
            raise
        try:
            validated = self.model.model_validate(values)
        except pydantic.ValidationError as exc:
            error = exc.errors()[0]
            loc = error.get("loc") or ()
            raise ConstraintViolationError(
                f"{error.get('msg', 'invalid value')} (at {'.'.join(map(str, loc)) or 'root'})",
                raw_text=text,
                field=str(loc[0]) if loc else None,
                model=model_name,
            ) from exc
        mismatch = self.matcher.mismatch(text) if exact else None
        if mismatch is not None:
            offset, reason = mismatch
            raise ConstraintViolationError(
                f"not accepted by the grammar that was sent: {reason}",
                raw_text=text,
                field=self._field_at(text, offset),
                model=model_name,
                hint=_STOPPED_EARLY if offset == len(text.encode("utf-8")) else None,
            )
        return validated.model_dump(by_alias=True)

    def _field_at(self, text: str, offset: int) -> str | None:
        """The chat-format field whose section holds byte ``offset`` (None for JSON)."""
        if self.format != "chat":
            return None
        prefix = text.encode("utf-8")[:offset].decode("utf-8", "ignore")
        names = [name for name in _HEADER.findall(prefix) if name != "completed"]
        return names[-1] if names else None

    def _parse(self, text: str, model_name: str | None) -> dict[str, Any]:
        if self.format == "xml":
            return parse_xml(self.rules, text, model_name)
        return self._parse_chat(text, model_name) if self.format == "chat" else _parse_json(text, model_name)

    def _parse_chat(self, text: str, model_name: str | None) -> dict[str, Any]:
        sections: dict[str | None, list[str]] = {}
        current: str | None = None
        # Split on "\n" only: the grammar writes headers after "\n", and str.splitlines() would also
        # split (and rejoin with "\n") on U+0085, U+2028 and U+2029, which a JSON string holds raw.
        for line in text.split("\n"):
            match = _HEADER.match(line.strip())
            if match:
                current = match.group(1)
                if current in sections:
                    raise ConstraintViolationError(
                        "field header repeated", raw_text=text, field=current, model=model_name
                    )
                sections[current] = [line.strip()[match.end() :]]
            else:
                sections.setdefault(current, []).append(line)
        values: dict[str, Any] = {}
        for rule in self.rules:
            if rule.name not in sections:
                raise ConstraintViolationError(
                    f"missing {field_marker(rule.name)}", raw_text=text, field=rule.name, model=model_name
                )
            raw = "\n".join(sections[rule.name]).strip()
            values[rule.name] = field_value(rule, raw, text, model_name)
        if "completed" not in sections:
            missing = f"missing {field_marker('completed')}"
            raise ConstraintViolationError(missing, raw_text=text, model=model_name)
        return values


_STOPPED_EARLY = (
    "The text is a correct but unfinished answer: the server stopped the generation early. vLLM's "
    "guidance backend ends a request when llguidance hits a resource limit (look for 'TooComplex' "
    "in the server log); otherwise a stop string or an EOS the server forced."
)


def _parse_json(text: str, model_name: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConstraintViolationError(f"not valid JSON ({exc})", raw_text=text, model=model_name) from exc
    if not isinstance(data, dict):
        raise ConstraintViolationError("expected a JSON object", raw_text=text, model=model_name)
    return data


def format_for_adapter(adapter: Any, signature: Any = None) -> OutputFormat | None:
    """The layout an adapter asks for: ``chat``, ``json``, ``xml``, or None if lift-dspy has no grammar.

    ``None`` and ``dspy.ChatAdapter`` mean chat, ``dspy.JSONAdapter`` json, ``dspy.XMLAdapter`` xml. A
    subclass counts as its parent only if it renders the parent's field structure for ``signature``
    (checked when a signature is given): the layout decides, not the class.
    """
    from dspy.adapters import ChatAdapter, JSONAdapter, XMLAdapter

    if adapter is None:
        return "chat"
    parents: tuple[tuple[OutputFormat, type[ChatAdapter]], ...] = (
        ("json", JSONAdapter),
        ("xml", XMLAdapter),
        ("chat", ChatAdapter),
    )
    for fmt, parent in parents:
        if type(adapter) is parent:
            return fmt
    for fmt, parent in parents:
        if isinstance(adapter, parent):
            if signature is None:
                return fmt
            try:
                same = adapter.format_field_structure(signature) == parent().format_field_structure(signature)
            except Exception:
                same = False
            return fmt if same else None
    return None


@functools.lru_cache(maxsize=2048)
def compile_constraint(
    signature: Any, fmt: OutputFormat, tools: ToolSpec | None = None, options: Options = DEFAULT_OPTIONS
) -> Constraint:
    """Compile (once per argument tuple) the constraint of ``signature`` in format ``fmt``.

    Raises:
        UnsupportedSchemaError: a field's type cannot be enforced (names the field and keyword).
    """
    try:
        return _compile(signature, fmt, tools, options)
    except RecursionError as exc:
        # Pydantic's schema generator recurses once per nesting level.
        raise UnsupportedSchemaError(
            "the output types are nested too deeply to generate a schema; flatten the model or use a "
            "recursive model (a class that refers to itself)",
            keyword="nesting depth",
        ) from exc


def _compile(signature: Any, fmt: OutputFormat, tools: ToolSpec | None, options: Options) -> Constraint:
    fields = output_fields(signature)
    if not fields:
        raise UnsupportedSchemaError("the signature has no output fields", keyword="outputs")
    if tools is not None and (NAME_FIELD not in fields or ARGS_FIELD not in fields):
        tools = None
    model = output_model(signature)
    name = getattr(signature, "__name__", "Signature")
    if fmt == "xml":
        rules = tuple(xml_rule(n, info, options) for n, info in fields.items())
        lark = xml_grammar(list(rules))
        grammar = grammar_from_lark(lark)
        error = compile_grammar(grammar)
        if error:
            raise UnsupportedSchemaError(f"llguidance rejected the XML grammar: {error.splitlines()[0]}")
        return Constraint(name, "xml", {"grammar": lark}, model, rules, GrammarMatcher(grammar))
    if fmt == "chat":
        rules = tuple(field_rule(n, info, options) for n, info in fields.items())
        lark = chat_grammar(list(rules), tools)
        grammar = grammar_from_lark(lark)
        error = compile_grammar(grammar)
        if error:
            raise UnsupportedSchemaError(f"llguidance rejected the chat grammar: {error.splitlines()[0]}")
        return Constraint(name, "chat", {"grammar": lark}, model, rules, GrammarMatcher(grammar))
    refuse_in_json(fields)  # a Lark grammar has no JSON Schema form: never an unchecked string
    schema = finalize_schema(model.model_json_schema(), options)
    if tools is not None:
        schema = _dispatch_schema(schema, tools)
    grammar = check_json_schema(schema)
    return Constraint(name, "json", {"json": schema}, model, (), GrammarMatcher(grammar))


def _dispatch_schema(schema: dict[str, Any], tools: ToolSpec) -> dict[str, Any]:
    """One object variant per tool: ``next_tool_name`` const, ``next_tool_args`` by its schema."""
    root: dict[str, Any] = {key: schema[key] for key in ("$defs", "x-guidance") if key in schema}
    body = {key: value for key, value in schema.items() if key not in ("$defs", "x-guidance", "title")}
    variants = []
    for tool, args in tools.tools:
        variant = copy.deepcopy(body)
        variant["properties"][NAME_FIELD] = {"const": tool}
        variant["properties"][ARGS_FIELD] = {k: v for k, v in args.items() if k != "x-guidance"}
        variants.append(variant)
    return {**root, "anyOf": variants}


def constraint_for(
    signature: Any,
    adapter: Any = None,
    *,
    tools: Any = None,
    lenient: bool = False,
    max_text_chars: int | None = None,
    max_tokens: int | None = None,
    derive_bounds: bool = True,
) -> dict[str, Any]:
    """Exactly the ``structured_outputs`` payload GuidanceLM sends for ``signature``.

    Args:
        signature: A ``dspy.Signature`` class.
        adapter: ``None``/``dspy.ChatAdapter()`` for the chat layout (a Lark grammar),
            ``dspy.JSONAdapter()`` for a JSON object (a JSON Schema), ``dspy.XMLAdapter()`` for the
            XML layout (a Lark grammar).
        tools: For ReAct-style signatures, ``{name: dspy.Tool}``: the tool name then selects the
            argument schema.
        lenient: Let llguidance ignore JSON Schema keywords it does not implement (``uniqueItems``,
            ``not``, ...) instead of raising; validation of the answer still enforces them.
        max_text_chars: Bound every otherwise unbounded text (free ``str`` fields, JSON strings
            without ``maxLength``) to this many characters.
        max_tokens: The call's ``max_tokens``: lists and maps without a bound get one derived from
            it, as GuidanceLM does (:mod:`lift_dspy.constraints.bounds`).
        derive_bounds: ``False``: no derived bounds (``GuidanceLM(derive_bounds=False)``).

    Returns:
        A fresh dict, ``{"grammar": lark}`` or ``{"json": schema}``, validated by llguidance.

    Raises:
        UnsupportedSchemaError: the signature or adapter cannot be constrained; the message names
            the field and the JSON Schema keyword, and the fix.

    Example:
        >>> import dspy, lift_dspy
        >>> sorted(lift_dspy.constraint_for(dspy.Signature("question -> answer: int")))
        ['grammar']
    """
    fmt = format_for_adapter(adapter, signature)
    if fmt is None:
        raise UnsupportedSchemaError(
            f"{type(adapter).__name__} writes a layout lift-dspy has no grammar for; use "
            "dspy.ChatAdapter() (the default), dspy.JSONAdapter() or dspy.XMLAdapter(), or a subclass that "
            "keeps their layout",
            keyword="adapter",
        )
    options = Options(lenient=lenient, max_text_chars=max_text_chars, derive_bounds=derive_bounds)
    options = options.for_call(max_tokens)
    spec = tool_spec(tools, options) if tools else None
    return copy.deepcopy(compile_constraint(signature, fmt, spec, options).structured_outputs)
