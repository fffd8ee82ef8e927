"""The engine's paths against a real vLLM (tiny random model, guidance backend), sync and async.

complete and stream, each sync and async, answer under the same grammar and validate; a server
that cannot be reached hands the call (complete or stream) to the fallback LM. A random model
writes valid answers only if the grammar was enforced. The byte-level agreement of the two
engines is checked against the fake server (tests/core/test_sync_async.py).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import dspy
import pytest
from zoo import Count

import lift_dspy
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm


def _lm(server: Server, **kwargs: Any) -> lift_dspy.GuidanceLM:
    return lift_dspy.GuidanceLM(
        server.model,
        api_base=server.api_base,
        max_tokens=600,
        max_text_chars=60,
        num_retries=0,
        cache=False,
        **kwargs,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _predict(asynchronous: bool, streaming: bool) -> dspy.Prediction:
    program = dspy.Predict(Count)
    if not streaming:
        return asyncio.run(program.acall(text="a b c")) if asynchronous else program(text="a b c")
    streamed = dspy.streamify(program, is_async_program=asynchronous)

    async def final() -> dspy.Prediction:
        last = None
        async for item in streamed(text="a b c"):
            last = item
        assert isinstance(last, dspy.Prediction)
        return last

    return asyncio.run(final())


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
def test_sync_and_async_answer_under_the_grammar(tiny_server: Server, streaming: bool) -> None:
    lm = _lm(tiny_server)
    dspy.configure(lm=lm)
    for asynchronous in (False, True):
        assert isinstance(_predict(asynchronous, streaming).count, int)
    records = [entry["lift_dspy"] for entry in lm.history]
    assert [record["signature"] for record in records] == ["Count", "Count"]
    assert records[0] == records[1]  # one resolution, the same constraint and backend both ways
    assert lm.stats()["Count/chat"]["ok"] == 2


@pytest.mark.parametrize("streaming", [False, True], ids=["complete", "stream"])
def test_an_unreachable_server_falls_back_both_ways(tiny_server: Server, streaming: bool) -> None:
    backup = _lm(tiny_server)
    lm = lift_dspy.GuidanceLM(
        "m",
        api_base=f"http://127.0.0.1:{_closed_port()}/v1",
        fallback=backup,
        max_tokens=600,
        num_retries=0,
        cache=False,
    )
    dspy.configure(lm=lm)
    for asynchronous in (False, True):
        assert isinstance(_predict(asynchronous, streaming).count, int)
    assert [entry["response"].provider_data["lift_dspy"]["fallback"] for entry in lm.history] == [
        tiny_server.model
    ] * 2
    assert lm.stats()["Count/chat"]["errors"] == {"BackendUnavailableError": 2}
