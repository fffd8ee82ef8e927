"""The Lark grammar (llguidance dialect) of DSPy's chat format.

DSPy's ``ChatAdapter`` asks for::

    [[ ## reasoning ## ]]
    free text

    [[ ## answer ## ]]
    {"json": "for typed fields"}

    [[ ## completed ## ]]

The grammar fixes that layout: the headers are forced bytes (no tokens sampled for them), ``str``
fields are free text that cannot contain a field header (so text can never inject ``[[ ## ... ## ]]``
and end a field early), ``Literal``/``Enum`` fields are a choice of their raw values (what DSPy's
parser reads), and every other type is ``%json{...}`` with the field's closed schema. Free text ends
with a *suffix* lexeme: the next header is part of the lexeme, so it stops exactly there (a plain
regex followed by the header never stops: 0/5 answers ended on SmolLM2 under vLLM 0.32, against 5/5
with a suffix or lazy lexeme; xgrammar servers reject the lazy form).
"""

from __future__ import annotations

import copy
import enum
import json
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from lift_dspy.constraints.fields import Regex, field_grammar, is_code_type, regex_problem
from lift_dspy.constraints.guidance import regex_to_lark
from lift_dspy.constraints.model import field_annotation
from lift_dspy.constraints.schema import (
    DEFAULT_OPTIONS,
    Options,
    check_json_schema,
    finalize_schema,
    one_line_strings,
    schema_for_annotation,
)
from lift_dspy.constraints.tools import ToolSpec
from lift_dspy.errors import ConstraintViolationError, UnsupportedSchemaError

__all__ = [
    "SAFE_TEXT_REGEX",
    "FieldKind",
    "FieldRule",
    "chat_grammar",
    "dspy_scalar_forms",
    "field_marker",
    "field_rule",
    "field_value",
]

FieldKind = Literal["text", "choice", "json"]

# Free text: anything that does not contain the field header opener "[[ ##". Written as the plain
# regular expression of that automaton (states: matched "", "[", "[[", "[[ ", "[[ #") rather than
# with llguidance's negation operator: `& ~/.../` combined with a length bound exhausts
# llguidance's lexer budget ("too many expressions constructed") on a real 49k-token vocabulary,
# and vLLM then ends the request early. tests/constraints/test_chat_text.py checks it against a
# brute-force definition.
_LOOP = r"\[+ #?\["
_EXIT = r"(?:[^\[]|\[+(?:[^\[ ]| (?:[^#\[]|#[^#\[])))"
SAFE_TEXT_REGEX = rf"(?:[^\[]|\[(?:{_LOOP})*{_EXIT})*(?:\[(?:{_LOOP})*(?:\[+(?: #?)?)?)?"
_SAFE_TEXT = f"SAFE_TEXT: /{SAFE_TEXT_REGEX}/"


@dataclass(frozen=True)
class FieldRule:
    """How one output field is written in the chat format.

    Attributes:
        name: The field name.
        kind: ``text`` (raw free or pattern-bounded text), ``choice`` (one raw value of a
            Literal/Enum) or ``json`` (one JSON value).
        choices: For ``choice``: the raw texts and the Python values they stand for.
        terminal: For constrained ``text``: the llguidance terminal expression.
        schema: For ``json``: the finalized JSON Schema of the value.
        lark: For grammar-typed ``text`` (``lift_dspy.Grammar``, ``dspy.Code[lang]``): the Lark
            grammar the raw text follows, embedded as a nested ``%lark`` grammar.
    """

    name: str
    kind: FieldKind
    choices: tuple[tuple[str, Any], ...] = ()
    terminal: str | None = None
    schema: dict[str, Any] | None = None
    lark: str | None = None


def field_marker(name: str) -> str:
    """The chat-format marker line of a field, ``[[ ## name ## ]]`` (DSPy calls it a header)."""
    return f"[[ ## {name} ## ]]"


def _lark_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")  # llguidance: no raw DEL


def _is_optional_str(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin not in (Union, types.UnionType):
        return False
    args = set(get_args(annotation))
    return str in args and args <= {str, type(None)}


def _choices(annotation: Any) -> tuple[tuple[str, Any], ...] | None:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple((m.value if isinstance(m.value, str) else json.dumps(m.value), m) for m in annotation)
    if get_origin(annotation) is Literal:
        return tuple((v if isinstance(v, str) else json.dumps(v), v) for v in get_args(annotation))
    return None


def _text_terminal(info: Any, max_text_chars: int | None) -> str | None:
    """A terminal for a ``str`` field with length or pattern constraints, else None."""
    if not info.metadata and max_text_chars is None:
        return None
    schema = schema_for_annotation(field_annotation(info)) if info.metadata else {}
    if max_text_chars is not None and "maxLength" not in schema:
        schema["maxLength"] = max_text_chars
    parts = []
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        # JSON Schema (and Pydantic) patterns search; chat text is the whole value, so an
        # unanchored end may be followed (or preceded) by any text.
        head = "" if pattern.startswith("^") else "(?s:.*)"
        tail = "" if pattern.endswith("$") and not pattern.endswith("\\$") else "(?s:.*)"
        inner = pattern.removeprefix("^").removesuffix("$") if tail == "" else pattern.removeprefix("^")
        parts.append(f"/{head}(?:{regex_to_lark(inner, 'dw')}){tail}/")
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None or high is not None:
        parts.append(f"/(?s:.){{{low or 0},{'' if high is None else high}}}/")
    if not parts:
        return None
    if info.metadata and (schema.get("minLength") or "pattern" in schema):
        # DSPy strips field values, so a lower bound or a pattern applies to the text without
        # edge whitespace: the text must not have any.
        parts.append(r"/(?:\S(?s:.*)\S|\S)?/")
    return " & ".join([*parts, "SAFE_TEXT"])


def _no_metadata(info: Any) -> Any:
    """``info`` without its ``Annotated`` metadata (a dspy.Code field's text has no JSON constraints)."""
    if not info.metadata:
        return info
    clone = copy.copy(info)
    clone.metadata = []
    return clone


def _check_choice(name: str, option: str) -> None:
    """Refuse a choice DSPy's ChatAdapter could not read back (it strips values, splits lines)."""
    unreadable = option != option.strip() or len(f"x{option}x".splitlines()) > 1 or "[[ ##" in option
    if unreadable:
        raise UnsupportedSchemaError(
            f"the choice {option!r} cannot be written in DSPy's chat layout (DSPy strips field values and "
            "splits them into lines, so no answer choosing it would read back); use choices without edge "
            "whitespace, line breaks or '[[ ##', or dspy.JSONAdapter()",
            field=name,
            keyword="enum",
        )


def field_rule(name: str, info: Any, options: Options = DEFAULT_OPTIONS) -> FieldRule:
    """Classify one output field for the chat format (and check its schema if it is JSON).

    Raises:
        UnsupportedSchemaError: the field cannot be written in the chat layout.
    """
    if name == "completed":
        raise UnsupportedSchemaError(
            "an output field named 'completed' would repeat DSPy's end marker [[ ## completed ## ]]; "
            "rename the field",
            field=name,
            keyword="field name",
        )
    annotation = info.annotation if info.annotation is not None else str
    lark = field_grammar(name, info)
    if lark is not None:
        return FieldRule(name, "text", lark=lark)
    if is_code_type(annotation):  # dspy.Code in a language without a grammar: raw free text
        return FieldRule(name, "text", terminal=_text_terminal(_no_metadata(info), options.max_text_chars))
    if annotation is str or _is_optional_str(annotation):
        terminal = _text_terminal(info, options.max_text_chars)
        regexes = [item for item in info.metadata if isinstance(item, Regex)]
        if regexes and terminal is not None:
            problem = regex_problem(terminal, _SAFE_TEXT)
            if problem is not None:
                raise UnsupportedSchemaError(problem, field=name, keyword="pattern")
        return FieldRule(name, "text", terminal=terminal)
    choices = _choices(annotation)
    if choices is not None:
        for option, _ in choices:
            _check_choice(name, option)
        return FieldRule(name, "choice", choices=choices)
    schema = finalize_schema(schema_for_annotation(field_annotation(info)), options)
    check_json_schema(schema, field=name)
    return FieldRule(name, "json", schema=schema)


_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def dspy_scalar_forms(schema: dict[str, Any]) -> list[str]:
    """Lark alternatives for a top-level scalar as DSPy's ChatAdapter writes it in demos.

    DSPy renders a field value that is not a JSON object or array with ``str()``: ``True``/``False``,
    ``None``, and dates, times and UUIDs without quotes. Its parser reads those back, so the grammar
    accepts them next to the JSON spelling: few-shot demos are then sentences of the grammar the
    model is held to.
    """
    variants = schema.get("anyOf") or schema.get("oneOf") or [schema]
    forms: list[str] = []
    for variant in variants if isinstance(variants, list) else [schema]:
        if not isinstance(variant, dict):  # a boolean subschema
            continue
        kinds = variant.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "boolean" in kinds and "enum" not in variant and "const" not in variant:
            forms += ['"True"', '"False"']
        if "null" in kinds:
            forms.append('"None"')
        if kinds == ["string"] and "enum" not in variant and "const" not in variant:
            pattern = variant.get("pattern")
            if variant.get("format") == "uuid":
                forms.append(f"/{_UUID}/")
            elif isinstance(pattern, str) and pattern.startswith("^") and pattern.endswith("$"):
                forms.append(f"/{regex_to_lark(pattern[1:-1], 'dw')}/")
    return list(dict.fromkeys(forms))


def chat_grammar(rules: list[FieldRule], tools: ToolSpec | None = None) -> str:
    """The Lark grammar of a complete chat-format answer for ``rules`` (in order).

    With ``tools`` (ReAct), the ``next_tool_name`` choice selects which tool's argument schema
    ``next_tool_args`` must follow.
    """
    lines: list[str] = []
    pieces: list[str] = [_lark_string(field_marker(rules[0].name) + "\n")]
    index = 0
    while index < len(rules):
        rule = rules[index]
        paired = tools is not None and tools.dispatches(rules, index)
        after = index + 2 if paired else index + 1
        marker = field_marker(rules[after].name) + "\n" if after < len(rules) else field_marker("completed")
        delimiter = "\n\n" + marker
        rule_name = f"v{index}"
        if paired and tools is not None:
            args_header = _lark_string("\n\n" + field_marker(rules[index + 1].name) + "\n")
            branches = [
                f"{_lark_string(tool)} {args_header} %json {json.dumps(one_line_strings(schema))}"
                for tool, schema in tools.tools
            ]
            lines.append(f"{rule_name}: " + "\n    | ".join(branches))
            pieces += [rule_name, _lark_string(delimiter)]
        elif rule.kind == "text" and rule.lark is not None:
            # A nested grammar: its rule and terminal names are its own, so nothing clashes.
            lines.append(f"{rule_name}: %lark {{\n{rule.lark.strip()}\n}}")
            pieces += [rule_name, _lark_string(delimiter)]
        elif rule.kind == "text":
            terminal = "SAFE_TEXT"
            if rule.terminal:
                terminal = f"TEXT_{index}"
                lines.append(f"{terminal}: {rule.terminal}")
            lines.append(f"{rule_name}[suffix={_lark_string(delimiter)}]: {terminal}")
            pieces.append(rule_name)
        elif rule.kind == "choice":
            # One lexeme for all choices: as rule alternatives, each would be an Earley item, and
            # llguidance rejects every answer once a row passes 2000 items (a 2000-value Literal).
            lines.append(f"{rule_name}: CHOICE_{index}")
            lines.append(f"CHOICE_{index}: " + " | ".join(_lark_string(text) for text, _ in rule.choices))
            pieces += [rule_name, _lark_string(delimiter)]
        else:
            forms = [
                f"%json {json.dumps(one_line_strings(rule.schema or {}))}",
                *dspy_scalar_forms(rule.schema or {}),
            ]
            lines.append(f"{rule_name}: " + " | ".join(forms))
            pieces += [rule_name, _lark_string(delimiter)]
        index = after
    # DSPy renders its own demos with a final newline after the completed marker: allow it.
    body = [f'start: {" ".join(pieces)} "\\n"?', *lines, _SAFE_TEXT]
    return "\n".join(body) + "\n"


_PYTHON_SCALARS: dict[str, Any] = {"True": True, "False": False, "None": None}


def field_value(
    rule: FieldRule, raw: str, text: str, model_name: str | None, *, python_scalars: bool = False
) -> Any:
    """The Python value of one field's raw text, as DSPy's chat (or XML) parser reads it.

    Text is itself, a choice is the value it stands for, anything else is JSON, or DSPy's own
    ``str()`` spelling of a scalar where the grammar admits it (`dspy_scalar_forms`; with
    ``python_scalars``, ``True``/``False``/``None`` everywhere). The output model validates after.

    Raises:
        ConstraintViolationError: the text is none of those.
    """
    if rule.kind == "text":
        return raw
    if rule.kind == "choice":
        for option, value in rule.choices:
            if raw == option:
                return value
        options = ", ".join(option for option, _ in rule.choices)
        raise ConstraintViolationError(
            f"{raw!r} is not one of: {options}", raw_text=text, field=rule.name, model=model_name
        )
    try:
        return json.loads(raw)
    except ValueError as exc:
        if (python_scalars and raw in _PYTHON_SCALARS) or (
            rule.schema is not None and dspy_scalar_forms(rule.schema)
        ):
            return _PYTHON_SCALARS.get(raw, raw)
        raise ConstraintViolationError(
            f"not valid JSON ({exc})", raw_text=text, field=rule.name, model=model_name
        ) from exc
