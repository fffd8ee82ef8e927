"""The code-form comparison: grammar-code vs json-parts, from journal records (pure, no I/O).

Per arm (a configuration whose code samples carry a ``code_form``), overall, per language and per
temperature: compile rate (final and first try) with Wilson 95% intervals, compile attempts the
compiler could not even parse (syntax errors: 0 is the grammar's promise), truncated answers,
output tokens per LM call, and wall seconds per compiling answer. ``comparison`` sets grammar-code
against json-parts: compile-rate differences with Newcombe 95% intervals (overall, per language,
per sampling) and the ratio of seconds per compiling answer with a bootstrap 95% interval, each
marked significant or not::

    >>> from lift_dspy.bench.codeforms import wilson
    >>> [round(x, 3) for x in wilson(5, 10)]
    [0.237, 0.763]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lift_dspy.bench.configs import code_form_of
from lift_dspy.bench.metrics import latest, run_window, utc
from lift_dspy.bench.stats import bootstrap_per_valid_ratio, rate, rate_difference, wilson

__all__ = ["code_form_summary", "compare_forms", "rate", "render_code_forms", "wilson"]

LANGUAGE_ORDER = ("typescript", "rust", "go", "java")
_LIFT_ARMS = ("lift-guidance", "lift-json-parts")


def _group(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    compiled = [r for r in records if r.get("compile_ok") is True]
    attempts: Counter[str] = Counter()
    for r in records:
        attempts.update(r.get("attempts") or [])
    first = sum(1 for r in records if (r.get("attempts") or [None])[0] == "ok")
    with_syntax = sum(1 for r in records if "syntax" in (r.get("attempts") or []))
    calls = sum(int(r.get("lm_calls") or 0) for r in records)
    tokens = sum(int(r.get("output_tokens") or 0) for r in records)
    truncated = sum(int((r.get("call_errors") or {}).get("TruncatedOutputError", 0)) for r in records)
    seconds = sum(float(r.get("seconds") or 0.0) for r in records)
    errors = Counter(str(r["error"]) for r in records if r.get("error"))
    return {
        "samples": len(records),
        "compiles": rate(len(compiled), len(records)),
        "compiles_first_try": rate(first, len(records)),
        "task_ok": rate(sum(1 for r in records if r.get("task_ok")), len(records)),
        "no_code": sum(1 for r in records if r.get("compile_ok") is None),
        "compile_attempts": sum(attempts.values()),
        "attempts": dict(sorted(attempts.items())),
        "syntax_error_attempts": attempts.get("syntax", 0),
        "samples_with_syntax_error": rate(with_syntax, len(records)),
        "truncations": truncated,
        "lm_calls": calls,
        "output_tokens_per_call": round(tokens / calls, 1) if calls else None,
        "output_tokens_per_sample": round(tokens / len(records), 1) if records else None,
        "seconds_per_sample": round(seconds / len(records), 2) if records else None,
        "seconds_per_compiling_answer": round(seconds / len(compiled), 2) if compiled else None,
        "repairs_per_sample": round(sum(int(r.get("repairs") or 0) for r in records) / len(records), 2)
        if records
        else None,
        "errors": dict(errors.most_common()),
    }


def _temperature(record: Mapping[str, Any]) -> str:
    t = record.get("temperature")
    return "greedy" if not t else f"t={float(t):g}"


def code_form_summary(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"run", "arms": {config: {"code_form", "all", "by_language", "by_temperature"}}, "comparison"}``.

    Code samples that carry a ``code_form`` count, and every code sample of ``lift-guidance`` and
    ``lift-json-parts`` (also those that failed before any code, e.g. at the IR step);
    ``run`` is the latest run's command, settings, provenance (commit, dirty tree), its time window
    and how many samples per arm it planned; ``comparison`` is :func:`compare_forms` (empty unless
    both forms have samples).
    """
    records = list(records)
    # Journals written before samples carried their form from the start: read it from the config.
    code = [
        {**r, "code_form": r.get("code_form") or code_form_of(str(r.get("config")))}
        for r in latest(records, "sample")
        if r.get("group") == "code" and (r.get("code_form") or r.get("config") in _LIFT_ARMS)
    ]
    arms: dict[str, Any] = {}
    for config in dict.fromkeys(str(r["config"]) for r in code):
        mine = [r for r in code if r["config"] == config]
        languages = [lang for lang in LANGUAGE_ORDER if any(r.get("family") == lang for r in mine)]
        temperatures = sorted({_temperature(r) for r in mine}, key=lambda t: (t != "greedy", t))
        arms[config] = {
            "code_form": mine[0]["code_form"],
            "tasks": len({r["task"] for r in mine}),
            "all": _group(mine),
            "by_language": {lang: _group([r for r in mine if r.get("family") == lang]) for lang in languages},
            "by_temperature": {t: _group([r for r in mine if _temperature(r) == t]) for t in temperatures},
        }
    runs = [r for r in records if r.get("kind") == "run"]
    run: dict[str, Any] = {}
    if runs:
        first = runs[-1]
        fingerprint = first.get("fingerprint") or {}
        code_tasks = [t for t in first.get("tasks") or [] if t.split("/")[0] in LANGUAGE_ORDER]
        run = {
            "command": first.get("command"),
            "model": fingerprint.get("model"),
            "settings": fingerprint.get("settings"),
            "workers": fingerprint.get("workers"),
            "samples_per_task": first.get("samples"),
            "code_tasks": len(code_tasks),
            "planned_samples_per_arm": len(code_tasks) * int(first.get("samples") or 0) or None,
            "provenance": first.get("provenance"),
            "versions": (first.get("machine") or {}).get("versions"),
            "cpus": (first.get("machine") or {}).get("cpus"),
        }
        if first.get("started") is not None:
            run["started_utc"] = utc(float(first["started"]))
    run.update(run_window(code))
    return {"run": run, "arms": arms, "comparison": compare_forms(code)}


def compare_forms(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """grammar-code minus json-parts, from code sample records that carry their ``code_form``.

    Compile-rate differences (grammar-code minus json-parts) with Newcombe 95% intervals, overall,
    per language and per sampling; ``seconds_per_compiling_answer_ratio`` is grammar-code's seconds
    per compiling answer over json-parts' (below 1: grammar-code is cheaper) with a bootstrap 95%
    interval. ``significant`` is true when the interval excludes 0 (differences) or 1 (the ratio).
    Empty when either form has no sample.
    """
    grammar = [r for r in records if r.get("code_form") == "grammar-code"]
    parts = [r for r in records if r.get("code_form") == "json-parts"]
    if not grammar or not parts:
        return {}

    def diff(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        ka = sum(1 for r in a if r.get("compile_ok") is True)
        kb = sum(1 for r in b if r.get("compile_ok") is True)
        return {"n": [len(a), len(b)], **rate_difference(ka, len(a), kb, len(b))}

    languages = [lang for lang in LANGUAGE_ORDER if any(r.get("family") == lang for r in records)]
    temperatures = sorted({_temperature(r) for r in records}, key=lambda t: (t != "greedy", t))
    return {
        "compile_rate_difference": diff(grammar, parts),
        "compile_rate_difference_by_language": {
            lang: diff(*[[r for r in form if r.get("family") == lang] for form in (grammar, parts)])
            for lang in languages
        },
        "compile_rate_difference_by_temperature": {
            t: diff(*[[r for r in form if _temperature(r) == t] for form in (grammar, parts)])
            for t in temperatures
        },
        "seconds_per_compiling_answer_ratio": bootstrap_per_valid_ratio(
            [(float(r.get("seconds") or 0.0), r.get("compile_ok") is True) for r in grammar],
            [(float(r.get("seconds") or 0.0), r.get("compile_ok") is True) for r in parts],
        ),
    }


def _pct(rate: Mapping[str, Any]) -> str:
    if not rate["n"]:
        return "–"
    low, high = rate["ci95"]
    return f"{rate['rate']:.0%} ({rate['k']}/{rate['n']}; {low:.0%}–{high:.0%})"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def render_code_forms(summary: Mapping[str, Any]) -> list[str]:
    """Markdown lines of the code-form comparison ([] when no arm has code samples)."""
    arms = summary.get("arms") or {}
    if not arms:
        return []
    lines = [
        "## Code forms: grammar-code vs json-parts",
        "",
        "Compile rates with Wilson 95% intervals. *Syntax* counts compile attempts the compiler could "
        "not parse (the grammar's promise is 0 for grammar-code); truncations are answers cut at "
        "`max_tokens`.",
        "",
        "| arm | form | compiles | first try | syntax-error attempts | other failed attempts | "
        "truncations | tokens/call | s/compiling answer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for config, arm in arms.items():
        a = arm["all"]
        other = a["attempts"].get("other", 0) + a["attempts"].get("timeout", 0)
        lines.append(
            f"| {config} | {arm['code_form']} | {_pct(a['compiles'])} | {_pct(a['compiles_first_try'])} | "
            f"{a['syntax_error_attempts']}/{a['compile_attempts']} | {other} | {a['truncations']} | "
            f"{_num(a['output_tokens_per_call'])} | {_num(a['seconds_per_compiling_answer'])} |"
        )
    lines += [
        "",
        "| arm | language | compiles | syntax-error attempts | truncations |",
        "|---|---|---|---|---|",
    ]
    for config, arm in arms.items():
        for lang, g in arm["by_language"].items():
            lines.append(
                f"| {config} | {lang} | {_pct(g['compiles'])} | "
                f"{g['syntax_error_attempts']}/{g['compile_attempts']} | {g['truncations']} |"
            )
    lines += ["", "| arm | sampling | compiles |", "|---|---|---|"]
    for config, arm in arms.items():
        for t, g in arm["by_temperature"].items():
            lines.append(f"| {config} | {t} | {_pct(g['compiles'])} |")
    comparison = summary.get("comparison") or {}
    if comparison:
        lines += [
            "",
            "grammar-code minus json-parts (Newcombe 95% interval; * = significant):",
            "",
            "| scope | compile-rate difference |",
            "|---|---|",
            f"| all | {_diff(comparison['compile_rate_difference'])} |",
        ]
        for scope in ("compile_rate_difference_by_language", "compile_rate_difference_by_temperature"):
            lines += [f"| {name} | {_diff(d)} |" for name, d in comparison[scope].items()]
        ratio = comparison["seconds_per_compiling_answer_ratio"]
        interval = ratio.get("ci95")
        lines += [
            "",
            f"Seconds per compiling answer, grammar-code / json-parts: {_num(ratio.get('ratio'))}"
            + (f" (bootstrap 95% {interval[0]:g}–{interval[1]:g})" if interval else "")
            + (" *" if ratio.get("significant") else "")
            + ".",
        ]
    return [*lines, ""]


def _diff(d: Mapping[str, Any]) -> str:
    if d.get("difference") is None:
        return "–"
    low, high = d["ci95"]
    star = " *" if d["significant"] else ""
    return f"{d['difference']:+.2f} [{low:+.2f}, {high:+.2f}]{star} (n {d['n'][0]} vs {d['n'][1]})"
