"""Exact request payloads at the HTTP level."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import dspy
import pytest
from fakes import FakeVLLM
from zoo import Count, SpecToIR

import lift_dspy
from lift_dspy.request import LEGACY_FIELDS


def test_chat_payload_is_exactly_messages_sampling_and_structured_outputs() -> None:
    fake = FakeVLLM(["[[ ## count ## ]]\n3\n\n[[ ## completed ## ]]"])
    dspy.configure(lm=fake.lm(temperature=0.7, max_tokens=123))
    assert dspy.Predict(Count)(text="a b c").count == 3
    (payload,) = fake.payloads
    assert set(payload) == {"model", "messages", "temperature", "max_tokens", "structured_outputs"}
    assert payload["model"] == "test-model"
    assert payload["temperature"] == 0.7
    assert payload["max_tokens"] == 123
    assert payload["structured_outputs"] == lift_dspy.constraint_for(Count)
    assert [m["role"] for m in payload["messages"]] == ["system", "user"]
    assert "[[ ## count ## ]]" in payload["messages"][0]["content"]


def test_json_adapter_sends_the_closed_schema_not_dspy_response_format() -> None:
    fake = FakeVLLM(['{"count": 3}'])
    dspy.configure(lm=fake.lm(), adapter=dspy.JSONAdapter())
    assert dspy.Predict(Count)(text="a b c").count == 3
    (payload,) = fake.payloads
    assert "response_format" not in payload
    assert payload["structured_outputs"] == lift_dspy.constraint_for(Count, dspy.JSONAdapter())
    schema = payload["structured_outputs"]["json"]
    assert schema["additionalProperties"] is False
    assert schema["x-guidance"]["whitespace_flexible"] is False


def test_no_legacy_guided_fields_ever() -> None:
    fake = FakeVLLM(["[[ ## count ## ]]\n1\n\n[[ ## completed ## ]]", '{"count": 1}'])
    dspy.configure(lm=fake.lm())
    dspy.Predict(Count)(text="a")
    with dspy.context(adapter=dspy.JSONAdapter()):
        dspy.Predict(Count)(text="a")
    for payload in fake.payloads:
        assert not LEGACY_FIELDS.intersection(payload)


def test_legacy_field_passed_by_a_user_is_refused_with_the_fix() -> None:
    fake = FakeVLLM()
    with pytest.raises(lift_dspy.InvalidRequestError, match="ignored by vLLM") as info:
        fake.lm(guided_json={"type": "object"})
    assert info.value.option == "guided_json"
    assert not isinstance(info.value, lift_dspy.UnsupportedSchemaError)  # a request, not a schema, problem
    assert fake.payloads == []


def test_plain_call_outside_a_module_is_unconstrained() -> None:
    fake = FakeVLLM(["hello"])
    lm = fake.lm()
    assert lm("hi") == ["hello"]
    assert "structured_outputs" not in fake.payloads[0]


def test_api_key_is_a_header_and_never_in_the_payload() -> None:
    seen = {}

    def reply(payload: dict) -> str:
        seen.update(payload)
        return "[[ ## count ## ]]\n1\n\n[[ ## completed ## ]]"

    fake = FakeVLLM([reply])
    lm = fake.lm(api_key="sk-secret-123")
    dspy.configure(lm=lm)
    dspy.Predict(Count)(text="a")
    assert "sk-secret-123" not in repr(seen)
    assert "sk-secret-123" not in repr(lm.dump_state())
    assert "sk-secret-123" not in repr(lm.history)
    assert lm._engine_spec.headers()["Authorization"] == "Bearer sk-secret-123"


def test_async_payload_equals_sync_payload() -> None:
    answer = "[[ ## count ## ]]\n2\n\n[[ ## completed ## ]]"
    fake = FakeVLLM([answer, answer])
    dspy.configure(lm=fake.lm())
    dspy.Predict(Count)(text="a b")
    assert asyncio.run(dspy.Predict(Count).acall(text="a b")).count == 2
    assert fake.payloads[0] == fake.payloads[1]


def test_constraint_for_is_a_fresh_copy() -> None:
    first = lift_dspy.constraint_for(SpecToIR, dspy.JSONAdapter())
    first["json"]["properties"].clear()
    assert lift_dspy.constraint_for(SpecToIR, dspy.JSONAdapter())["json"]["properties"]


def test_unknown_adapter_is_a_typed_error() -> None:
    class Bulleted(dspy.ChatAdapter):  # another layout: the class alone does not decide
        def format_field_structure(self, signature: Any) -> str:
            return "Answer as a bulleted list."

    with pytest.raises(lift_dspy.UnsupportedSchemaError, match="Bulleted"):
        lift_dspy.constraint_for(Count, Bulleted())


def test_literal_choice_payload() -> None:
    grammar = lift_dspy.constraint_for(dspy.Signature("q -> a: Literal['x', 'y']"))["grammar"]
    assert 'v0: CHOICE_0\nCHOICE_0: "x" | "y"' in grammar  # one lexeme, however many choices
    _ = Literal  # the string signature resolves Literal from typing
