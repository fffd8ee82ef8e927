"""Every DSPy module gets constrained output, with no code change (HTTP-level fake server)."""

from __future__ import annotations

import asyncio
import json

import dspy
import pytest
from fakes import FakeVLLM
from zoo import Count, FunctionIR, Sentiment, SpecToIR, WordCounts

import lift_dspy
from lift_dspy.constraints import compile_constraint, tool_spec

IR = {"name": "add", "params": [{"name": "a", "type": "int"}], "returns": "int", "pure": True}


def test_predict_with_a_nested_model() -> None:
    fake = FakeVLLM([f"[[ ## ir ## ]]\n{json.dumps(IR)}\n\n[[ ## completed ## ]]"])
    dspy.configure(lm=fake.lm())
    ir = dspy.Predict(SpecToIR)(spec="add two numbers").ir
    assert isinstance(ir, FunctionIR)
    assert ir.name == "add"


def test_chain_of_thought_constrains_reasoning_then_fields() -> None:
    fake = FakeVLLM(
        ["[[ ## reasoning ## ]]\nIt is upbeat.\n\n[[ ## sentiment ## ]]\npositive\n\n[[ ## completed ## ]]"]
    )
    dspy.configure(lm=fake.lm())
    prediction = dspy.ChainOfThought(Sentiment)(text="great")
    assert prediction.sentiment == "positive"
    grammar = fake.payloads[0]["structured_outputs"]["grammar"]
    assert grammar.startswith('start: "[[ ## reasoning ## ]]\\n" v0')
    assert 'v1: CHOICE_1\nCHOICE_1: "positive" | "negative" | "neutral"' in grammar  # one lexeme


def test_json_adapter_dict_field_is_a_real_map_not_an_empty_object() -> None:
    fake = FakeVLLM(['{"counts": {"a": 2, "b": 1}}'])
    dspy.configure(lm=fake.lm(), adapter=dspy.JSONAdapter())
    assert dspy.Predict(WordCounts)(text="a b a").counts == {"a": 2, "b": 1}
    counts = fake.payloads[0]["structured_outputs"]["json"]["properties"]["counts"]
    assert counts["additionalProperties"] == {"minimum": 0, "type": "integer"}


def _search(query: str, limit: int = 3) -> str:
    """Search the web."""
    return f"results for {query}"


def test_react_couples_tool_name_and_tool_arguments() -> None:
    fake = FakeVLLM(
        [
            "[[ ## next_thought ## ]]\nsearch first\n\n[[ ## next_tool_name ## ]]\n_search\n\n"
            '[[ ## next_tool_args ## ]]\n{"query": "x", "limit": 2}\n\n[[ ## completed ## ]]',
            "[[ ## next_thought ## ]]\ndone\n\n[[ ## next_tool_name ## ]]\nfinish\n\n"
            "[[ ## next_tool_args ## ]]\n{}\n\n[[ ## completed ## ]]",
            "[[ ## reasoning ## ]]\nfound\n\n[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]",
        ]
    )
    dspy.configure(lm=fake.lm())
    react = dspy.ReAct("question -> answer: int", tools=[_search])
    assert react(question="?").answer == 42
    grammar = fake.payloads[0]["structured_outputs"]["grammar"]
    assert '"_search" "\\n\\n[[ ## next_tool_args ## ]]\\n" %json' in grammar
    assert '"finish" "\\n\\n[[ ## next_tool_args ## ]]\\n" %json' in grammar
    # The fake answered the extraction step with ChainOfThought's layout: a different grammar.
    assert "next_tool_args" not in fake.payloads[2]["structured_outputs"]["grammar"]


def test_react_arguments_of_the_wrong_tool_are_rejected() -> None:
    react = dspy.ReAct("question -> answer", tools=[_search])
    constraint = compile_constraint(react.react.signature, "chat", tool_spec(react.tools))
    wrong = (
        "[[ ## next_thought ## ]]\nx\n\n[[ ## next_tool_name ## ]]\nfinish\n\n"
        '[[ ## next_tool_args ## ]]\n{"query": "x"}\n\n[[ ## completed ## ]]'
    )
    with pytest.raises(lift_dspy.ConstraintViolationError) as info:
        constraint.validate(wrong)
    assert info.value.field == "next_tool_args"


def test_react_json_mode_is_one_variant_per_tool() -> None:
    react = dspy.ReAct("question -> answer", tools=[_search])
    schema = lift_dspy.constraint_for(react.react.signature, dspy.JSONAdapter(), tools=react.tools)["json"]
    names = [variant["properties"]["next_tool_name"]["const"] for variant in schema["anyOf"]]
    assert names == ["_search", "finish"]
    assert schema["anyOf"][0]["properties"]["next_tool_args"]["required"] == ["query"]


def test_n_greater_than_one_constrains_every_candidate() -> None:
    answers = [f"[[ ## count ## ]]\n{i}\n\n[[ ## completed ## ]]" for i in (1, 2, 3)]
    fake = FakeVLLM(list(answers))
    dspy.configure(lm=fake.lm(temperature=1.0))
    prediction = dspy.Predict(Count, n=3)(text="a")
    assert [c.count for c in prediction.completions] == [1, 2, 3]
    assert all("structured_outputs" in p for p in fake.payloads)


def test_demos_and_history_keep_the_constraint() -> None:
    fake = FakeVLLM(["[[ ## count ## ]]\n2\n\n[[ ## completed ## ]]"])
    dspy.configure(lm=fake.lm())
    with_history = Count.prepend("history", dspy.InputField(), type_=dspy.History)
    predict = dspy.Predict(with_history)
    predict.demos = [dspy.Example(text="x y z", count=3).with_inputs("text")]
    history = dspy.History(messages=[{"text": "a", "count": 1}])
    assert predict(text="a b", history=history).count == 2
    messages = fake.payloads[0]["messages"]
    assistant = [m["content"] for m in messages if m["role"] == "assistant"]
    assert [text.split("\n\n")[0] for text in assistant] == [
        "[[ ## count ## ]]\n3",  # the demo
        "[[ ## count ## ]]\n1",  # the history turn
    ]
    assert any(m["role"] == "user" and "[[ ## text ## ]]\na\n\n" in m["content"] for m in messages)
    # An input-only History field changes nothing the server enforces.
    assert fake.payloads[0]["structured_outputs"] == lift_dspy.constraint_for(Count)


def test_async_modules_are_constrained() -> None:
    fake = FakeVLLM(["[[ ## reasoning ## ]]\nok\n\n[[ ## count ## ]]\n5\n\n[[ ## completed ## ]]"])
    dspy.configure(lm=fake.lm())
    prediction = asyncio.run(dspy.ChainOfThought(Count).acall(text="a"))
    assert prediction.count == 5
    assert "grammar" in fake.payloads[0]["structured_outputs"]


def test_stats_count_calls_per_signature() -> None:
    fake = FakeVLLM(
        ["[[ ## count ## ]]\n2\n\n[[ ## completed ## ]]", "[[ ## count ## ]]\nTWO\n\n[[ ## completed ## ]]"]
    )
    lm = fake.lm()
    dspy.configure(lm=lm)
    dspy.Predict(Count)(text="a b")
    with pytest.raises(lift_dspy.ConstraintViolationError):
        dspy.Predict(Count)(text="a b")
    stats = lm.stats()["Count/chat"]
    assert stats["calls"] == 2
    assert stats["ok"] == 1
    assert stats["violations"] == 1
    assert stats["latency_p50_s"] is not None
