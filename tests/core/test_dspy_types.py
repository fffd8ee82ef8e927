"""DSPy 3.4 output types and modules that call the LM their own way, through an HTTP-level fake.

Every request a module makes must carry ``structured_outputs``: the assertions are on the payloads
the fake received.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import dspy
import pytest
from dspy.experimental import Choice, Noul, Score
from fakes import FakeVLLM

import lift_dspy
from lift_dspy.constraints.native_tools import native_tools, native_tools_constraint


def add(a: int, b: int = 1) -> int:
    """Add two integers."""
    return a + b


def search(query: str) -> str:
    """Search the notes."""
    return f"notes about {query}"


class Solve(dspy.Signature):
    """Answer, calling tools when needed."""

    question: str = dspy.InputField()
    tools: list[dspy.Tool] = dspy.InputField()
    answer: str = dspy.OutputField()
    calls: dspy.ToolCalls = dspy.OutputField()


TOOLS = [dspy.Tool(add), dspy.Tool(search)]
CHAT_CALLS = (
    "[[ ## answer ## ]]\nlet me add\n\n[[ ## tool_calls ## ]]\n"
    '{"tool_calls": [{"name": "add", "args": {"a": 1, "b": 2}}]}\n\n[[ ## completed ## ]]'
)
JSON_CALLS = '{"answer": "x", "tool_calls": {"tool_calls": [{"name": "search", "args": {"query": "q"}}]}}'


def _all_constrained(fake: FakeVLLM) -> None:
    assert fake.payloads, "no request reached the server"
    for payload in fake.payloads:
        assert "structured_outputs" in payload, payload["messages"][0]["content"][:300]


# -- dspy.ToolCalls, native function calling -------------------------------------------------------


def test_native_tool_calls_chat_are_held_to_the_declared_tools() -> None:
    fake = FakeVLLM([CHAT_CALLS])
    dspy.configure(lm=fake.lm(), adapter=dspy.ChatAdapter(use_native_function_calling=True))
    prediction = dspy.Predict(Solve)(question="1+2?", tools=TOOLS)
    assert prediction.answer == "let me add"
    [call] = prediction.calls.tool_calls
    assert (call.name, call.args) == ("add", {"a": 1, "b": 2})
    assert call.execute(TOOLS) == 3
    payload = fake.payloads[0]
    # The tools reach the chat template; vLLM is told not to parse calls itself (it would need a
    # tool parser); the grammar writes them.
    assert [tool["function"]["name"] for tool in payload["tools"]] == ["add", "search"]
    assert payload["tool_choice"] == "none"
    grammar = payload["structured_outputs"]["grammar"]
    assert '"[[ ## answer ## ]]\\n"' in grammar
    assert "[[ ## tool_calls ## ]]" in grammar
    assert '{"const": "add"}' in grammar
    assert '{"const": "search"}' in grammar


def test_native_tool_calls_json_adapter() -> None:
    fake = FakeVLLM([JSON_CALLS])
    dspy.configure(lm=fake.lm(), adapter=dspy.JSONAdapter())  # native function calling by default
    prediction = dspy.Predict(Solve)(question="?", tools=TOOLS)
    assert prediction.calls.tool_calls[0].args == {"query": "q"}
    schema = fake.payloads[0]["structured_outputs"]["json"]
    variants = schema["properties"]["tool_calls"]["properties"]["tool_calls"]["items"]["anyOf"]
    assert [variant["properties"]["name"] for variant in variants] == [{"const": "add"}, {"const": "search"}]
    assert variants[0]["properties"]["args"]["additionalProperties"] is False
    assert "response_format" not in fake.payloads[0]


def test_native_tool_calls_async() -> None:
    import asyncio

    fake = FakeVLLM([CHAT_CALLS])
    dspy.configure(lm=fake.lm(), adapter=dspy.ChatAdapter(use_native_function_calling=True))
    prediction = asyncio.run(dspy.Predict(Solve).acall(question="1+2?", tools=TOOLS))
    assert prediction.calls.tool_calls[0].name == "add"
    _all_constrained(fake)


@pytest.mark.parametrize(
    "answer",
    [
        CHAT_CALLS.replace('"add"', '"delete_everything"'),  # an undeclared tool
        CHAT_CALLS.replace('{"a": 1, "b": 2}', '{"a": "one"}'),  # arguments of the wrong type
        CHAT_CALLS.replace('{"a": 1, "b": 2}', '{"b": 2}'),  # a required argument missing
        CHAT_CALLS.replace('{"a": 1, "b": 2}', '{"a": 1, "rm": true}'),  # an unknown argument
    ],
)
def test_a_server_that_ignores_the_constraint_never_passes_a_bad_call_on(answer: str) -> None:
    fake = FakeVLLM([answer])
    dspy.configure(lm=fake.lm(), adapter=dspy.ChatAdapter(use_native_function_calling=True))
    with pytest.raises(lift_dspy.ConstraintViolationError) as info:
        dspy.Predict(Solve)(question="?", tools=TOOLS)
    assert info.value.field == "tool_calls"


def test_calls_are_also_checked_by_value_for_json_only_backends() -> None:
    spec = native_tools([tool.format_as_litellm_function_call() for tool in TOOLS])
    constraint = native_tools_constraint(Solve, "chat", spec)
    with pytest.raises(lift_dspy.ConstraintViolationError, match="not one of the tools"):
        constraint.validate(CHAT_CALLS.replace('"add"', '"rm"'), exact=False)
    with pytest.raises(lift_dspy.ConstraintViolationError, match="do not follow its schema"):
        constraint.validate(CHAT_CALLS.replace('{"a": 1, "b": 2}', '{"a": "x"}'), exact=False)


def test_tool_choice_and_parallel_calls_shape_the_constraint() -> None:
    tools = [tool.format_as_litellm_function_call() for tool in TOOLS]
    one = native_tools_constraint(Solve, "json", native_tools(tools, "required", parallel=False))
    calls = one.structured_outputs["json"]["properties"]["tool_calls"]["properties"]["tool_calls"]
    assert (calls["minItems"], calls["maxItems"]) == (1, 1)
    named = native_tools_constraint(Solve, "json", native_tools(tools, {"function": {"name": "search"}}))
    calls = named.structured_outputs["json"]["properties"]["tool_calls"]["properties"]["tool_calls"]
    assert [variant["properties"]["name"] for variant in calls["items"]["anyOf"]] == [{"const": "search"}]
    with pytest.raises(lift_dspy.UnsupportedSchemaError, match="not one of the declared tools"):
        native_tools(tools, {"function": {"name": "rm"}})


def test_parallel_tool_calls_false_reaches_the_constraint() -> None:
    fake = FakeVLLM([CHAT_CALLS])
    adapter = dspy.ChatAdapter(use_native_function_calling=True, parallel_tool_calls=False)
    dspy.configure(lm=fake.lm(), adapter=adapter)
    dspy.Predict(Solve)(question="?", tools=TOOLS)
    assert '"maxItems": 1' in fake.payloads[0]["structured_outputs"]["grammar"]


def test_tools_without_a_constraint_are_refused_before_sending() -> None:
    fake = FakeVLLM()
    lm = fake.lm()
    with pytest.raises(lift_dspy.InvalidRequestError, match="native tool calls") as info:
        lm("hi", tools=[dspy.Tool(add).format_as_litellm_function_call()])
    assert info.value.option == "tools"
    assert fake.payloads == []


NON_NATIVE = (
    "[[ ## answer ## ]]\nok\n\n[[ ## calls ## ]]\n"
    '{"tool_calls": [{"name": "add", "args": {"a": 1}}]}\n\n[[ ## completed ## ]]'
)


def test_default_chat_adapter_holds_the_tool_calls_field_to_the_tools_in_the_prompt() -> None:
    fake = FakeVLLM([NON_NATIVE])
    dspy.configure(lm=fake.lm())  # not native: the tools are described in the prompt
    prediction = dspy.Predict(Solve)(question="?", tools=TOOLS)
    assert prediction.calls.tool_calls[0].name == "add"
    payload = fake.payloads[0]
    assert "tools" not in payload
    grammar = payload["structured_outputs"]["grammar"]
    assert "[[ ## calls ## ]]" in grammar
    assert '{"const": "add"}' in grammar
    assert '{"const": "search"}' in grammar


@pytest.mark.parametrize("adapter", [None, dspy.JSONAdapter(use_native_function_calling=False)])
def test_non_native_calls_to_undeclared_tools_are_rejected(adapter: Any) -> None:
    bad = NON_NATIVE.replace('"add"', '"rm"')
    if adapter is not None:
        bad = '{"answer": "ok", "calls": {"tool_calls": [{"name": "rm", "args": {"a": 1}}]}}'
    fake = FakeVLLM([bad])
    dspy.configure(lm=fake.lm(), adapter=adapter)
    with pytest.raises(lift_dspy.ConstraintViolationError) as info:
        dspy.Predict(Solve)(question="?", tools=TOOLS)
    assert info.value.field in ("calls", None)


# -- dspy.Reasoning --------------------------------------------------------------------------------


class Think(dspy.Signature):
    """Think, then answer."""

    question: str = dspy.InputField()
    thought: dspy.Reasoning = dspy.OutputField()
    answer: int = dspy.OutputField()


@pytest.mark.parametrize(
    ("adapter", "answer"),
    [
        (
            None,
            '[[ ## thought ## ]]\n{"content": "two and two"}\n\n'
            "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]",
        ),
        (dspy.JSONAdapter(), '{"thought": {"content": "two and two"}, "answer": 4}'),
    ],
)
def test_reasoning_output_is_constrained(adapter: Any, answer: str) -> None:
    fake = FakeVLLM([answer])
    dspy.configure(lm=fake.lm(), adapter=adapter)
    prediction = dspy.Predict(Think)(question="2+2?")
    assert isinstance(prediction.thought, dspy.Reasoning)
    assert prediction.thought == "two and two"
    assert prediction.answer == 4
    _all_constrained(fake)


def test_chain_of_thought_with_a_reasoning_field_type() -> None:
    fake = FakeVLLM(
        ['[[ ## reasoning ## ]]\n{"content": "easy"}\n\n[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]']
    )
    dspy.configure(lm=fake.lm())
    cot = dspy.ChainOfThought("question -> answer: int", rationale_field_type=dspy.Reasoning)
    prediction = cot(question="2+2?")
    assert prediction.reasoning == "easy"
    assert prediction.answer == 4
    _all_constrained(fake)


# -- decision types (dspy.experimental in DSPy 3.4.1) ----------------------------------------------


Kind = Choice[("billing", "Payment issue"), ("technical", "Product bug")]
Urgency = Score["low", "mid", "high"]


class Triage(dspy.Signature):
    """Triage a ticket."""

    ticket: str = dspy.InputField()
    kind: Kind = dspy.OutputField(desc="kind")
    urgency: Urgency = dspy.OutputField(desc="how urgent")
    spam: Noul = dspy.OutputField(desc="is it spam")


EVIDENCE = (
    '[[ ## kind ## ]]\n{"probabilities": {"billing": 0.8, "technical": 0.2}, "confidence": 0.7}\n\n'
    '[[ ## urgency ## ]]\n{"probabilities": {"0": 0.1, "1": 0.2, "2": 0.7}, "confidence": 0.6}\n\n'
    '[[ ## spam ## ]]\n{"noul": 0.1}\n\n[[ ## completed ## ]]'
)


def test_decisions_are_constrained_by_the_evidence_dspy_asks_for() -> None:
    fake = FakeVLLM([EVIDENCE])
    dspy.configure(lm=fake.lm())
    prediction = dspy.Predict(Triage)(ticket="card declined")
    assert prediction.kind.value == "billing"
    assert prediction.kind.confidence == 0.7
    assert prediction.urgency.value == pytest.approx(1.6)
    assert prediction.urgency.level == 2
    assert prediction.spam.value is False
    grammar = fake.payloads[0]["structured_outputs"]["grammar"]
    # DSPy's DecisionAdapter rewrites each decision into its evidence (probabilities per option):
    # the grammar is that rewritten signature's, with every option a required key.
    assert '"required": ["billing", "technical"]' in grammar
    assert '"required": ["0", "1", "2"]' in grammar
    assert '"noul"' in grammar


def test_decisions_in_the_json_layout() -> None:
    body = {
        "kind": {"probabilities": {"billing": 0.1, "technical": 0.9}, "confidence": 0.9},
        "urgency": {"probabilities": {"0": 1.0, "1": 0.0, "2": 0.0}, "confidence": 1.0},
        "spam": {"noul": 0.9},
    }
    fake = FakeVLLM([json.dumps(body)])
    dspy.configure(lm=fake.lm(), adapter=dspy.JSONAdapter())
    prediction = dspy.Predict(Triage)(ticket="app crashes")
    assert prediction.kind.value == "technical"
    assert prediction.urgency.level == 0
    assert prediction.spam.value
    assert "json" in fake.payloads[0]["structured_outputs"]


def test_logprobs_are_requested_and_come_back_where_dspy_reads_them() -> None:
    def answer(payload: dict[str, Any]) -> Any:
        import httpx

        assert payload["logprobs"] is True
        assert payload["top_logprobs"] == 2
        top = [{"token": "4", "logprob": -0.5}]
        token = {"token": "4", "logprob": -0.5, "bytes": [52], "top_logprobs": top}
        text = "[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]"
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": {"content": [token]},
        }
        body = {"id": "x", "model": payload["model"], "choices": [choice], "usage": {}}
        return httpx.Response(200, json=body)

    fake = FakeVLLM([answer])
    dspy.configure(lm=fake.lm())
    prediction = dspy.Predict("question -> answer: int", logprobs=True, top_logprobs=2)(question="2+2?")
    assert prediction.answer == 4
    [token] = prediction.logprobs["content"]
    assert token["token"] == "4"
    assert token["logprob"] == -0.5
    assert token["top_logprobs"][0]["token"] == "4"


# -- modules that call the LM their own way ------------------------------------------------------------

ANSWER = "[[ ## answer ## ]]\n{n}\n\n[[ ## completed ## ]]"


def test_best_of_n_every_attempt_constrained() -> None:
    fake = FakeVLLM([ANSWER.format(n=1), ANSWER.format(n=2), ANSWER.format(n=3)])
    dspy.configure(lm=fake.lm())
    program = dspy.Predict("question -> answer: int")
    best = dspy.BestOfN(program, N=3, reward_fn=lambda _a, p: p.answer, threshold=9)
    assert best(question="?").answer == 3
    assert len(fake.payloads) == 3
    _all_constrained(fake)


def test_refine_every_attempt_constrained_including_the_feedback_calls() -> None:
    def reply(payload: dict[str, Any]) -> str:
        system = payload["messages"][0]["content"]
        if "[[ ## discussion ## ]]" in system:  # Refine's OfferFeedback step
            return (
                "[[ ## discussion ## ]]\nlow\n\n[[ ## advice ## ]]\n"
                '{"self": "answer higher"}\n\n[[ ## completed ## ]]'
            )
        return ANSWER.format(n=len(fake.payloads))

    fake = FakeVLLM([reply] * 8)
    dspy.configure(lm=fake.lm())
    program = dspy.Predict("question -> answer: int")
    refine = dspy.Refine(program, N=3, reward_fn=lambda _a, p: p.answer, threshold=99)
    refine(question="?")
    assert len(fake.payloads) >= 3
    _all_constrained(fake)


def test_multi_chain_comparison_constrained() -> None:
    fake = FakeVLLM(["[[ ## rationale ## ]]\nall agree\n\n[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]"])
    dspy.configure(lm=fake.lm())
    attempts = [dspy.Prediction(reasoning=f"r{i}", answer=str(4)) for i in range(3)]
    mcc = dspy.MultiChainComparison("question -> answer: int", M=3)
    assert mcc(completions=attempts, question="2+2?").answer == 4
    _all_constrained(fake)


def test_two_step_adapter_extraction_is_constrained() -> None:
    main = FakeVLLM(["The answer is four."])
    extractor = FakeVLLM([ANSWER.format(n=4)])
    dspy.configure(lm=main.lm(), adapter=dspy.TwoStepAdapter(extractor.lm()))
    assert dspy.Predict("question -> answer: int")(question="2+2?").answer == 4
    assert "structured_outputs" not in main.payloads[0]  # the free-text step, by design
    _all_constrained(extractor)


def _program_of_thought_answers() -> list[str]:
    code = (
        "[[ ## reasoning ## ]]\nadd\n\n[[ ## generated_code ## ]]\n"
        "```python\nanswer = 2 + 2\nprint(answer)\n```\n\n[[ ## completed ## ]]"
    )
    final = "[[ ## reasoning ## ]]\nran it\n\n[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]"
    return [code, final]


def test_program_of_thought_with_dspys_local_interpreter_constrained() -> None:
    from dspy.primitives import LocalInterpreter

    fake = FakeVLLM(_program_of_thought_answers())
    dspy.configure(lm=fake.lm())
    pot = dspy.ProgramOfThought("question -> answer: int", max_iters=1, interpreter_factory=LocalInterpreter)
    assert pot(question="2+2?").answer == 4
    assert len(fake.payloads) == 2
    _all_constrained(fake)


@pytest.mark.skipif(
    shutil.which("deno") is None,
    reason="dspy.ProgramOfThought's default interpreter (PythonInterpreter) needs deno on PATH",
)
def test_program_of_thought_with_the_default_deno_interpreter_constrained() -> None:
    fake = FakeVLLM(_program_of_thought_answers())
    dspy.configure(lm=fake.lm())
    pot = dspy.ProgramOfThought("question -> answer: int", max_iters=1)
    assert pot(question="2+2?").answer == 4
    _all_constrained(fake)
