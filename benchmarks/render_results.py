"""Markdown tables for BENCHMARKS.md from the committed result JSONs (so the two always agree).

Usage:
    python benchmarks/render_results.py [benchmarks/results/fair_arms.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _ci(rate: dict[str, Any]) -> str:
    if not rate or rate.get("rate") is None:
        return "-"
    low, high = rate["ci95"]
    return f"{rate['k']}/{rate['n']} ({rate['rate']:.0%}, CI {low:.0%}-{high:.0%})"


def _ratio(r: dict[str, Any] | None) -> str:
    if not r or r.get("ratio") is None:
        return "-"
    if r.get("ci95") is None:
        return f"{r['ratio']}" + (" (arm: no valid answer)" if r.get("note") else "")
    star = " *" if r.get("significant") else ""
    return f"{r['ratio']:.2f} [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]{star}"


def fair_arms(data: dict[str, Any]) -> list[str]:
    """The fair-arms tables."""
    lines = [
        "| arm | valid (all) | valid (greedy) | valid (T=0.7) | s per valid answer | p50 s | p95 s | "
        "output tokens/answer | prompt tokens/call | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, s in data["arms"].items():
        errors = ", ".join(f"{k} {v}" for k, v in sorted(s["errors"].items())) or "-"
        lines.append(
            f"| `{arm}` | {_ci(s['valid'])} | {_ci(s['valid_greedy'])} | {_ci(s['valid_sampled'])} | "
            f"{s['seconds_per_valid'] if s['seconds_per_valid'] is not None else '∞'} | {s['p50_s']} | "
            f"{s['p95_s']} | {s['output_tokens_per_answer']} | {s['prompt_tokens_per_call']} | {errors} |"
        )
    lines += [
        "",
        "| `lift-guidance` vs | valid-rate difference [95% CI] | s per valid answer, ratio [95% CI] | "
        "p50 latency ratio [95% CI] |",
        "|---|---|---|---|",
    ]
    for arm, c in data["vs_lift-guidance"].items():
        d = c["valid_difference_vs_headline"]
        diff = (
            f"{d['difference']:+.2f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]"
            + (" *" if d["significant"] else "")
            if d["difference"] is not None
            else "-"
        )
        lines.append(
            f"| `{arm}` | {diff} | {_ratio(c['latency_per_valid_ratio_headline_over_arm'])} | "
            f"{_ratio(c['p50_latency_ratio_headline_over_arm'])} |"
        )
    return lines


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/fair_arms.json")
    print("\n".join(fair_arms(json.loads(path.read_text()))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
