"""Bounds on lists and maps derived from max_tokens (lift_dspy.constraints.bounds), and trim_prompt."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import dspy
import pytest
from fakes import FakeVLLM
from pydantic import BaseModel, Field

import lift_dspy
from lift_dspy.constraints import compile_constraint
from lift_dspy.constraints.schema import Options, finalize_schema, schema_for_annotation
from lift_dspy.errors import ConstraintViolationError, InvalidRequestError


class Point(BaseModel):
    x: int
    y: int


class Points(dspy.Signature):
    """Extract the points."""

    text: str = dspy.InputField()
    points: list[Point] = dspy.OutputField()


class Tags(dspy.Signature):
    """Tag the text."""

    text: str = dspy.InputField()
    tags: list[str] = dspy.OutputField()
    counts: dict[str, int] = dspy.OutputField()


class Bounded(dspy.Signature):
    text: str = dspy.InputField()
    tags: Annotated[list[str], Field(max_length=3)] = dspy.OutputField()


class Many(dspy.Signature):
    text: str = dspy.InputField()
    points: Annotated[list[Point], Field(min_length=40)] = dspy.OutputField()


def _bounded(annotation: Any, budget: int | None) -> dict[str, Any]:
    schema = finalize_schema(schema_for_annotation(annotation), Options(budget_tokens=budget))
    schema.pop("x-guidance")
    return schema


def test_rule_examples_from_the_docstring() -> None:
    assert _bounded(list[int], 512)["maxItems"] == 128  # t = 1 + 1: 512 // (2 * 1 * 2)
    assert _bounded(list[Point], 512)["maxItems"] == 36  # {"x": 0, "y": 0}: 16 chars, t = 1 + 6
    assert _bounded(dict[str, int], 512)["maxProperties"] == 85  # '"": 0' 5 chars, t = 1 + 2
    assert "maxItems" not in _bounded(list[int], None)
    # Items from a closed set cost their longest text: '"question"', 10 chars, t = 1 + 4.
    assert _bounded(list[Literal["bug", "question"]], 512)["maxItems"] == 51


def test_budget_is_shared_and_user_bounds_are_kept() -> None:
    nested = _bounded(list[list[int]], 512)
    assert nested["maxItems"] == 64
    assert nested["items"]["maxItems"] == 64
    assert _bounded(Annotated[list[int], Field(max_length=5)], 512)["maxItems"] == 5
    # never below minItems
    assert _bounded(Annotated[list[int], Field(min_length=300)], 512)["maxItems"] == 300
    assert "maxItems" not in _bounded(tuple[int, str], 512)["prefixItems"][0]


def test_options_for_call() -> None:
    assert Options().for_call(256).budget_tokens == 256
    assert Options().for_call(None).budget_tokens is None
    assert Options(derive_bounds=False).for_call(256).budget_tokens is None


def test_a_value_the_bounded_grammar_allows_validates_and_one_more_item_does_not() -> None:
    constraint = compile_constraint(Points, "json", None, Options(budget_tokens=512))
    limit = constraint.structured_outputs["json"]["properties"]["points"]["maxItems"]
    assert limit == 36
    full = json.dumps({"points": [{"x": i, "y": i} for i in range(limit)]}, separators=(", ", ": "))
    assert len(constraint.validate(full)["points"]) == limit
    over = json.dumps({"points": [{"x": i, "y": i} for i in range(limit + 1)]}, separators=(", ", ": "))
    with pytest.raises(ConstraintViolationError):
        constraint.validate(over)


def test_guidance_lm_sends_derived_bounds_in_both_layouts() -> None:
    fake = FakeVLLM(['[[ ## points ## ]]\n[{"x": 1, "y": 2}]\n\n[[ ## completed ## ]]', '{"points": []}'])
    dspy.configure(lm=fake.lm(max_tokens=512))
    assert dspy.Predict(Points)(text="(1, 2)").points == [Point(x=1, y=2)]
    assert '"maxItems": 36' in fake.payloads[0]["structured_outputs"]["grammar"]
    with dspy.context(adapter=dspy.JSONAdapter()):
        dspy.Predict(Points)(text="none", config={"max_tokens": 256})
    schema = fake.payloads[1]["structured_outputs"]["json"]
    assert schema["properties"]["points"]["maxItems"] == 18  # the call's max_tokens, not the LM's


def test_chat_layout_bounds_each_typed_field_and_keeps_user_bounds() -> None:
    fake = FakeVLLM(["[[ ## tags ## ]]\n[]\n\n[[ ## counts ## ]]\n{}\n\n[[ ## completed ## ]]"])
    fake.replies.append("[[ ## tags ## ]]\n[]\n\n[[ ## completed ## ]]")
    dspy.configure(lm=fake.lm(max_tokens=300))
    dspy.Predict(Tags)(text="x")
    grammar = fake.payloads[0]["structured_outputs"]["grammar"]
    assert '"maxItems": 75' in grammar
    assert '"maxProperties": 50' in grammar
    dspy.Predict(Bounded)(text="x")
    assert '"maxItems": 3,' in fake.payloads[1]["structured_outputs"]["grammar"]


def test_opt_out_and_no_max_tokens_send_no_derived_bound() -> None:
    fake = FakeVLLM(['{"points": []}', '{"points": []}'])
    for lm in (fake.lm(max_tokens=512, derive_bounds=False), fake.lm()):
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            dspy.Predict(Points)(text="x")
    for payload in fake.payloads:
        assert "maxItems" not in payload["structured_outputs"]["json"]["properties"]["points"]


def test_tiny_max_tokens_that_nothing_fits_is_a_typed_error_before_sending() -> None:
    fake = FakeVLLM()
    dspy.configure(lm=fake.lm(max_tokens=16))
    with pytest.raises(InvalidRequestError, match=r"max_tokens=16 cannot hold even the shortest answer"):
        dspy.Predict(Many)(text="x")
    assert fake.payloads == []


def test_trim_prompt_drops_only_the_schema_notes_and_the_answer_is_still_checked() -> None:
    answer = '[[ ## points ## ]]\n[{"x": 1, "y": 2}]\n\n[[ ## completed ## ]]'
    fake = FakeVLLM([answer, answer, '[[ ## points ## ]]\n[{"x": 1}]\n\n[[ ## completed ## ]]'])
    dspy.configure(lm=fake.lm(max_tokens=512))
    dspy.Predict(Points)(text="(1, 2)")
    dspy.configure(lm=fake.lm(max_tokens=512, trim_prompt=True))
    dspy.Predict(Points)(text="(1, 2)")
    full, trimmed = (payload["messages"][0]["content"] for payload in fake.payloads)
    assert "must adhere to the JSON schema" in full
    assert "must adhere to the JSON schema" not in trimmed
    assert "[[ ## points ## ]]\n{points}\n" in trimmed
    assert "Extract the points." in trimmed
    assert len(trimmed) < len(full)
    assert fake.payloads[0]["structured_outputs"] == fake.payloads[1]["structured_outputs"]
    with pytest.raises(ConstraintViolationError):
        dspy.Predict(Points)(text="(1, 2)")


def test_trim_prompt_json_layout_keeps_valid_json_description() -> None:
    fake = FakeVLLM(['{"points": []}'])
    with dspy.context(lm=fake.lm(max_tokens=512, trim_prompt=True), adapter=dspy.JSONAdapter()):
        dspy.Predict(Points)(text="x")
    system = fake.payloads[0]["messages"][0]["content"]
    assert '"points": "{points}"' in system
    assert "JSON schema" not in system


def test_options_survive_dump_and_load_state() -> None:
    lm = lift_dspy.GuidanceLM("m", api_base="http://x.test/v1", derive_bounds=False, trim_prompt=True)
    state = lm.dump_state()
    assert state["derive_bounds"] is False
    assert state["trim_prompt"] is True
    again = lift_dspy.GuidanceLM.load_state(state)
    assert again.config.options.derive_bounds is False
    assert again.config.trim_prompt is True
