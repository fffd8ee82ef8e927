"""Throughput under concurrency: lift-dspy vs raw HTTP with the identical payloads, many round pairs.

Runs `lift_dspy.bench.throughput.run_throughput` (N concurrent ``ClassifyIntent`` calls through
``dspy.Predict.acall`` on GuidanceLM vs N raw ``httpx`` posts of the payloads lift-dspy sent,
rounds alternating which side goes first) for ``--rounds`` round pairs, and reports aggregate
tokens/s per side, the per-pair ratios lift/raw, their median with a bootstrap 95% interval
(significant when it excludes 1), and provenance, as a JSON summary.

Usage:
    python benchmarks/throughput.py --rounds 10 [--model tiny] [--summary benchmarks/results/throughput.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lift_dspy.bench.configs import Endpoint, Settings
from lift_dspy.bench.journal import Journal
from lift_dspy.bench.metrics import latest, paired_ratios
from lift_dspy.bench.stats import load_average, paired_median_ratio, provenance
from lift_dspy.bench.throughput import LIFT, RAW, run_throughput


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.api_base:
        yield args.api_base, args.model
        return
    from lift_dspy.server.process import serve

    with serve(args.model) as server:
        yield server.api_base, server.model


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--api-base")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--summary", default="benchmarks/results/throughput.json")
    args = parser.parse_args()
    before = provenance()
    loads = [load_average()]
    settings = Settings(temperature=args.temperature, max_tokens=args.max_tokens, max_text_chars=300)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp, _server(args) as (api_base, model):
        journal = Journal(tmp)
        run_throughput(
            Endpoint(api_base, model, "guidance"),
            settings,
            journal,
            concurrency=args.concurrency,
            rounds=args.rounds,
            on_record=lambda label: (loads.append(load_average()), print(label, loads[-1], file=sys.stderr)),
        )
        records = journal.records()
    task = f"concurrency-{args.concurrency}"
    rounds = [r for r in latest(records, "throughput") if r.get("task") == task]
    ratios = paired_ratios(records, task, LIFT, RAW)
    sides: dict[str, Any] = {}
    for side in (LIFT, RAW):
        rows = [r for r in rounds if r["config"] == side]
        tokens = sum(int(r.get("output_tokens") or 0) for r in rows)
        seconds = sum(float(r.get("seconds") or 0) for r in rows)
        sides[side] = {
            "rounds": len(rows),
            "calls_ok": sum(int(r.get("ok") or 0) for r in rows),
            "calls": sum(int(r.get("calls") or 0) for r in rows),
            "output_tokens": tokens,
            "wall_s": round(seconds, 2),
            "aggregate_tokens_per_s": round(tokens / seconds, 2) if seconds else None,
            "errors": _merge(r.get("errors") or {} for r in rows),
        }
    lift, raw = sides[LIFT]["aggregate_tokens_per_s"], sides[RAW]["aggregate_tokens_per_s"]
    result = {
        "benchmark": "throughput",
        "command": "python benchmarks/throughput.py " + " ".join(sys.argv[1:]),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "provenance": before,
        "load_average_during": {
            "first": loads[0],
            "last": load_average(),
            "max_1min": max(x[0] for x in loads if x),
            "min_1min": min(x[0] for x in loads if x),
        },
        "settings": {
            "model": args.model,
            "concurrency": args.concurrency,
            "round_pairs": args.rounds,
            **settings.as_dict(),
        },
        "sides": sides,
        "aggregate_ratio_lift_over_raw": round(lift / raw, 4) if lift and raw else None,
        "per_pair_ratios": [round(x, 4) for x in ratios],
        "median_pair_ratio": paired_median_ratio(ratios),
    }
    Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
    Path(args.summary).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "provenance"}, indent=1))
    return 0


def _merge(dicts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[str(k)] = out.get(str(k), 0) + int(v)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
