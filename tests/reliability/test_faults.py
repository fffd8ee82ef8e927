"""Faults between lift-dspy and a real vLLM server: every one ends in a typed error or a valid answer.

A loopback fault proxy (faultproxy.py) sits in front of the session's tiny vLLM server and injects
HTTP 5xx, connection resets, cut-off bodies, stalls and malformed bodies. Transient faults are
retried by DSPy (``num_retries``, exponential backoff 1 s, 2 s, ...); what remains after the retries
is a typed ``lift_dspy`` error naming the URL.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import dspy
import pytest
from dspy.utils.exceptions import ContextWindowExceededError
from faultproxy import Fault, FaultProxy, Policy, always, first_then
from figures import record
from zoo import Sentiment

import lift_dspy
from lift_dspy.errors import BackendServerError
from lift_dspy.server.doctor import doctor
from lift_dspy.server.process import Server

START_HINT = "lift-dspy serve"
StartProxy = Callable[[Policy], FaultProxy]


def _lm(api_base: str, model: str = "tiny", **kwargs: Any) -> lift_dspy.GuidanceLM:
    kwargs.setdefault("num_retries", 0)
    kwargs.setdefault("timeout", 60.0)
    return lift_dspy.GuidanceLM(
        model, api_base=api_base, temperature=1.0, max_tokens=64, max_text_chars=120, cache=False, **kwargs
    )


def _classify(lm: lift_dspy.GuidanceLM) -> tuple[Any, float]:
    """Run one Sentiment call; return (prediction or exception, seconds)."""
    started = time.perf_counter()
    try:
        with dspy.context(lm=lm):
            outcome: Any = dspy.Predict(Sentiment)(text="the checkout page is broken")
    except Exception as exc:
        outcome = exc
    return outcome, time.perf_counter() - started


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- server not started ----------------------------------------------------------------------


@pytest.mark.parametrize("retries", [0, 2])
def test_server_not_started_is_typed_and_says_how_to_start_one(retries: int) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    outcome, seconds = _classify(_lm(url, "m", num_retries=retries, timeout=5.0))
    assert isinstance(outcome, lift_dspy.BackendUnavailableError), outcome
    assert outcome.url == f"{url}/chat/completions"
    assert url in str(outcome)
    assert START_HINT in str(outcome)
    # Refused connections fail at once; only DSPy's backoff (1 s, 2 s) adds time.
    assert seconds < 5.0 + sum(2**attempt for attempt in range(retries)) + 5.0
    record(f"not started, num_retries={retries}: seconds to the typed error", round(seconds, 2))


def test_server_not_started_async() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    lm = _lm(url, "m", timeout=5.0)

    async def call() -> Any:
        with dspy.context(lm=lm):
            return await dspy.Predict(Sentiment).acall(text="x")

    with pytest.raises(lift_dspy.BackendUnavailableError, match=START_HINT):
        asyncio.run(call())


def test_doctor_reports_a_server_that_is_not_started() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    report = doctor(url, timeout=5.0)
    assert not report.ok
    assert report.checks[0].name == "server reachable"
    assert report.checks[0].status == "FAIL"
    assert all(check.status == "SKIP" for check in report.checks[1:])


@pytest.fixture
def syn_dropping_port() -> Iterator[int]:
    """A port whose listen backlog is full: the kernel drops new SYNs, so connect() hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in [*fillers, listener]:
        sock.close()


def test_unanswered_connect_is_bounded_by_the_configured_timeout(syn_dropping_port: int) -> None:
    url = f"http://127.0.0.1:{syn_dropping_port}/v1"
    outcome, seconds = _classify(_lm(url, "m", timeout=2.0))
    record("connect never answered, timeout=2: seconds to the typed error", round(seconds, 2))
    assert isinstance(outcome, lift_dspy.BackendUnavailableError), outcome
    assert "no answer in time" in str(outcome)
    assert seconds < 8.0  # 2 s configured (the connect bound was a fixed 10 s before 59ad573)


def test_unanswered_connect_is_bounded_async(syn_dropping_port: int) -> None:
    lm = _lm(f"http://127.0.0.1:{syn_dropping_port}/v1", "m", timeout=2.0)

    async def call() -> Any:
        with dspy.context(lm=lm):
            return await dspy.Predict(Sentiment).acall(text="x")

    started = time.perf_counter()
    with pytest.raises(lift_dspy.BackendUnavailableError, match="no answer in time"):
        asyncio.run(call())
    assert time.perf_counter() - started < 8.0


# -- injected faults in front of the real server ---------------------------------------------


@pytest.mark.vllm
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.http_status(503, "overloaded"), BackendServerError),
        (Fault.http_status(500), BackendServerError),
        (Fault.reset(), lift_dspy.BackendUnavailableError),
        (Fault.cut(), lift_dspy.BackendUnavailableError),
    ],
    ids=["503", "500", "reset", "cut-body"],
)
def test_transient_faults_are_retried_with_backoff_then_typed(
    fault_proxy: StartProxy, fault: Fault, error: type[Exception]
) -> None:
    proxy = fault_proxy(always(fault))
    outcome, seconds = _classify(_lm(proxy.api_base, num_retries=2))
    assert isinstance(outcome, error), outcome
    assert isinstance(outcome, lift_dspy.BackendError)
    assert outcome.url == f"{proxy.api_base}/chat/completions"
    assert proxy.counters.completions == 3  # 1 attempt + num_retries=2
    assert seconds >= 1 + 2  # DSPy's backoff between the attempts
    record(
        f"fault {fault.kind}{fault.status if fault.kind == 'status' else ''}: 3 attempts in (s)",
        round(seconds, 2),
    )


@pytest.mark.vllm
@pytest.mark.parametrize(
    "fault", [Fault.http_status(503), Fault.reset(), Fault.cut()], ids=["503", "reset", "cut-body"]
)
def test_transient_faults_then_recovery_give_a_valid_answer(fault_proxy: StartProxy, fault: Fault) -> None:
    proxy = fault_proxy(first_then(2, fault))
    outcome, _ = _classify(_lm(proxy.api_base, num_retries=2))
    assert isinstance(outcome, dspy.Prediction), outcome
    assert outcome.sentiment in ("positive", "negative", "neutral")
    assert proxy.counters.completions == 3


@pytest.mark.vllm
@pytest.mark.parametrize("retries", [0, 1])
def test_stall_is_bounded_by_the_timeout(fault_proxy: StartProxy, retries: int) -> None:
    proxy = fault_proxy(always(Fault.stall()))
    timeout = 2.0
    outcome, seconds = _classify(_lm(proxy.api_base, num_retries=retries, timeout=timeout))
    assert isinstance(outcome, lift_dspy.BackendUnavailableError), outcome
    assert "no answer in time" in str(outcome)
    assert proxy.counters.completions == retries + 1
    attempts = retries + 1
    assert seconds >= attempts * timeout
    # Bounded: each attempt stops at the timeout (generous margin for a loaded machine).
    assert seconds < attempts * timeout + sum(2**a for a in range(retries)) + 20
    record(f"stall, timeout=2, num_retries={retries}: seconds to the typed error", round(seconds, 2))


@pytest.mark.vllm
def test_stall_is_bounded_by_the_timeout_async(fault_proxy: StartProxy) -> None:
    proxy = fault_proxy(always(Fault.stall()))
    lm = _lm(proxy.api_base, timeout=2.0)

    async def call() -> Any:
        with dspy.context(lm=lm):
            return await dspy.Predict(Sentiment).acall(text="x")

    started = time.perf_counter()
    with pytest.raises(lift_dspy.BackendUnavailableError, match="no answer in time"):
        asyncio.run(call())
    assert time.perf_counter() - started < 2.0 + 20


MALFORMED = {
    "html": b"<html><body>502 proxy error</body></html>",
    "empty": b"",
    "truncated-json": b'{"choices": [{"message": {"content": "[[ ## sent',
    "no-choices": b'{"object": "chat.completion", "choices": []}',
    "json-array": b"[1, 2, 3]",
    "null-message": b'{"choices": [{"message": null, "finish_reason": "stop"}]}',
    "unknown-finish": json.dumps(
        {"choices": [{"message": {"content": "x"}, "finish_reason": "tool_use_v9"}]}
    ).encode(),
    "binary": bytes(range(256)),
}


@pytest.mark.vllm
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_bodies_are_backend_errors_not_retried(fault_proxy: StartProxy, name: str) -> None:
    proxy = fault_proxy(always(Fault.malformed(MALFORMED[name])))
    outcome, _ = _classify(_lm(proxy.api_base, num_retries=2))
    assert isinstance(outcome, lift_dspy.BackendError), outcome
    assert not isinstance(outcome, lift_dspy.BackendUnavailableError)
    assert proxy.counters.completions == 1  # a malformed 200 is not transient: no retry


@pytest.mark.vllm
def test_wellformed_body_with_wrong_text_is_a_violation(fault_proxy: StartProxy) -> None:
    body = {"choices": [{"message": {"content": "[[ ## sentiment ## ]]\nfurious\n\n[[ ## completed ## ]]"}}]}
    proxy = fault_proxy(always(Fault.malformed(json.dumps(body).encode())))
    outcome, _ = _classify(_lm(proxy.api_base))
    assert isinstance(outcome, lift_dspy.ConstraintViolationError), outcome
    assert outcome.field == "sentiment"


@pytest.mark.vllm
@pytest.mark.parametrize("adapter", [None, dspy.JSONAdapter()], ids=["chat", "json"])
def test_context_window_exceeded_is_dspy_own_error(tiny_server: Server, adapter: Any) -> None:
    lm = _lm(tiny_server.api_base, tiny_server.model, num_retries=2)
    with dspy.context(lm=lm, adapter=adapter), pytest.raises(ContextWindowExceededError) as info:
        dspy.Predict(Sentiment)(text="lorem ipsum " * 4000)  # ~8k tokens against --max-model-len 2048
    assert "2048" in str(info.value)
    assert lm.stats()["total"]["calls"] == 1  # one attempt: not retried
