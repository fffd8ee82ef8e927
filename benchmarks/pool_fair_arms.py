"""Pool several ``benchmarks/fair_arms.py`` runs into one summary (``fair_arms_all.json``).

Usage:
    python benchmarks/pool_fair_arms.py bench-out/fair_arms bench-out/fair_arms_rest \\
        --runs benchmarks/results/fair_arms.json benchmarks/results/fair_arms_rest.json \\
        --summary benchmarks/results/fair_arms_all.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _fair_arms() -> Any:
    sys.path.insert(0, str(HERE.parent / "tests"))
    spec = importlib.util.spec_from_file_location("fair_arms", HERE / "fair_arms.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("outs", nargs="+", type=Path, help="--out directories of the runs (calls.jsonl)")
    parser.add_argument("--runs", nargs="+", type=Path, required=True, help="the runs' summary JSONs")
    parser.add_argument("--summary", type=Path, default=Path("benchmarks/results/fair_arms_all.json"))
    args = parser.parse_args()
    fair = _fair_arms()
    rows = [json.loads(line) for out in args.outs for line in (out / "calls.jsonl").read_text().splitlines()]
    runs = [json.loads(p.read_text()) for p in args.runs]
    pooled = fair.summarize(rows, list(fair.ARMS))
    counters: dict[str, float] = {}
    for run in runs:
        for key, value in (run.get("speculative_decoding") or {}).get("ngram_counters", {}).items():
            counters[key] = counters.get(key, 0.0) + value
    answers = sum(1 for r in rows if r["arm"] == "lift-ngram")
    drafted = counters.get("vllm:spec_decode_num_draft_tokens_total", 0.0)
    accepted = counters.get("vllm:spec_decode_num_accepted_tokens_total", 0.0)
    result = {
        "benchmark": "fair_arms (runs pooled)",
        "command": "python benchmarks/pool_fair_arms.py " + " ".join(sys.argv[1:]),
        "runs": {
            str(p.name): {
                "command": run["command"],
                "commit": run["provenance"]["commit"],
                "dirty_files": run["provenance"]["dirty_files"],
                "load": run["load_average_during"],
            }
            for p, run in zip(args.runs, runs, strict=True)
        },
        "tasks": [t for run in runs for t in run["settings"]["tasks"]],
        "samples_per_arm_task": runs[0]["settings"]["samples_per_arm_task"],
        **pooled,
        "speculative_decoding": {
            "ngram_counters": counters,
            "acceptance_rate": round(accepted / drafted, 4) if drafted else None,
            "forward_passes_per_answer_ngram": (
                round((counters.get("vllm:generation_tokens_total", 0.0) - accepted) / answers, 1)
                if answers
                else None
            ),
            "forward_passes_per_answer_plain": pooled["arms"]
            .get("lift-guidance", {})
            .get("output_tokens_per_answer"),
        },
    }
    args.summary.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{len(rows)} answers pooled into {args.summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
