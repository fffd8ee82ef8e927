"""The compact, committable summary of a ``lift-dspy bench`` run (pure: journal records in, a dict out).

``lift-dspy bench report DIR`` writes it as ``DIR/summary.json``; BENCHMARKS.md quotes it from
``benchmarks/results/``. Per configuration: structural, compile and task-check rates with Wilson 95%
intervals (overall and greedy vs sampled), seconds per valid answer. Against ``lift-guidance``:
rate differences with Newcombe 95% intervals and seconds per valid answer as a ratio with a
percentile-bootstrap 95% interval, each marked significant or not. ``run``: the command, settings,
provenance (commit, dirty tree, versions, machine), time window and load.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lift_dspy.bench.configs import CONFIGS, HEADLINE
from lift_dspy.bench.metrics import latest, run_window, utc
from lift_dspy.bench.stats import bootstrap_per_valid_ratio, rate, rate_difference

__all__ = ["suite_summary"]

_RATES = ("structural_ok", "compile_ok", "task_ok")


def _counts(rows: Sequence[Mapping[str, Any]], field: str) -> tuple[int, int]:
    if field == "compile_ok":
        rows = [r for r in rows if r.get("group") == "code"]
    return sum(1 for r in rows if r.get(field) is True), len(rows)


def _config(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    greedy = [r for r in rows if not r.get("temperature")]
    sampled = [r for r in rows if r.get("temperature")]
    seconds = sum(float(r.get("seconds") or 0.0) for r in rows)
    valid = sum(1 for r in rows if r.get("structural_ok") is True)
    out: dict[str, Any] = {"samples": len(rows), "tasks": len({r.get("task") for r in rows})}
    for field in _RATES:
        out[field.removesuffix("_ok")] = rate(*_counts(rows, field))
    out["structural_greedy"] = rate(*_counts(greedy, "structural_ok"))
    out["structural_sampled"] = rate(*_counts(sampled, "structural_ok"))
    out["seconds_per_valid"] = round(seconds / valid, 2) if valid else None
    out["output_tokens_per_sample"] = (
        round(sum(int(r.get("output_tokens") or 0) for r in rows) / len(rows), 1) if rows else None
    )
    errors: dict[str, int] = {}
    for r in rows:
        if r.get("error"):
            errors[str(r["error"])] = errors.get(str(r["error"]), 0) + 1
    out["errors"] = dict(sorted(errors.items(), key=lambda kv: -kv[1]))
    return out


def _versus(head: Sequence[Mapping[str, Any]], other: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in _RATES:
        k0, n0 = _counts(head, field)
        k1, n1 = _counts(other, field)
        out[field.removesuffix("_ok") + "_difference"] = rate_difference(k0, n0, k1, n1)
    out["seconds_per_valid_ratio"] = bootstrap_per_valid_ratio(
        [(float(r.get("seconds") or 0.0), r.get("structural_ok") is True) for r in head],
        [(float(r.get("seconds") or 0.0), r.get("structural_ok") is True) for r in other],
    )
    return out


def suite_summary(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"run", "configs": {name: {...}}, "vs_lift-guidance": {name: {...}}}`` from journal records.

    Differences are ``lift-guidance`` minus the configuration (positive: lift-dspy does better);
    ``seconds_per_valid_ratio`` is ``lift-guidance``'s seconds per valid answer over the
    configuration's (below 1: lift-dspy is cheaper per usable answer).
    """
    records = list(records)
    samples = latest(records, "sample")
    names: list[str] = [c for c in CONFIGS if any(r.get("config") == c for r in samples)]
    names += sorted({str(r.get("config")) for r in samples} - set(names))
    by_config = {n: [r for r in samples if r.get("config") == n] for n in names}
    head = by_config.get(HEADLINE) or []
    runs = [r for r in records if r.get("kind") == "run"]
    run: dict[str, Any] = {}
    if runs:
        last = runs[-1]
        fingerprint = last.get("fingerprint") or {}
        run = {
            "command": last.get("command"),
            "runs_in_journal": len(runs),
            "model": fingerprint.get("model"),
            "settings": fingerprint.get("settings"),
            "workers": fingerprint.get("workers"),
            "samples_per_task": last.get("samples"),
            "tasks": last.get("tasks"),
            "provenance": last.get("provenance"),
        }
        if runs[0].get("started") is not None:
            run["started_utc"] = utc(float(runs[0]["started"]))
    run.update(run_window(samples))
    return {
        "run": run,
        "configs": {n: _config(rows) for n, rows in by_config.items()},
        "vs_" + HEADLINE: {n: _versus(head, rows) for n, rows in by_config.items() if n != HEADLINE and head},
    }
