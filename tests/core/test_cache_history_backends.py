"""DSPy's cache and history see the constraint; JSON-only backends (xgrammar, any OpenAI provider)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import dspy
import httpx
import pytest
from fakes import FakeVLLM, forget_detected
from zoo import Count

import lift_dspy
from lift_dspy.backends import PROBE_LARK, detect_backend

ANSWER = "[[ ## count ## ]]\n{n}\n\n[[ ## completed ## ]]"


@pytest.fixture
def fresh_cache(tmp_path: Path) -> Any:
    """A private, empty DSPy cache for the test (memory + disk), restored afterwards."""
    old = dspy.cache
    dspy.configure_cache(enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=str(tmp_path))
    yield dspy.cache
    dspy.cache = old


class Narrow(dspy.Signature):
    """Count the words."""

    text: str = dspy.InputField()
    count: int = dspy.OutputField()


def test_identical_calls_are_answered_from_the_cache(fresh_cache: Any) -> None:
    fake = FakeVLLM([ANSWER.format(n=3)])
    dspy.configure(lm=fake.lm(cache=True))
    assert dspy.Predict(Count)(text="a b c").count == 3
    assert dspy.Predict(Count)(text="a b c").count == 3
    assert len(fake.payloads) == 1
    assert "metadata" not in fake.payloads[0]  # the fingerprint is for the key, not the server


def test_same_prompt_different_constraint_never_shares_an_answer(fresh_cache: Any) -> None:
    # Same model name, same messages: only the constraint differs (max_text_chars bounds `str`).
    fake = FakeVLLM(["[[ ## summary ## ]]\nshort\n\n[[ ## completed ## ]]"] * 2)
    bounded = fake.lm(cache=True, max_text_chars=10)
    free = fake.lm(cache=True)
    program = dspy.Predict("text -> summary")
    with dspy.context(lm=bounded):
        program(text="x")
    with dspy.context(lm=free):
        program(text="x")
    assert len(fake.payloads) == 2
    assert fake.payloads[0]["structured_outputs"] != fake.payloads[1]["structured_outputs"]


def test_an_unconstrained_answer_is_never_served_to_a_constrained_lm(fresh_cache: Any) -> None:
    fake = FakeVLLM([ANSWER.format(n=1), ANSWER.format(n=2)])
    with dspy.context(lm=fake.lm(cache=True, constrain=False)):
        dspy.Predict(Count)(text="a")
    with dspy.context(lm=fake.lm(cache=True)):
        assert dspy.Predict(Count)(text="a").count == 2
    assert len(fake.payloads) == 2
    assert "structured_outputs" in fake.payloads[1]


def test_rollout_id_and_temperature_behave_as_in_stock_dspy(fresh_cache: Any) -> None:
    fake = FakeVLLM([ANSWER.format(n=i) for i in range(4)])
    dspy.configure(lm=fake.lm(cache=True, temperature=0.7))
    program = dspy.Predict(Count)
    assert program(text="a", config={"rollout_id": 1}).count == 0
    assert program(text="a", config={"rollout_id": 1}).count == 0  # same rollout: cached
    assert program(text="a", config={"rollout_id": 2}).count == 1  # new rollout: a new call
    assert program(text="a", config={"temperature": 0.2}).count == 2  # other sampling: a new call
    assert len(fake.payloads) == 3
    assert "rollout_id" not in fake.payloads[1]


def test_user_metadata_is_kept_and_only_the_fingerprint_is_dropped() -> None:
    fake = FakeVLLM([ANSWER.format(n=5)])
    dspy.configure(lm=fake.lm(metadata={"team": "ir"}))
    dspy.Predict(Count)(text="a")
    assert fake.payloads[0]["metadata"] == {"team": "ir"}


def test_history_and_inspect_history_show_the_constraint() -> None:
    fake = FakeVLLM([ANSWER.format(n=4)])
    lm = fake.lm()
    dspy.configure(lm=lm)
    dspy.Predict(Count)(text="a")
    entry = lm.history[-1]
    sent = fake.payloads[0]
    assert entry["lift_dspy"]["structured_outputs"] == sent["structured_outputs"]
    assert entry["lift_dspy"]["signature"] == "Count"
    assert entry["lift_dspy"]["format"] == "chat"
    assert [m["role"] for m in entry["messages"]][-1] == "constraint"
    assert [m["role"] for m in sent["messages"]] == [m["role"] for m in entry["messages"]][:-1]
    out = io.StringIO()
    dspy.inspect_history(n=1, file=out)
    shown = out.getvalue()
    assert "Constraint message:" in shown
    assert "[lift-dspy]" in shown
    assert sent["structured_outputs"]["grammar"].splitlines()[0] in shown


def test_plain_calls_outside_a_signature_are_untouched() -> None:
    fake = FakeVLLM(["hello"])
    lm = fake.lm()
    assert lm("say hello") == ["hello"]
    assert "structured_outputs" not in fake.payloads[0]
    assert "metadata" not in fake.payloads[0]
    assert "lift_dspy" not in lm.history[-1]


# -- JSON-only backends ---------------------------------------------------------------------------


def test_openai_backend_sends_a_standard_response_format_and_checks_values() -> None:
    fake = FakeVLLM(['{ "count": 9 }'])
    dspy.configure(lm=fake.lm(backend="openai"))
    assert dspy.Predict(Count)(text="a").count == 9  # chat layout -> JSON mode, by value
    payload = fake.payloads[0]
    assert "structured_outputs" not in payload
    format_ = payload["response_format"]
    assert format_["type"] == "json_schema"
    assert format_["json_schema"]["strict"] is True
    schema = format_["json_schema"]["schema"]
    assert "x-guidance" not in json.dumps(schema)
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["count"]


def test_openai_backend_still_refuses_a_wrong_answer() -> None:
    fake = FakeVLLM(['{"count": "nine"}'])
    dspy.configure(lm=fake.lm(backend="openai"), adapter=dspy.JSONAdapter())
    with pytest.raises(lift_dspy.ConstraintViolationError, match="count"):
        dspy.Predict(Count)(text="a")


def _server(version: bool, chat: Any) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/version":
            return httpx.Response(200, json={"version": "0.32.0"}) if version else httpx.Response(404)
        return chat(json.loads(request.content))

    return httpx.MockTransport(handle)


def _completion(text: str) -> httpx.Response:
    body = {"choices": [{"message": {"content": text}, "finish_reason": "stop"}]}
    return httpx.Response(200, json=body)


GOOD_PROBE = 'color={"color":"red","count":3}\nnote: fine.'


@pytest.mark.parametrize(
    ("version", "reply", "expected"),
    [
        (True, _completion(GOOD_PROBE), "guidance"),
        (True, httpx.Response(400, json={"error": {"message": "xgrammar: invalid grammar"}}), "xgrammar"),
        (False, _completion("anything"), "openai"),
    ],
)
def test_detect_backend(version: bool, reply: httpx.Response, expected: str) -> None:
    forget_detected()
    seen: list[dict[str, Any]] = []

    def chat(payload: dict[str, Any]) -> httpx.Response:
        seen.append(payload)
        return reply

    with httpx.Client(transport=_server(version, chat)) as client:
        assert detect_backend(client, "http://probe.test/v1", "m") == expected
        assert detect_backend(client, "http://probe.test/v1", "m") == expected  # remembered
    assert len(seen) == (1 if version else 0)
    if seen:
        assert seen[0]["structured_outputs"] == {"grammar": PROBE_LARK}


def test_detect_backend_refuses_a_server_that_ignores_constraints() -> None:
    forget_detected()
    with (
        httpx.Client(transport=_server(True, lambda _: _completion("plain prose"))) as client,
        pytest.raises(lift_dspy.BackendError, match="does not enforce"),
    ):
        detect_backend(client, "http://liar.test/v1", "m")


def test_auto_backend_detects_once_and_switches_to_json_mode() -> None:
    forget_detected()
    calls: list[dict[str, Any]] = []

    def chat(payload: dict[str, Any]) -> httpx.Response:
        calls.append(payload)
        if "grammar" in payload.get("structured_outputs", {}):
            return httpx.Response(400, json={"error": {"message": "Invalid grammar specification."}})
        return _completion('{"count": 2}')

    transport = _server(True, chat)
    lm = lift_dspy.GuidanceLM(
        "m", api_base="http://auto.test/v1", backend="auto", transport=transport, cache=False, num_retries=0
    )
    dspy.configure(lm=lm)
    assert dspy.Predict(Count)(text="a").count == 2
    assert dspy.Predict(Count)(text="b").count == 2
    assert [("grammar" in c["structured_outputs"]) for c in calls] == [True, False, False]
    assert lm.history[-1]["lift_dspy"]["backend"] == "xgrammar"


def test_auto_backend_with_the_server_down_still_reaches_the_fallback() -> None:
    forget_detected()
    refused = httpx.MockTransport(lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused")))
    backup = FakeVLLM([ANSWER.format(n=6)])
    lm = lift_dspy.GuidanceLM(
        "m",
        api_base="http://down.test/v1",
        backend="auto",
        transport=refused,
        fallback=backup.lm(),
        cache=False,
        num_retries=0,
    )
    dspy.configure(lm=lm)
    assert dspy.Predict(Count)(text="a").count == 6
    assert lm.stats()["total"]["errors"] == {"BackendUnavailableError": 1}


def test_auto_backend_async_detects_once_off_the_event_loop() -> None:
    import asyncio

    forget_detected()
    calls: list[dict[str, Any]] = []

    def chat(payload: dict[str, Any]) -> httpx.Response:
        calls.append(payload)
        if "grammar" in payload.get("structured_outputs", {}):
            return httpx.Response(400, json={"error": {"message": "not a grammar this backend takes"}})
        return _completion('{"count": 4}')

    transport = _server(True, chat)
    lm = lift_dspy.GuidanceLM(
        "m",
        api_base="http://auto-async.test/v1",
        backend="auto",
        transport=transport,
        async_transport=transport,
        cache=False,
        num_retries=0,
    )

    async def run() -> list[int]:
        with dspy.context(lm=lm):
            return [(await dspy.Predict(Count).acall(text=t)).count for t in ("a", "b")]

    assert asyncio.run(run()) == [4, 4]
    assert [("grammar" in c["structured_outputs"]) for c in calls] == [True, False, False]
