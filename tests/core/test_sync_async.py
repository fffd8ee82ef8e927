"""Every engine path, run sync and async against the same scripted server, gives the same outcome.

The sync and async engines perform the same flows (lift_dspy/steps.py); this checks that what a
user sees does not depend on which one ran: the prediction or the error (type and message), the
payloads sent, the history entry, the statistics, and the fallback LM's involvement. Paths:
complete and stream (``dspy.streamify``) x success, JSON mode, violation, truncation, HTTP errors,
malformed bodies, timeouts, unreachable server with and without a fallback LM; and an explicit
``lm15.Request`` (resolved by the engine itself).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dspy
import httpx
import pytest
from dspy.lm15 import Message, Request
from dspy.streaming import StreamListener, StreamResponse
from fakes import FakeVLLM, Reply
from zoo import Count, Essay

import lift_dspy

COUNT = "[[ ## count ## ]]\n{n}\n\n[[ ## completed ## ]]"
ESSAY = "[[ ## essay ## ]]\nShort tests catch regressions.\n\n[[ ## completed ## ]]"


def _raise(exc: Exception) -> Callable[[dict[str, Any]], Any]:
    def reply(payload: dict[str, Any]) -> Any:
        raise exc

    return reply


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message}})


@dataclass
class Case:
    replies: list[Reply]
    signature: Any = Count
    fallback: list[Reply] | None = None
    adapter: Any = None
    listen: str | None = None  # a stream listener on this output field
    lm: dict[str, Any] = field(default_factory=dict)


# Factories: an httpx.Response can be read once, so every run gets fresh replies.
CASES: dict[str, Callable[[], Case]] = {
    "ok": lambda: Case([COUNT.format(n=2)]),
    "ok-json": lambda: Case(['{"count": 3}'], adapter=dspy.JSONAdapter()),
    "ok-str-listened": lambda: Case([ESSAY], signature=Essay, listen="essay"),
    "violation": lambda: Case([COUNT.format(n="many")]),
    "truncated": lambda: Case([(COUNT.format(n=2)[:20], "length")]),
    "finish-reason-unknown": lambda: Case([(COUNT.format(n=2), "abort")]),
    "http-500": lambda: Case([_error(500, "engine died")]),
    "http-401": lambda: Case([_error(401, "bad key")]),
    "http-429": lambda: Case([_error(429, "slow down")]),
    "http-400": lambda: Case([_error(400, "bad request field")]),
    "http-400-context": lambda: Case([_error(400, "This model's maximum context length is 8 tokens")]),
    "malformed-body": lambda: Case([httpx.Response(200, text="not json")]),
    "timeout": lambda: Case([_raise(httpx.ReadTimeout("slow"))]),
    "unreachable": lambda: Case([_raise(httpx.ConnectError("refused"))]),
    "fallback": lambda: Case([_raise(httpx.ConnectError("refused"))], fallback=[COUNT.format(n=9)]),
    "fallback-violates": lambda: Case(
        [_raise(httpx.ConnectError("refused"))], fallback=[COUNT.format(n="x")]
    ),
    "fallback-listened": lambda: Case(
        [_raise(httpx.ConnectError("refused"))], signature=Essay, listen="essay", fallback=[ESSAY]
    ),
}


def _outcome(run: Callable[[], Any]) -> Any:
    try:
        return ("ok", run())
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def _history(lm: lift_dspy.GuidanceLM) -> list[dict[str, Any]]:
    """The history entries without what differs per call (time, ids, cost)."""
    entries = []
    for entry in lm.history:
        response = entry.get("response")
        entries.append(
            {
                "messages": entry.get("messages"),
                "outputs": entry.get("outputs"),
                "lift_dspy": entry.get("lift_dspy"),
                "usage": entry.get("usage"),
                "provider_data": getattr(response, "provider_data", None),
                "finish_reason": getattr(response, "finish_reason", None),
            }
        )
    return entries


def _stats(lm: lift_dspy.GuidanceLM) -> dict[str, Any]:
    return {
        name: {key: value for key, value in row.items() if not key.startswith("latency")}
        for name, row in lm.stats().items()
    }


def _run_case(case: Case, *, asynchronous: bool, streaming: bool) -> dict[str, Any]:
    fake = FakeVLLM(list(case.replies))
    backup = FakeVLLM(list(case.fallback)) if case.fallback is not None else None
    lm = fake.lm(fallback=backup.lm() if backup else None, **case.lm)
    dspy.configure(lm=lm, adapter=case.adapter)
    program = dspy.Predict(case.signature)
    inputs = {"text": "a b"} if case.signature is Count else {"topic": "tests"}
    chunks: list[str] = []

    def call() -> Any:
        if streaming:
            listeners = [StreamListener(signature_field_name=case.listen)] if case.listen else []
            streamed = dspy.streamify(program, stream_listeners=listeners, is_async_program=asynchronous)

            async def collect() -> Any:
                final = None
                async for item in streamed(**inputs):
                    if isinstance(item, StreamResponse):
                        chunks.append(item.chunk)
                    elif isinstance(item, dspy.Prediction):
                        final = item
                return final

            prediction = asyncio.run(collect())
        elif asynchronous:
            prediction = asyncio.run(program.acall(**inputs))
        else:
            prediction = program(**inputs)
        return dict(prediction.items())

    return {
        "outcome": _outcome(call),
        "streamed": "".join(chunks),
        "payloads": fake.payloads,
        "fallback_payloads": backup.payloads if backup else None,
        "history": _history(lm),
        "stats": _stats(lm),
    }


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_sync_and_async_agree(name: str, streaming: bool) -> None:
    case = CASES[name]
    sync = _run_case(case(), asynchronous=False, streaming=streaming)
    asynchronous = _run_case(case(), asynchronous=True, streaming=streaming)
    assert sync == asynchronous
    assert sync["payloads"], "the primary server was asked"
    assert all(payload.get("stream", False) is streaming for payload in sync["payloads"])
    if case().listen and streaming and case().fallback is None:
        assert "regressions" in sync["streamed"]  # the listener saw the field's value as it streamed


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
def test_outcomes_are_the_typed_ones(streaming: bool) -> None:
    """Both paths (already known to agree sync/async) give the documented result per case."""
    expected = {
        "ok": ("ok", {"count": 2}),
        "ok-json": ("ok", {"count": 3}),
        "ok-str-listened": ("ok", {"essay": "Short tests catch regressions."}),
        "violation": "ConstraintViolationError",
        "truncated": "TruncatedOutputError",
        "finish-reason-unknown": "BackendError",
        "http-500": "BackendServerError",
        "http-401": "BackendAuthError",
        "http-429": "BackendRateLimitError",
        "http-400": "BackendError",
        "http-400-context": "ContextWindowExceededError",
        # A 200 body without SSE lines streams no text: the empty answer fails the constraint.
        "malformed-body": "ConstraintViolationError" if streaming else "BackendError",
        "timeout": "BackendUnavailableError",
        "unreachable": "BackendUnavailableError",
        "fallback": ("ok", {"count": 9}),
        "fallback-violates": "ConstraintViolationError",
    }
    for name, want in expected.items():
        got = _run_case(CASES[name](), asynchronous=False, streaming=streaming)["outcome"]
        if isinstance(want, tuple):
            assert got == want, name
        else:
            assert got[:2] == ("error", want), (name, got)


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
def test_the_fallback_answers_streams_too_and_says_so(streaming: bool) -> None:
    result = _run_case(CASES["fallback-listened"](), asynchronous=False, streaming=streaming)
    assert result["outcome"] == ("ok", {"essay": "Short tests catch regressions."})
    assert result["fallback_payloads"][0]["structured_outputs"] == lift_dspy.constraint_for(Essay)
    assert "stream" not in result["fallback_payloads"][0]  # the fallback answers whole; it is replayed
    (entry,) = result["history"]
    assert entry["provider_data"]["lift_dspy"]["fallback"] == "test-model"
    assert result["stats"]["Essay/chat"]["errors"] == {"BackendUnavailableError": 1}
    # One replayed delta: DSPy's listeners treat it like a cache hit (no chunks, the final value only).
    assert result["streamed"] == ""


def test_a_stream_that_breaks_after_its_first_event_is_not_sent_to_the_fallback() -> None:
    """Deltas already went out: the stream fails typed instead of answering twice."""
    sse = "data: " + json.dumps(
        {"id": "s", "model": "m", "choices": [{"index": 0, "delta": {"content": "[[ ## "}}]}
    )

    class Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
        def __iter__(self) -> Any:
            yield (sse + "\n\n").encode()
            raise httpx.ReadError("connection reset")

        async def __aiter__(self) -> Any:
            yield (sse + "\n\n").encode()
            raise httpx.ReadError("connection reset")

    for asynchronous in (False, True):
        backup = FakeVLLM([COUNT.format(n=9)])
        case = Case([httpx.Response(200, stream=Broken())], fallback=backup.replies)
        result = _run_case(case, asynchronous=asynchronous, streaming=True)
        assert result["outcome"][:2] == ("error", "BackendUnavailableError")
        assert result["fallback_payloads"] == []


@pytest.mark.parametrize("constrain", [True, False])
def test_an_explicit_request_is_resolved_by_the_engine_alike(constrain: bool) -> None:
    """A ``lm15.Request`` passed directly carries no resolution: each engine resolves it (plain text)."""
    outcomes = []
    for asynchronous in (False, True):
        fake = FakeVLLM(["hello"])
        lm = fake.lm(constrain=constrain)
        request = Request(model="test-model", messages=(Message.user("hi"),))
        response = asyncio.run(lm.acall(request)) if asynchronous else lm(request)
        outcomes.append((response, fake.payloads))
    assert outcomes[0] == outcomes[1]
    assert "structured_outputs" not in outcomes[0][1][0]


def test_a_baseline_lms_guidance_fallback_resolves_the_call_itself() -> None:
    """constrain=False resolves nothing, so a GuidanceLM fallback constrains the call on its own."""
    results = [
        _run_case(
            Case(
                [_raise(httpx.ConnectError("refused"))], fallback=[COUNT.format(n=9)], lm={"constrain": False}
            ),
            asynchronous=asynchronous,
            streaming=False,
        )
        for asynchronous in (False, True)
    ]
    assert results[0] == results[1]
    assert results[0]["outcome"] == ("ok", {"count": 9})
    assert results[0]["fallback_payloads"][0]["structured_outputs"] == lift_dspy.constraint_for(Count)
