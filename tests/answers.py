"""The canonical text of an answer for a constraint: what its grammar accepts and DSPy's adapter parses.

A test oracle only (the library never writes answers, the model does): the property tests render
instances of an output model and check that the grammar accepts them and the adapter reads them back,
and the fast tests script FakeVLLM replies with it.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from lift_dspy.constraints import Constraint
from lift_dspy.constraints.chat import FieldRule, field_marker


def render_answer(constraint: Constraint, values: dict[str, Any]) -> str:
    """The text of an answer with ``values`` (Python objects by field name) in ``constraint``'s layout."""
    dumped = constraint.model.model_validate(values).model_dump(mode="json", by_alias=True)
    if constraint.format == "json":
        return json.dumps(dumped, ensure_ascii=False)
    if constraint.format == "xml":
        return _render_xml(constraint.rules, dumped, values)
    sections = []
    for rule in constraint.rules:
        value = dumped[rule.name]
        if rule.kind == "text":
            text = str(value)
        elif rule.kind == "choice":
            text = _choice(rule, values[rule.name], value)
        else:
            text = json.dumps(value, ensure_ascii=False)
        sections.append(f"{field_marker(rule.name)}\n{text}")
    return "\n\n".join([*sections, field_marker("completed")])


def _choice(rule: FieldRule, raw: Any, dumped: Any) -> str:
    return next(option for option, member in rule.choices if member == raw or option == dumped)


def _render_xml(rules: tuple[FieldRule, ...], dumped: dict[str, Any], values: dict[str, Any]) -> str:
    sections = []
    for rule in rules:
        value = dumped[rule.name]
        if rule.kind == "text":
            sections.append(f"<{rule.name}>\n{escape(str(value))}\n</{rule.name}>")
            continue
        if rule.kind == "choice":
            body = escape(_choice(rule, values[rule.name], value))
        else:
            body = json.dumps(value, ensure_ascii=False)
        sections.append(f"<{rule.name}>\n{body}\n</{rule.name}>")
    return "\n\n".join(sections)
