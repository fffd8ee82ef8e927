"""lift-dspy against the strongest stock-DSPy and hand-rolled baselines, with intervals (issue 15).

Arms (all `dspy.Predict(signature)` over the 16 signatures of the test zoo, except hand-rolled):

================  ==================================================================  =================
arm               client                                                              server
================  ==================================================================  =================
lift-guidance     GuidanceLM, ChatAdapter, max_text_chars                             guidance
lift-json         GuidanceLM, JSONAdapter, max_text_chars                             guidance
lift-free         GuidanceLM(constrain=False), ChatAdapter: sends what stock DSPy      guidance
                  sends (no schema, no capability claim)
dspy-chat         stock dspy.LM("openai/<model>"), ChatAdapter                        guidance
dspy-json         stock dspy.LM("openai/<model>"), JSONAdapter (DSPy knows nothing     guidance
                  about the model: no response_format)
dspy-json-schema  stock dspy.LM on a provider declared with                           guidance
                  dspy.lm15.register_provider(..., supports=ModelSupport(
                  response_schema=True)): JSONAdapter sends a strict json_schema
hand-rolled       openai client, response_format json_schema of the Pydantic model     guidance
lift-ngram        as lift-guidance, on a second guidance server with vLLM's n-gram     guidance+ngram
                  prompt-lookup speculative decoding
lift-xgrammar     GuidanceLM(backend="xgrammar"), JSONAdapter, max_text_chars         xgrammar
lift-trimmed      as lift-guidance with trim_prompt=True (no JSON Schema notes on       guidance
                  output fields in the system message)
lift-json-trimmed as lift-json with trim_prompt=True                                  guidance
lift-loose        as lift-guidance on benchmarks/loose_zoo.py (the zoo without the      guidance
                  user's list/map bounds): bounds derived from max_tokens (default)
lift-loose-       the same with derive_bounds=False: nothing stops a list before        guidance
unbounded         max_tokens
================  ==================================================================  =================

The servers are started one after another and stay up together; every arm runs task by task,
interleaved (all arms see the same machine state). Sample 0 of each (arm, task) is greedy, the rest
at ``--temperature``. Same max_tokens everywhere; max_text_chars where the client can express it.
Writes every call to ``<out>/calls.jsonl`` and the summary (rates with Wilson intervals, latency
ratios with bootstrap intervals, significance, provenance) to ``--summary``.

Usage:
    python benchmarks/fair_arms.py --samples 4 --summary benchmarks/results/fair_arms.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dspy
import httpx

import lift_dspy
from lift_dspy.bench.calls import CallLog, CallRecorder, UsageTransport
from lift_dspy.bench.handrolled import HandRolledPredict
from lift_dspy.bench.stats import (
    bootstrap_per_valid_ratio,
    bootstrap_ratio,
    load_average,
    percentile,
    provenance,
    rate,
    rate_difference,
)
from lift_dspy.bench.stock import declared_lm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from loose_zoo import LOOSE
from zoo import INPUTS, ZOO

NGRAM = {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4, "prompt_lookup_min": 2}
ARMS = (
    "lift-guidance",
    "lift-json",
    "lift-free",
    "dspy-chat",
    "dspy-json",
    "dspy-json-schema",
    "hand-rolled",
    "lift-ngram",
    "lift-xgrammar",
    "lift-trimmed",
    "lift-json-trimmed",
    "lift-loose",
    "lift-loose-unbounded",
)
SERVER = {arm: "guidance" for arm in ARMS} | {"lift-ngram": "ngram", "lift-xgrammar": "xgrammar"}
HEADLINE = "lift-guidance"


class TextTransport(UsageTransport):
    """:class:`UsageTransport` that also keeps each answer's text (for the forced-token share)."""

    def __init__(self, log: CallLog) -> None:
        super().__init__(log)
        self.texts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward the request; keep the answer's text."""
        response = super().handle_request(request)
        with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
            self.texts.append(json.loads(response.content)["choices"][0]["message"]["content"])
        return response


def run_call(
    arm: str, name: str, sample: int, api_base: str, model: str, args: argparse.Namespace
) -> dict[str, Any]:
    """One answer of one arm: validity, wall seconds, tokens, the error class."""
    signature = LOOSE.get(name, ZOO[name]) if arm.startswith("lift-loose") else ZOO[name]
    temperature = 0.0 if sample == 0 else args.temperature
    common: dict[str, Any] = {
        "temperature": temperature,
        "max_tokens": args.max_tokens,
        "cache": False,
        "num_retries": 0,
    }
    log = CallLog()
    lms: list[Any] = []
    adapter: dspy.Adapter = dspy.ChatAdapter()
    transport = TextTransport(log)
    if arm.startswith("lift-"):
        lm: Any = lift_dspy.GuidanceLM(
            model,
            api_base=api_base,
            timeout=args.timeout,
            constrain=arm != "lift-free",
            max_text_chars=None if arm == "lift-free" else args.max_text_chars,
            backend="xgrammar" if arm == "lift-xgrammar" else "guidance",
            derive_bounds=arm != "lift-loose-unbounded",
            trim_prompt=arm.endswith("-trimmed"),
            transport=transport,
            **common,
        )
        if arm in ("lift-json", "lift-xgrammar", "lift-json-trimmed"):
            adapter = dspy.JSONAdapter()
    elif arm == "dspy-json-schema":
        lm = declared_lm(model, api_base, **common)
        lms.append(lm)
        adapter = dspy.JSONAdapter()
    elif arm in ("dspy-chat", "dspy-json"):
        lm = dspy.LM(f"openai/{model}", api_base=api_base, api_key="x", **common)
        lms.append(lm)
        if arm == "dspy-json":
            adapter = dspy.JSONAdapter()
    start = time.perf_counter()
    error = None
    try:
        if arm == "hand-rolled":
            import openai

            client = openai.OpenAI(base_url=api_base, api_key="x", max_retries=0, timeout=args.timeout)
            prediction = HandRolledPredict(
                signature, client, model, temperature=temperature, max_tokens=args.max_tokens, log=log
            )(**INPUTS[name])
        else:
            with dspy.context(lm=lm, adapter=adapter, callbacks=[CallRecorder(log)]):
                prediction = dspy.Predict(signature)(**INPUTS[name], config={"rollout_id": sample})
        lift_dspy.output_model(signature).model_validate({k: prediction[k] for k in signature.output_fields})
        ok = True
    except Exception as exc:
        ok, error = False, type(exc).__name__
    seconds = time.perf_counter() - start
    for stock in lms:
        for entry in stock.history:
            usage = entry.get("usage") or {}
            log.add_usage(int(usage.get("completion_tokens") or 0), int(usage.get("prompt_tokens") or 0))
    totals = log.totals()
    return {
        "arm": arm,
        "task": name,
        "sample": sample,
        "temperature": temperature,
        "ok": ok,
        "error": error,
        "seconds": seconds,
        "lm_calls": totals["lm_calls"],
        "output_tokens": totals["output_tokens"],
        "prompt_tokens": totals["prompt_tokens"],
        "call_errors": totals["call_errors"],
        "texts": transport.texts,
        "finished": time.time(),
    }


def metrics(api_base: str) -> dict[str, float]:
    """vLLM's counters (``/metrics``) that the n-gram comparison needs, summed over labels."""
    wanted = (
        "vllm:generation_tokens_total",
        "vllm:spec_decode_num_drafts_total",
        "vllm:spec_decode_num_draft_tokens_total",
        "vllm:spec_decode_num_accepted_tokens_total",
        "vllm:request_success_total",
    )
    out: dict[str, float] = dict.fromkeys(wanted, 0.0)
    try:
        text = httpx.get(api_base.removesuffix("/v1").rstrip("/") + "/metrics", timeout=30).text
    except httpx.HTTPError:
        return out
    for line in text.splitlines():
        for name in wanted:
            if line.startswith(name + "{") or line.startswith(name + " "):
                out[name] += float(line.rsplit(" ", 1)[1])
    return out


@contextlib.contextmanager
def servers(args: argparse.Namespace, wanted: set[str], notes: dict[str, Any]) -> Iterator[dict[str, str]]:
    """Start the servers the arms need, one after another; yield ``{kind: api_base}``."""
    if args.api_base:
        yield dict.fromkeys(("guidance", "ngram", "xgrammar"), args.api_base)
        return
    from lift_dspy.server.process import start_server

    started: list[Any] = []
    bases: dict[str, str] = {}
    try:
        for kind in ("guidance", "ngram", "xgrammar"):
            if kind not in wanted:
                continue
            t0 = time.perf_counter()
            try:
                managed = start_server(
                    args.model,
                    backend="xgrammar" if kind == "xgrammar" else "guidance",
                    max_model_len=args.max_model_len,
                    structured_outputs={"disable_any_whitespace": True} if kind == "xgrammar" else None,
                    extra_args=["--speculative-config", json.dumps(NGRAM)] if kind == "ngram" else (),
                    log_path=Path(args.out) / f"vllm-{kind}.log",
                )
            except Exception as exc:  # one server failing leaves the others' arms to run
                notes[f"{kind}_server_error"] = f"{type(exc).__name__}: {exc}"[:500]
                print(f"{kind} server did not start: {exc}", file=sys.stderr)
                continue
            started.append(managed)
            bases[kind] = managed.server.api_base
            notes[f"{kind}_server_start_s"] = round(time.perf_counter() - t0, 1)
            print(f"{kind} server up in {notes[f'{kind}_server_start_s']} s", file=sys.stderr)
        model = started[0].server.model if started else args.model
        args.served_model = model
        yield bases
    finally:
        for managed in reversed(started):
            managed.stop()


def summarize(records: list[dict[str, Any]], arms: list[str]) -> dict[str, Any]:
    """Rates with Wilson intervals, latency per valid answer, ratios with bootstrap intervals."""
    out: dict[str, Any] = {}
    by_arm = {arm: [r for r in records if r["arm"] == arm] for arm in arms}
    for arm, rows in by_arm.items():
        if not rows:
            continue
        greedy = [r for r in rows if r["temperature"] == 0.0]
        sampled = [r for r in rows if r["temperature"] != 0.0]
        seconds = [r["seconds"] for r in rows]
        valid = [r for r in rows if r["ok"]]
        errors: dict[str, int] = {}
        for r in rows:
            if r["error"]:
                errors[r["error"]] = errors.get(r["error"], 0) + 1
        out[arm] = {
            "valid": rate(len(valid), len(rows)),
            "valid_greedy": rate(sum(r["ok"] for r in greedy), len(greedy)),
            "valid_sampled": rate(sum(r["ok"] for r in sampled), len(sampled)),
            "seconds_total": round(sum(seconds), 1),
            "seconds_per_valid": round(sum(seconds) / len(valid), 2) if valid else None,
            "p50_s": round(percentile(seconds, 50) or 0, 2),
            "p95_s": round(percentile(seconds, 95) or 0, 2),
            "output_tokens_per_answer": round(statistics.fmean(r["output_tokens"] for r in rows), 1),
            "prompt_tokens_per_call": round(
                sum(r["prompt_tokens"] for r in rows) / max(1, sum(r["lm_calls"] or 1 for r in rows)), 1
            ),
            "output_tokens_per_s": round(sum(r["output_tokens"] for r in rows) / sum(seconds), 2),
            "errors": errors,
        }
    head = by_arm.get(HEADLINE) or []
    comparisons: dict[str, Any] = {}
    if head:
        k0, n0 = sum(r["ok"] for r in head), len(head)
        for arm, rows in by_arm.items():
            if arm == HEADLINE or not rows:
                continue
            k, n = sum(r["ok"] for r in rows), len(rows)
            comparisons[arm] = {
                "valid_difference_vs_headline": rate_difference(k0, n0, k, n),
                # seconds per valid answer = mean seconds / valid rate; bootstrapped over samples
                "latency_per_valid_ratio_headline_over_arm": _per_valid_ratio(head, rows),
                "p50_latency_ratio_headline_over_arm": bootstrap_ratio(
                    [r["seconds"] for r in head], [r["seconds"] for r in rows], statistic=statistics.median
                ),
            }
    return {"arms": out, "vs_" + HEADLINE: comparisons}


def _per_valid_ratio(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    return bootstrap_per_valid_ratio(
        [(r["seconds"], r["ok"]) for r in a], [(r["seconds"], r["ok"]) for r in b]
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--api-base", help="use this server for every arm (no managed servers)")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--tasks", help="comma-separated zoo signature names (default: all 16)")
    parser.add_argument("--samples", type=int, default=4, help="per (arm, task); sample 0 is greedy")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--max-text-chars", type=int, default=200)
    parser.add_argument("--max-model-len", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", default="bench-out/fair_arms")
    parser.add_argument("--summary", default="benchmarks/results/fair_arms.json")
    args = parser.parse_args()
    arms = [a for a in args.arms.split(",") if a]
    unknown = set(arms) - set(ARMS)
    if unknown:
        parser.error(f"unknown arms {sorted(unknown)}; choose from {', '.join(ARMS)}")
    tasks = args.tasks.split(",") if args.tasks else sorted(ZOO)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    notes: dict[str, Any] = {}
    before = provenance()
    records: list[dict[str, Any]] = []
    loads: list[list[float] | None] = [load_average()]
    started = time.time()
    with servers(args, {SERVER[a] for a in arms}, notes) as bases:
        model = getattr(args, "served_model", args.model)
        live = [a for a in arms if SERVER[a] in bases]
        notes["arms_skipped"] = [a for a in arms if a not in live]
        counters_before = {kind: metrics(base) for kind, base in bases.items()}
        jobs = [(arm, t, s) for s in range(args.samples) for t in tasks for arm in live]
        journal = open(Path(args.out) / "calls.jsonl", "a")  # noqa: SIM115 - closed below
        done = 0
        lock = threading.Lock()

        def work(job: tuple[str, str, int]) -> None:
            nonlocal done
            record = run_call(job[0], job[1], job[2], bases[SERVER[job[0]]], model, args)
            with lock:
                records.append(record)
                journal.write(json.dumps(record) + "\n")
                journal.flush()
                done += 1
                if done % 20 == 0:
                    loads.append(load_average())
                    print(f"{done}/{len(jobs)} load {loads[-1]}", file=sys.stderr, flush=True)

        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            for future in [pool.submit(work, job) for job in jobs]:
                future.result()
        journal.close()
        counters_after = {kind: metrics(base) for kind, base in bases.items()}
    loads.append(load_average())
    summary = summarize(records, live)
    spec: dict[str, Any] = {}
    if "ngram" in bases:
        d = {k: counters_after["ngram"][k] - counters_before["ngram"][k] for k in counters_after["ngram"]}
        answers = sum(1 for r in records if r["arm"] == "lift-ngram")
        generated = d["vllm:generation_tokens_total"]
        accepted = d["vllm:spec_decode_num_accepted_tokens_total"]
        plain = [r for r in records if r["arm"] == HEADLINE]
        spec = {
            "ngram_counters": d,
            "acceptance_rate": round(accepted / d["vllm:spec_decode_num_draft_tokens_total"], 4)
            if d["vllm:spec_decode_num_draft_tokens_total"]
            else None,
            # each forward pass emits one token plus the drafts it accepted
            "forward_passes_per_answer_ngram": (
                round((generated - accepted) / answers, 1) if answers else None
            ),
            "forward_passes_per_answer_plain": round(statistics.fmean(r["output_tokens"] for r in plain), 1)
            if plain
            else None,
            "note": "the ngram server served only lift-ngram, so its counters are that arm's; on the plain "
            "server each forward pass emits one token (forward passes = output tokens)",
        }
    result = {
        "benchmark": "fair_arms",
        "command": "python benchmarks/fair_arms.py " + " ".join(sys.argv[1:]),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_s": round(time.time() - started, 1),
        "provenance": before,
        "load_average_during": {
            "first": loads[0],
            "last": loads[-1],
            "max_1min": max((x[0] for x in loads if x), default=None),
            "min_1min": min((x[0] for x in loads if x), default=None),
        },
        "settings": {
            "model": args.model,
            "tasks": tasks,
            "samples_per_arm_task": args.samples,
            "greedy_samples": 1,
            "temperature": args.temperature,
            "max_tokens": args.max_tokens,
            "max_text_chars": args.max_text_chars,
            "max_text_chars_arms": [a for a in live if a.startswith("lift-") and a != "lift-free"],
            "workers": args.workers,
            "max_model_len": args.max_model_len,
            "ngram": NGRAM,
        },
        "notes": notes,
        **summary,
        "speculative_decoding": spec,
    }
    Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
    Path(args.summary).write_text(json.dumps(result, indent=1) + "\n")
    print(render(result))
    return 0


def render(result: dict[str, Any]) -> str:
    """A plain-text table of the summary."""
    head = f"{'arm':17} {'valid':>8} {'95% CI':>14} {'s/valid':>8} {'p50 s':>7} {'p95 s':>7} {'out tok':>8}"
    lines = [head]
    fmt: Callable[[Any], str] = lambda v: "-" if v is None else f"{v}"  # noqa: E731
    for arm, s in result["arms"].items():
        v = s["valid"]
        ci = f"[{v['ci95'][0]:.2f},{v['ci95'][1]:.2f}]" if v["ci95"] else "-"
        lines.append(
            f"{arm:17} {v['k']:>3}/{v['n']:<4} {ci:>14} {fmt(s['seconds_per_valid']):>8} {s['p50_s']:>7} "
            f"{s['p95_s']:>7} {s['output_tokens_per_answer']:>8}"
        )
    for arm, c in result["vs_" + HEADLINE].items():
        d, lat = c["valid_difference_vs_headline"], c["latency_per_valid_ratio_headline_over_arm"]
        lines.append(
            f"{HEADLINE} vs {arm}: valid diff {d['difference']} {d['ci95']} sig={d['significant']}; "
            f"s/valid ratio {lat.get('ratio')} {lat.get('ci95')} sig={lat.get('significant')}"
        )
    if result.get("speculative_decoding"):
        lines.append(json.dumps({k: v for k, v in result["speculative_decoding"].items() if k != "note"}))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
