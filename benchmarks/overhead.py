"""Per-call cost of the lift-dspy layer next to a raw HTTP call with the identical payload.

Measures, side by side in one run against one server:
  * warm constraint lookup (signature -> cached Constraint, as the engine does it per call),
  * GuidanceLM call preparation (the same lookup from the messages + the cache-key fingerprint),
  * request build (lm15 Request + constraint -> vLLM payload),
  * parse + validate (the fail-closed check of the answer),
  * end to end: GuidanceEngine.complete(request) vs httpx.post(identical payload), interleaved.

Usage:
    python benchmarks/overhead.py                     # starts a local vLLM with the tiny model
    python benchmarks/overhead.py --api-base URL --model NAME [--calls 40]
Targets: warm lookup p50 <= 100 us; end to end <= 1.05x the raw call.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dspy
import httpx
from dspy.lm15 import Config, Message, Request

import lift_dspy
from lift_dspy.active import active_constraint
from lift_dspy.engine import EngineConfig, GuidanceEngine
from lift_dspy.request import build_payload

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from zoo import INPUTS, SpecToIR


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.api_base:
        yield args.api_base, args.model
        return
    from lift_dspy.server.process import serve

    with serve(args.model or "tiny") as server:
        yield server.api_base, server.model


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api-base")
    parser.add_argument("--model")
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()

    signature = SpecToIR
    predict = dspy.Predict(signature)
    formatted = dspy.ChatAdapter().format(signature, [], INPUTS["SpecToIR"])
    with _server(args) as (api_base, model):
        request = Request(
            model=model,
            system=formatted[0]["content"],
            messages=(Message.user(formatted[1]["content"]),),
            config=Config(max_tokens=200, temperature=0.0),
        )
        engine = GuidanceEngine(
            EngineConfig(api_base=api_base, options=lift_dspy.constraints.schema.Options(max_text_chars=60))
        )
        with dspy.context(caller_modules=[predict]):
            options = engine.config.options
            constraint = active_constraint(request, options)  # cold: compiles once
            assert constraint is not None
            lookup = _time(lambda: active_constraint(request, options), 2000)
            lm = lift_dspy.GuidanceLM(model, api_base=api_base, max_text_chars=60)

            def prepare() -> None:
                _, token = lm._enter(None, formatted, {}, lambda _model: "guidance")
                assert token is not None
                lift_dspy.lm._current.reset(token)

            prepare()
            preparing = _time(prepare, 2000)
            build = _time(
                lambda: build_payload(request, model=model, structured_outputs=constraint.structured_outputs),
                2000,
            )
            payload = build_payload(request, model=model, structured_outputs=constraint.structured_outputs)
            client = httpx.Client(timeout=600)
            url = f"{api_base.rstrip('/')}/chat/completions"
            text = client.post(url, json=payload).json()["choices"][0]["message"]["content"]
            validate = _time(lambda: constraint.validate(text), 500)

            lifted: list[float] = []
            raw: list[float] = []
            engine.complete(request)  # warm the engine's connection pool
            for _ in range(args.calls):  # interleaved, so both see the same machine state
                start = time.perf_counter()
                client.post(url, json=payload).raise_for_status()
                raw.append(time.perf_counter() - start)
                start = time.perf_counter()
                engine.complete(request)
                lifted.append(time.perf_counter() - start)

    rows = [
        ("warm constraint lookup", lookup),
        ("GuidanceLM call preparation", preparing),
        ("request build", build),
        ("parse + validate", validate),
        ("raw httpx call (identical payload)", raw),
        ("GuidanceEngine.complete", lifted),
    ]
    print(f"server {api_base} model {model}; {args.calls} interleaved end-to-end calls")
    print(f"{'step':40} {'p50':>12} {'p95':>12}")
    for name, samples in rows:
        p50, p95 = _percentiles(samples)
        print(f"{name:40} {p50 * 1e6:10.1f}us {p95 * 1e6:10.1f}us")
    ratio = statistics.median(lifted) / statistics.median(raw)
    lookup_p50 = statistics.median(lookup) * 1e6
    print(f"end-to-end ratio (median lift-dspy / median raw): {ratio:.3f}x  (target <= 1.05x)")
    print(f"warm lookup p50: {lookup_p50:.1f} us  (target <= 100 us)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
