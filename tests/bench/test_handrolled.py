"""The hand-rolled baseline and the per-sample call accounting, through httpx.MockTransport."""

from __future__ import annotations

import json
from typing import Any, Literal

import dspy
import httpx
import openai
import pytest
from lift_dspy.schemas import FunctionIR
from lift_dspy.signatures.agent import ClassifyIntent, tool_call_signature
from lift_dspy.signatures.ir_to_code import NLToIR
from pydantic import BaseModel, ValidationError

from lift_dspy.bench.calls import CallLog, UsageTransport
from lift_dspy.bench.handrolled import HandRolledPredict, output_type
from lift_dspy.programs.tasks import AGENT_TOOLS

IR = {
    "name": "gcd",
    "purpose": "Greatest common divisor.",
    "params": [
        {"name": "a", "type": "int", "description": "a"},
        {"name": "b", "type": "int", "description": "b"},
    ],
    "returns": {"type": "int", "description": "gcd"},
    "effects": ["pure"],
    "preconditions": [],
    "postconditions": [],
    "examples": [],
}


def _completion(content: str, *, tokens: int = 7, finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": tokens, "total_tokens": 50 + tokens},
    }


class Server:
    """Answers chat completions with scripted contents and keeps the request bodies."""

    def __init__(self, *replies: str, status: int = 200) -> None:
        self.replies = list(replies)
        self.status = status
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        if self.status != 200:
            return httpx.Response(self.status, json={"error": {"message": "bad"}})
        if not self.replies:
            return httpx.Response(500, json={"error": {"message": "unscripted request"}})
        return httpx.Response(200, json=_completion(self.replies.pop(0)))


def _client(server: Server) -> openai.OpenAI:
    http = httpx.Client(transport=httpx.MockTransport(server))
    return openai.OpenAI(base_url="http://test/v1", api_key="x", max_retries=0, http_client=http)


def _predict(signature: Any, server: Server, log: CallLog) -> HandRolledPredict:
    return HandRolledPredict(signature, _client(server), "m", temperature=0.0, max_tokens=64, log=log)


def test_request_carries_the_models_default_schema_and_parses_the_answer() -> None:
    server, log = Server(json.dumps(IR)), CallLog()
    prediction = _predict(NLToIR, server, log)(request="gcd of two ints")
    assert isinstance(prediction.ir, FunctionIR)
    assert prediction.ir.name == "gcd"
    (body,) = server.bodies
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "FunctionIR", "schema": FunctionIR.model_json_schema()},
    }
    assert body["messages"][0]["content"].startswith(NLToIR.instructions)
    assert body["messages"][1]["content"] == "request: gcd of two ints"
    assert (body["temperature"], body["max_tokens"]) == (0.0, 64)
    totals = log.totals()
    assert (totals["lm_calls"], totals["output_tokens"], totals["prompt_tokens"], totals["call_errors"]) == (
        1,
        7,
        50,
        {},
    )


def test_invalid_json_raises_validation_error_and_is_logged() -> None:
    log = CallLog()
    with pytest.raises(ValidationError):
        _predict(ClassifyIntent, Server('{"intent": "vis'), log)(request="r", context="")
    assert log.totals()["call_errors"] == {"ValidationError": 1}


def test_openai_errors_become_lm_errors_of_the_same_name() -> None:
    from dspy.utils.exceptions import LMError

    log = CallLog()
    with pytest.raises(LMError) as info:
        _predict(ClassifyIntent, Server(status=400), log)(request="r", context="")
    assert type(info.value).__name__ == "BadRequestError"
    assert log.totals()["call_errors"] == {"BadRequestError": 1}


def test_a_union_output_is_wrapped_in_a_model_of_the_output_fields() -> None:
    signature = tool_call_signature(AGENT_TOOLS)
    model, wrapped = output_type(signature)
    assert wrapped
    assert issubclass(model, BaseModel)
    assert list(model.model_fields) == ["call"]
    answer = json.dumps({"call": {"name": "top_rows", "arguments": {"table": "sales", "n": 10}}})
    prediction = _predict(signature, Server(answer), CallLog())(task="t", context="c")
    assert prediction.call.name == "top_rows"
    assert output_type(NLToIR) == (FunctionIR, False)


def test_usage_transport_logs_every_completion() -> None:
    log = CallLog()
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json=_completion("hi", tokens=11)))
    with httpx.Client(transport=UsageTransport(log, inner)) as client:
        assert (
            client.post("http://test/v1/chat/completions", json={}).json()["choices"][0]["message"]["content"]
            == "hi"
        )
        client.post("http://test/v1/chat/completions", json={})
    log.add(1.5)  # the timed call from the DSPy callback carries no tokens
    totals = log.totals()
    assert (totals["output_tokens"], totals["prompt_tokens"], totals["lm_calls"]) == (22, 100, 1)


class Small(BaseModel):
    n: int


class Pinned(BaseModel):
    n: Literal[3]


class Ask(dspy.Signature):
    """Count."""

    text: str = dspy.InputField()
    count: Small = dspy.OutputField()


def test_demos_are_sent_as_turns_and_pinning_swaps_the_output_model() -> None:
    server = Server('{"n": 3}', '{"n": 3}')
    demo = dspy.Example(text="a b", count={"n": 2}).with_inputs("text")
    predict = HandRolledPredict(
        Ask, _client(server), "m", temperature=0.0, max_tokens=8, log=CallLog(), demos=[demo]
    )
    with predict.pinned(Ask.with_updated_fields("count", type_=Pinned)):
        assert predict(text="x y z").count == Pinned(n=3)
    assert predict.signature is Ask
    predict(text="x y z")
    pinned_body, plain_body = server.bodies
    assert [m["role"] for m in pinned_body["messages"]] == ["system", "user", "assistant", "user"]
    assert pinned_body["messages"][1:] == [
        {"role": "user", "content": "text: a b"},
        {"role": "assistant", "content": '{"n": 2}'},
        {"role": "user", "content": "text: x y z"},
    ]
    assert pinned_body["response_format"]["json_schema"]["schema"] == Pinned.model_json_schema()
    assert plain_body["response_format"]["json_schema"]["schema"] == Small.model_json_schema()


def test_hand_rolled_ir_to_code_keeps_the_programs_demos() -> None:
    from lift_dspy.bench.handrolled import HandRolledIRToCode
    from lift_dspy.programs import IRToCode

    program = HandRolledIRToCode(
        ["rust"], client=_client(Server()), model="m", temperature=0.0, max_tokens=8, log=CallLog()
    )
    reference = IRToCode(["rust"], code_form="json-parts")
    assert isinstance(program.nl_to_ir, HandRolledPredict)
    assert program.nl_to_ir.demos == reference.nl_to_ir.demos
    assert program.generate["rust"].demos == reference.generate["rust"].demos
    assert program.repair["go"].signature is reference.repair["go"].signature
