"""Throughput under concurrency: N constrained DSPy calls at once vs N raw HTTP calls, same payloads.

A round sends N ``ClassifyIntent`` requests at the same time, either through
``dspy.Predict(...).acall`` on a :class:`~lift_dspy.GuidanceLM` (DSPy's adapter, lift-dspy's
constraint lookup, payload, validation; asyncio) or as raw ``httpx`` posts of the very payloads
lift-dspy sent, captured on the wire by a recording transport during a warm-up round. The figure
is aggregate output tokens per second of wall time; rounds alternate which side goes first.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import dspy
import httpx

from lift_dspy.bench.configs import Endpoint, Settings
from lift_dspy.bench.journal import Journal, Key
from lift_dspy.signatures.agent import ClassifyIntent

__all__ = ["RAW", "THROUGHPUT_CONFIGS", "request_inputs", "run_throughput", "throughput_keys"]

LIFT = "lift-guidance"
RAW = "raw-httpx"
THROUGHPUT_CONFIGS = (LIFT, RAW)

_REQUESTS = (
    "Draw a line chart of monthly revenue",
    "Load the file customers.csv",
    "What does the churn column mean?",
    "Show the first rows of the orders table",
    "Filter sales to the year 2024",
    "Compare revenue between regions",
    "Book me a flight to Paris",
    "Summarise the sales table",
)


def request_inputs(n: int) -> list[dict[str, str]]:
    """``n`` distinct ClassifyIntent inputs (so the server cannot serve one from its prefix cache)."""
    return [
        {"request": f"{_REQUESTS[i % len(_REQUESTS)]} (ticket {i + 1})", "context": "tables: sales, orders"}
        for i in range(n)
    ]


def throughput_keys(concurrency: int, rounds: int) -> list[Key]:
    """The journal keys of the concurrency test, in the order they run."""
    task = f"concurrency-{concurrency}"
    return [("throughput", config, task, r) for r in range(rounds) for config in _order(r)]


def _order(round_index: int) -> tuple[str, str]:
    return THROUGHPUT_CONFIGS if round_index % 2 == 0 else THROUGHPUT_CONFIGS[::-1]


class _WireLog(httpx.AsyncBaseTransport):
    """An async transport that keeps each chat-completion payload and each answer's usage."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.payloads: list[dict[str, Any]] = []
        self.tokens = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if request.url.path.endswith("/chat/completions"):
            self.payloads.append(json.loads(body))
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.tokens += _completion_tokens(content)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-encoding"]
        return httpx.Response(response.status_code, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _completion_tokens(body: bytes) -> int:
    try:
        return int((json.loads(body).get("usage") or {}).get("completion_tokens") or 0)
    except (ValueError, AttributeError, TypeError):
        return 0


async def _lift_round(endpoint: Endpoint, settings: Settings, inputs: list[dict[str, str]]) -> dict[str, Any]:
    import lift_dspy

    wire = _WireLog()
    lm = lift_dspy.GuidanceLM(
        endpoint.model,
        api_base=endpoint.api_base,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        max_text_chars=settings.max_text_chars,
        cache=False,
        num_retries=0,
        async_transport=wire,
    )
    predict = dspy.Predict(ClassifyIntent)
    started = time.perf_counter()
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
        results = await asyncio.gather(*(predict.acall(**x) for x in inputs), return_exceptions=True)
    seconds = time.perf_counter() - started
    await wire.aclose()
    errors = Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
    return {
        "seconds": seconds,
        "output_tokens": wire.tokens,
        "ok": len(results) - sum(errors.values()),
        "errors": dict(errors),
        "payloads": wire.payloads,
    }


async def _raw_round(endpoint: Endpoint, payloads: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
    url = f"{endpoint.api_base.rstrip('/')}/chat/completions"
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0), limits=limits) as client:
        started = time.perf_counter()
        replies = await asyncio.gather(*(client.post(url, json=p) for p in payloads), return_exceptions=True)
        seconds = time.perf_counter() - started
    errors: Counter[str] = Counter()
    tokens = 0
    for reply in replies:
        if isinstance(reply, BaseException):
            errors[type(reply).__name__] += 1
        elif reply.status_code != 200:
            errors[f"HTTP {reply.status_code}"] += 1
        else:
            tokens += _completion_tokens(reply.content)
    return {
        "seconds": seconds,
        "output_tokens": tokens,
        "ok": len(replies) - sum(errors.values()),
        "errors": dict(errors),
    }


def run_throughput(
    endpoint: Endpoint,
    settings: Settings,
    journal: Journal,
    *,
    concurrency: int = 16,
    rounds: int = 3,
    run_id: str = "",
    on_record: Callable[[str], None] | None = None,
) -> None:
    """Run the missing rounds of the concurrency test and journal each one.

    One unrecorded warm-up round per side comes first; it also captures the payloads the raw
    side sends. ``on_record`` is called with a label after each journaled round.
    """
    todo = journal.missing(throughput_keys(concurrency, rounds))
    if not todo:
        return
    inputs = request_inputs(concurrency)
    warm = asyncio.run(_lift_round(endpoint, settings, inputs))
    payloads: list[dict[str, Any]] = warm["payloads"]
    if len(payloads) != concurrency:
        raise RuntimeError(f"captured {len(payloads)} payloads for {concurrency} calls")
    asyncio.run(_raw_round(endpoint, payloads, settings.timeout))
    for key in todo:
        _, config, task, round_index = key
        if config == LIFT:
            result = asyncio.run(_lift_round(endpoint, settings, inputs))
            result.pop("payloads")
        else:
            result = asyncio.run(_raw_round(endpoint, payloads, settings.timeout))
        seconds = result["seconds"]
        journal.append(
            {
                "kind": "throughput",
                "config": config,
                "task": task,
                "sample": round_index,
                "concurrency": concurrency,
                "calls": concurrency,
                "tokens_per_s": result["output_tokens"] / seconds if seconds > 0 else None,
                "run": run_id,
                "finished": time.time(),
                **result,
            }
        )
        if on_record is not None:
            on_record(f"{config} x{concurrency} round {round_index}")
