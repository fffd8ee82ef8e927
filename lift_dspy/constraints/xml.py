"""The Lark grammar (llguidance dialect) of DSPy's XML layout, and how its answers are read.

``dspy.XMLAdapter`` asks for each output field as an element, in order::

    <reasoning>
    free text
    </reasoning>

    <answer>
    {"json": "for typed fields"}
    </answer>

and reads the answer with ``xml.etree.ElementTree`` (the text of each element, stripped). The grammar
fixes that layout: the tags are forced bytes; ``str`` fields are XML character data that cannot
close the element early or break the parse (no ``<``, no bare ``&`` -- the five named entities are
allowed and read back decoded --, no ``]]>``, no control characters); ``Literal``/``Enum`` fields
are a choice of their raw values (XML-escaped); every other type is one JSON value (``%json{...}``)
whose free strings cannot hold ``<`` or ``&``. DSPy's prompt shows nested XML for lists, dicts and
models; under the grammar they are written as JSON, which DSPy's parser reads as well. Answers are
validated after: parsed as XML, then against the output model.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from lift_dspy.constraints.chat import FieldRule, dspy_scalar_forms, field_rule, field_value
from lift_dspy.constraints.schema import DEFAULT_OPTIONS, Options, _each_subschema, check_json_schema
from lift_dspy.errors import ConstraintViolationError, UnsupportedSchemaError

__all__ = ["XML_TEXT_REGEX", "parse_xml", "xml_grammar", "xml_rule"]

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f"
_ENTITY = r"&(?:amp|lt|gt|quot|apos);"
_CHAR = rf"[^<&\]{_CONTROL}]"  # may be ">"
_CHAR_NOT_GT = rf"[^<&\]>{_CONTROL}]"
# Character data without "<", bare "&", control characters or "]]>" (XML 1.0 forbids it in text).
XML_TEXT_REGEX = (
    rf"(?:{_CHAR}|{_ENTITY}|\](?:>|{_CHAR_NOT_GT}|{_ENTITY})|\]\]+(?:{_CHAR_NOT_GT}|{_ENTITY}))*\]*"
)
_XML_TEXT = f"XML_TEXT: /{XML_TEXT_REGEX}/"


def _lark_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _xml_strings(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` whose free strings cannot hold ``<`` or ``&`` (they would break the XML)."""
    result = json.loads(json.dumps(schema))

    def visit(node: dict[str, Any]) -> None:
        if node.get("type") == "string" and not {"pattern", "format", "enum", "const"}.intersection(node):
            node["pattern"] = "^[^<&]*$"

    _each_subschema(result, visit)
    return result


def xml_rule(name: str, info: Any, options: Options = DEFAULT_OPTIONS) -> FieldRule:
    """Classify one output field for the XML layout (like the chat layout's, with XML-safe values).

    Raises:
        UnsupportedSchemaError: the field cannot be written in the XML layout.
    """
    if not name.isidentifier():
        raise UnsupportedSchemaError("not a valid XML tag name", field=name, keyword="field name")
    if name.lower().startswith("xml"):
        raise UnsupportedSchemaError(
            "XML reserves tag names starting with 'xml'; rename the field", field=name, keyword="field name"
        )
    rule = field_rule(name, info, options)
    if rule.lark is not None:  # lift_dspy.Grammar / dspy.Code with a grammar: chat layout only (H2a)
        raise UnsupportedSchemaError(
            "a grammar-typed field is enforced in DSPy's chat layout only; use dspy.ChatAdapter "
            "(the default)",
            field=name,
            keyword="grammar",
        )
    if rule.kind == "choice":
        for option, _ in rule.choices:
            if option != option.strip() or not option:
                raise UnsupportedSchemaError(
                    f"the choice {option!r} cannot be read back from DSPy's XML layout (element text is "
                    "stripped); use choices without edge whitespace, or dspy.JSONAdapter()",
                    field=name,
                    keyword="enum",
                )
    if rule.kind == "json" and rule.schema is not None:
        schema = _xml_strings(rule.schema)
        check_json_schema(schema, field=name)
        return FieldRule(name, "json", schema=schema)
    return rule


def xml_grammar(rules: list[FieldRule]) -> str:
    """The Lark grammar of a complete XML-layout answer for ``rules`` (in order)."""
    lines: list[str] = []
    pieces: list[str] = []
    for index, rule in enumerate(rules):
        rule_name = f"v{index}"
        opening = ("\n\n" if index else "") + f"<{rule.name}>\n"
        pieces.append(_lark_string(opening))
        if rule.kind == "text":
            terminal = "XML_TEXT"
            if rule.terminal:
                terminal = f"TEXT_{index}"
                bounded = rule.terminal.rsplit(" & SAFE_TEXT", 1)[0]
                lines.append(f"{terminal}: {bounded} & XML_TEXT")
            lines.append(f"{rule_name}: {terminal}")
            pieces += [rule_name, _lark_string(f"</{rule.name}>")]
        elif rule.kind == "choice":
            lines.append(
                f"{rule_name}: " + " | ".join(_lark_string(escape(text)) for text, _ in rule.choices)
            )
            pieces += [rule_name, _lark_string(f"\n</{rule.name}>")]
        else:
            forms = [f"%json {json.dumps(rule.schema or {})}", *dspy_scalar_forms(rule.schema or {})]
            lines.append(f"{rule_name}: " + " | ".join(forms))
            pieces += [rule_name, _lark_string(f"\n</{rule.name}>")]
    body = [f'start: {" ".join(pieces)} "\\n"?', *lines, _XML_TEXT]
    return "\n".join(body) + "\n"


def parse_xml(rules: tuple[FieldRule, ...], text: str, model_name: str | None) -> dict[str, Any]:
    """The raw output values of an XML-layout answer, read as DSPy's XMLAdapter reads them.

    Raises:
        ConstraintViolationError: not well-formed, a field missing, repeated, nested or invalid.
    """
    try:
        root = ET.fromstring(f"<dspy_root>{text}</dspy_root>")
    except ET.ParseError as exc:
        raise ConstraintViolationError(
            f"not well-formed XML ({exc})", raw_text=text, model=model_name
        ) from exc
    elements: dict[str, ET.Element] = {}
    for element in root:
        if element.tag in elements:
            raise ConstraintViolationError(
                "element repeated", raw_text=text, field=element.tag, model=model_name
            )
        elements[element.tag] = element
    values: dict[str, Any] = {}
    for rule in rules:
        found = elements.get(rule.name)
        if found is None:
            raise ConstraintViolationError(
                f"missing <{rule.name}>", raw_text=text, field=rule.name, model=model_name
            )
        if len(found):
            raise ConstraintViolationError(
                "nested elements where a value was expected", raw_text=text, field=rule.name, model=model_name
            )
        raw = (found.text or "").strip()
        values[rule.name] = field_value(rule, raw, text, model_name, python_scalars=True)
    return values
