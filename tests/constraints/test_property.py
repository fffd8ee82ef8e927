"""Property: any instance of a generated output model, written the way the LM writes it, is
accepted by its grammar, passes lift-dspy's validation, and DSPy's own adapter parses it back."""

from __future__ import annotations

from typing import Any

import dspy
import pytest
from answers import render_answer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_strategy import from_schema, text
from zoo import ZOO

import lift_dspy
from lift_dspy.constraints import compile_constraint


def _instances(signature: Any, fmt: str) -> st.SearchStrategy[dict[str, Any]]:
    constraint = compile_constraint(signature, fmt)
    schema = lift_dspy.output_model(signature).model_json_schema()
    defs = schema.get("$defs", {})
    fields = {}
    kinds = {rule.name: rule for rule in constraint.rules}
    for name, sub in schema["properties"].items():
        rule = kinds.get(name)
        if rule is not None and rule.kind == "text" and rule.terminal is None:
            # Free text: DSPy strips field values, so a model's text is compared stripped.
            fields[name] = text(1, 60).map(str.strip).filter(bool)
        elif rule is not None and rule.kind == "text":
            # Bounded text: a value with edge whitespace is not what a model under the grammar
            # writes (DSPy strips it anyway).
            fields[name] = from_schema(sub, defs).filter(lambda v: v == v.strip())
        else:
            fields[name] = from_schema(sub, defs)
    return st.fixed_dictionaries(fields)


def _same(parsed: dict[str, Any], expected: dict[str, Any], signature: Any) -> None:
    model = lift_dspy.output_model(signature)
    assert model.model_validate(parsed).model_dump(mode="json") == model.model_validate(expected).model_dump(
        mode="json"
    )


@pytest.mark.parametrize("name", sorted(ZOO))
@pytest.mark.parametrize("fmt", ["chat", "json"])
def test_rendered_instances_are_accepted_and_round_trip(name: str, fmt: str) -> None:
    signature = ZOO[name]
    constraint = compile_constraint(signature, fmt)
    adapter = dspy.ChatAdapter() if fmt == "chat" else dspy.JSONAdapter()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_instances(signature, fmt))
    def check(values: dict[str, Any]) -> None:
        rendered = render_answer(constraint, values)
        assert constraint.matcher.mismatch(rendered) is None, rendered
        validated = constraint.validate(rendered)
        _same(validated, values, signature)
        _same(adapter.parse(signature, rendered), values, signature)

    check()
