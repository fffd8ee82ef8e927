"""Replicas behind vllm-router: cache_aware vs round_robin, and 1 vs 2 replicas, in one run.

Two vLLM workers are started once (one after the other) and three arms take turns on them, in an
order rotated every round so that warm caches favour no arm:

* ``cache_aware``: a vllm-router with the cache-aware policy in front of both workers;
* ``round_robin``: a second vllm-router with round-robin in front of the same two workers;
* ``1 replica``: worker 0 directly, no router.

The workload is the agent signatures (``signatures/agent.py``: ``ClassifyIntent`` and
``ProposeToolCall`` with the same tool list), sent by ``dspy.Parallel`` with 16 threads; every
round uses new requests, so only the instructions, field layout and grammar repeat. Per arm:
prefix-cache hit rate (``vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total`` over the
workers, deltas), p50/p95 latency per call, aggregate generated tokens/s (``vllm:generation_tokens``
delta / wall time), valid answers, and requests per worker. The load average is printed with them.

Usage:
    python benchmarks/router.py [--model tiny] [--rounds 3] [--calls 48] [--threads 16]
        [--bind-cores] [--out benchmarks/results/router.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import dspy
import httpx
from lift_dspy.signatures.agent import ClassifyIntent, ProposeToolCall

import lift_dspy
from lift_dspy.server.metrics import parse_metrics, read_metrics_text
from lift_dspy.server.process import ManagedServer, start_server
from lift_dspy.server.replicas import ManagedRouter, start_router

ARMS = ("cache_aware", "round_robin", "1 replica")
TOOLS = """top_rows(table: str, n: int = 5): first rows of a table
filter_rows(table: str, column: str, op: "=" | ">" | "<", value: str): rows matching a condition
aggregate(table: str, column: str, fn: "sum" | "mean" | "count", by: str = "auto"): grouped totals
plot(table: str, x: str, y: str, kind: "line" | "bar" = "line"): a chart"""
REQUESTS = (
    "show me the first rows of {t}",
    "what was the total revenue in {t} by region",
    "plot weekly signups from {t}",
    "which customers in {t} spent more than {n} dollars",
    "average order value in {t} for march",
    "count the failed payments in {t}",
)
TABLES = ("sales", "orders", "signups", "payments", "tickets", "events")


class Timed(dspy.Module):
    """Runs one agent signature and records its wall time."""

    def __init__(self, latencies: list[float], lock: threading.Lock) -> None:
        super().__init__()
        self.classify = dspy.Predict(ClassifyIntent)
        self.propose = dspy.Predict(ProposeToolCall)
        self.latencies = latencies
        self.lock = lock

    def forward(self, kind: str, request: str, context: str) -> dspy.Prediction:
        started = time.perf_counter()
        if kind == "classify":
            out = self.classify(request=request, context=context)
        else:
            out = self.propose(task=request, tools=TOOLS, context=context)
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
        return out


def workload(round_index: int, arm: str, calls: int) -> list[dspy.Example]:
    examples = []
    for i in range(calls):
        table = TABLES[(i + round_index) % len(TABLES)]
        request = REQUESTS[i % len(REQUESTS)].format(t=table, n=100 + 37 * i + 1000 * round_index)
        context = f"round {round_index}, arm {arm}, item {i}: datasets {table}, customers"
        kind = "classify" if i % 2 == 0 else "propose"
        examples.append(
            dspy.Example(kind=kind, request=request, context=context).with_inputs(
                "kind", "request", "context"
            )
        )
    return examples


def snapshot(workers: list[ManagedServer]) -> list[dict[str, float]]:
    out = []
    for worker in workers:
        try:
            out.append(parse_metrics(read_metrics_text(worker.server.api_base)))
        except httpx.HTTPError as exc:
            print(f"metrics of {worker.server.api_base} unreadable: {exc}", file=sys.stderr)
            out.append({})
    return out


def delta(after: list[dict[str, float]], before: list[dict[str, float]], name: str) -> list[float]:
    return [a.get(name, 0.0) - b.get(name, 0.0) for a, b in zip(after, before, strict=True)]


def run_arm(
    api_base: str,
    model: str,
    workers: list[ManagedServer],
    examples: list[dspy.Example],
    threads: int,
    args: Any,
) -> dict[str, Any]:
    latencies: list[float] = []
    program = Timed(latencies, threading.Lock())
    lm = lift_dspy.GuidanceLM(
        model, api_base=api_base, temperature=1.0, max_tokens=args.max_tokens, max_text_chars=40,
        cache=False, timeout=300,
    )  # fmt: skip
    parallel = dspy.Parallel(
        num_threads=threads,
        max_errors=len(examples) + 1,
        return_failed_examples=True,
        disable_progress_bar=True,
    )
    before = snapshot(workers)
    started = time.perf_counter()
    with dspy.context(lm=lm):
        results, failed, errors = parallel([(program, ex) for ex in examples])
    wall = time.perf_counter() - started
    after = snapshot(workers)
    hits = sum(delta(after, before, "vllm:prefix_cache_hits_total"))
    queries = sum(delta(after, before, "vllm:prefix_cache_queries_total"))
    generated = sum(delta(after, before, "vllm:generation_tokens_total"))
    return {
        "calls": len(examples),
        "valid": sum(r is not None for r in results),
        "failed": len(failed),
        "error_types": sorted({type(e).__name__ for e in errors}),
        "wall_s": wall,
        "latencies": latencies,
        "prefix_hits": hits,
        "prefix_queries": queries,
        "generated_tokens": generated,
        "requests_per_worker": delta(after, before, "vllm:request_success_total"),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = sorted(x for run in runs for x in run["latencies"])
    wall = sum(run["wall_s"] for run in runs)
    queries = sum(run["prefix_queries"] for run in runs)
    per_worker = [sum(col) for col in zip(*(run["requests_per_worker"] for run in runs), strict=True)]
    return {
        "calls": sum(run["calls"] for run in runs),
        "valid": sum(run["valid"] for run in runs),
        "errors": sorted({e for run in runs for e in run["error_types"]}),
        "prefix_cache_hit_rate": round(sum(run["prefix_hits"] for run in runs) / queries, 3)
        if queries
        else None,
        "p50_latency_s": round(statistics.median(latencies), 2) if latencies else None,
        "p95_latency_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        "generated_tokens_per_s": round(sum(run["generated_tokens"] for run in runs) / wall, 1)
        if wall
        else None,
        "calls_per_s": round(sum(run["calls"] for run in runs) / wall, 2) if wall else None,
        "requests_per_worker": per_worker,
        "wall_s": round(wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=48, help="calls per arm per round")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument(
        "--bind-cores",
        action="store_true",
        help="pin worker i to core i (VLLM_CPU_OMP_THREADS_BIND; vLLM CPU pins all to core 0 by default)",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "router.json"))
    args = parser.parse_args(argv)

    load_start = os.getloadavg()
    workers: list[ManagedServer] = []
    routers: dict[str, ManagedRouter] = {}
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    started = time.perf_counter()
    try:
        for index in range(2):
            env = (
                {"VLLM_CPU_OMP_THREADS_BIND": str(index % (os.cpu_count() or 1))} if args.bind_cores else None
            )
            workers.append(start_server(args.model, startup_timeout=900, env=env))
        model = workers[0].server.model
        urls = [w.server.api_base for w in workers]
        for policy in ("cache_aware", "round_robin"):
            routers[policy] = start_router(urls, model=model, policy=policy)
        bases = {"cache_aware": routers["cache_aware"].router.api_base,
                 "round_robin": routers["round_robin"].router.api_base,
                 "1 replica": urls[0]}  # fmt: skip
        for round_index in range(args.rounds):
            order = ARMS[round_index % 3 :] + ARMS[: round_index % 3]
            for arm in order:
                examples = workload(round_index, arm, args.calls)
                run = run_arm(bases[arm], model, workers, examples, args.threads, args)
                runs[arm].append(run)
                print(
                    f"round {round_index + 1} {arm:<12} {run['valid']}/{run['calls']} valid, "
                    f"{run['wall_s']:.1f} s, load {os.getloadavg()[0]:.1f}",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        for router in routers.values():
            router.stop()
        for worker in workers:
            worker.stop()
    summary = {
        "model": args.model,
        "rounds": args.rounds,
        "calls_per_arm_per_round": args.calls,
        "threads": args.threads,
        "bind_cores": args.bind_cores,
        "workload": "signatures/agent.py ClassifyIntent + ProposeToolCall, chat layout, temperature 1.0",
        "machine": {"cpus": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": os.getloadavg()},
        "total_s": round(time.perf_counter() - started, 1),
        "arms": {arm: summarize(arm_runs) for arm, arm_runs in runs.items()},
    }
    two = summary["arms"]
    if two["1 replica"]["generated_tokens_per_s"]:
        best = max(
            two["cache_aware"]["generated_tokens_per_s"] or 0,
            two["round_robin"]["generated_tokens_per_s"] or 0,
        )
        summary["throughput_2_vs_1_replicas"] = round(best / two["1 replica"]["generated_tokens_per_s"], 2)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
