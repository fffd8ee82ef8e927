"""Server start time, and the zoo constrained vs unconstrained on the same vLLM server.

For every signature of the test zoo (Predict, DSPy's chat layout), the same prompt is sent through
GuidanceLM (guidance-backend constraint + validation) and through GuidanceLM(constrain=False) (no
constraint: what a stock DSPy LM sends), interleaved, on one server. Printed per configuration:
valid answers (parsed by DSPy and validated), output tokens/s, median and p95 latency per call,
and the ratios.

Usage:
    python benchmarks/constrained_vs_free.py [--model smollm2] [--rounds 3] [--api-base URL]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dspy

import lift_dspy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from zoo import INPUTS, ZOO


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str, float | None]]:
    if args.api_base:
        yield args.api_base, args.model, None
        return
    from lift_dspy.server.models import prepare_model
    from lift_dspy.server.process import serve

    prepare_model(args.model)
    start = time.perf_counter()
    with serve(args.model) as server:
        yield server.api_base, server.model, time.perf_counter() - start


def _one(lm: lift_dspy.GuidanceLM, name: str, rollout: int) -> tuple[bool, float, int]:
    signature = ZOO[name]
    before = len(lm.history)
    start = time.perf_counter()
    ok = True
    try:
        with dspy.context(lm=lm):
            prediction = dspy.Predict(signature)(**INPUTS[name], config={"rollout_id": rollout})
        lift_dspy.output_model(signature).model_validate({k: prediction[k] for k in signature.output_fields})
    except Exception:
        ok = False
    seconds = time.perf_counter() - start
    tokens = 0
    for entry in lm.history[before:]:
        usage = entry.get("usage") or {}
        tokens += int(usage.get("completion_tokens") or usage.get("output_tokens") or 0)
    return ok, seconds, tokens


def _summary(rows: list[tuple[bool, float, int]]) -> dict[str, Any]:
    latencies = sorted(seconds for _, seconds, _ in rows)
    return {
        "valid": sum(ok for ok, _, _ in rows),
        "calls": len(rows),
        "tokens_per_s": sum(t for _, _, t in rows) / sum(latencies),
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        "tokens": sum(t for _, _, t in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--api-base")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=300)
    args = parser.parse_args()

    with _server(args) as (api_base, model, start_seconds):
        common = {"temperature": 0.7, "max_tokens": args.max_tokens, "cache": False, "num_retries": 0}
        constrained = lift_dspy.GuidanceLM(model, api_base=api_base, max_text_chars=400, **common)
        free = lift_dspy.GuidanceLM(model, api_base=api_base, constrain=False, **common)
        results: dict[str, list[tuple[bool, float, int]]] = {"constrained": [], "unconstrained": []}
        for rollout in range(args.rounds):
            for name in sorted(ZOO):
                results["constrained"].append(_one(constrained, name, rollout))
                results["unconstrained"].append(_one(free, name, rollout))

    if start_seconds is not None:
        print(f"server start ({model}, guidance backend, CPU): {start_seconds:.1f} s")
    print(f"{len(ZOO)} signatures x {args.rounds} rounds, Predict, chat layout, temperature 0.7, interleaved")
    print(f"{'configuration':16} {'valid':>9} {'tokens/s':>9} {'p50 s':>7} {'p95 s':>7} {'tokens':>7}")
    summaries = {name: _summary(rows) for name, rows in results.items()}
    for name, s in summaries.items():
        print(
            f"{name:16} {s['valid']:>4}/{s['calls']:<4} {s['tokens_per_s']:9.1f} {s['p50']:7.2f} "
            f"{s['p95']:7.2f} {s['tokens']:7d}"
        )
    c, f = summaries["constrained"], summaries["unconstrained"]
    print(
        f"ratios constrained/unconstrained: tokens/s {c['tokens_per_s'] / f['tokens_per_s']:.2f}x, "
        f"p50 latency {c['p50'] / f['p50']:.2f}x, p95 latency {c['p95'] / f['p95']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
