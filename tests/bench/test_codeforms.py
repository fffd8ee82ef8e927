"""The code-form comparison (grammar-code vs json-parts) from journal records, and its sample plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from synthetic import journal_records, sample

from lift_dspy.bench.codeforms import code_form_summary, render_code_forms, wilson
from lift_dspy.bench.configs import Settings
from lift_dspy.bench.journal import Journal
from lift_dspy.bench.report import write_report
from lift_dspy.bench.runner import sample_keys
from lift_dspy.bench.suite import select_tasks


def _code(config: str, task: str, form: str, attempts: list[str], **extra: Any) -> dict[str, Any]:
    record = sample(config, task, ok=True, seconds=10.0, compiles=attempts[-1] == "ok", **extra)
    record.update(code_form=form, attempts=attempts, temperature=extra.get("index", 0) and 0.7)
    return record


def _records() -> list[dict[str, Any]]:
    return [
        *journal_records(),
        _code("lift-guidance", "rust/gcd", "grammar-code", ["ok"]),
        _code("lift-guidance", "rust/gcd", "grammar-code", ["other", "ok"], index=1),
        _code("lift-guidance", "go/word_count", "grammar-code", ["other", "other", "other"]),
        _code("lift-json-parts", "rust/gcd", "json-parts", ["syntax", "ok"]),
        _code("lift-json-parts", "rust/gcd", "json-parts", ["syntax", "syntax", "other"], index=1),
        _code("lift-json-parts", "go/word_count", "json-parts", ["ok"], error="TruncatedOutputError"),
    ]


def test_wilson_interval() -> None:
    assert wilson(0, 0) is None
    low, high = wilson(0, 10) or (1.0, 1.0)
    assert low == 0.0
    assert 0.27 < high < 0.28
    low, high = wilson(10, 10) or (0.0, 0.0)
    assert 0.72 < low < 0.73
    assert high == 1.0


def test_summary_per_arm_language_and_temperature() -> None:
    summary = code_form_summary(_records())
    grammar, parts = summary["arms"]["lift-guidance"], summary["arms"]["lift-json-parts"]
    assert (grammar["code_form"], parts["code_form"]) == ("grammar-code", "json-parts")
    assert grammar["all"]["compiles"]["k"] == 2
    assert grammar["all"]["compiles"]["n"] == 3
    assert grammar["all"]["compiles_first_try"]["k"] == 1
    assert grammar["all"]["syntax_error_attempts"] == 0
    assert parts["all"]["syntax_error_attempts"] == 3
    assert parts["all"]["samples_with_syntax_error"]["k"] == 2
    assert parts["all"]["truncations"] == 1
    assert set(grammar["by_language"]) == {"rust", "go"}
    assert list(grammar["by_temperature"]) == ["greedy", "t=0.7"]
    assert grammar["all"]["seconds_per_compiling_answer"] == 15.0  # 30 s over 2 compiling answers
    assert summary["run"]["model"] == "smollm2"
    lines = "\n".join(render_code_forms(summary))
    assert "| lift-guidance | grammar-code | 67% (2/3;" in lines
    assert "| lift-json-parts | json-parts |" in lines


def test_older_journals_count_the_lift_arms_by_configuration() -> None:
    # Records without a code_form (older journals, or failures before any code): the lift arms count
    # by their configuration; the other configurations are not code-form arms.
    arms = code_form_summary(journal_records())["arms"]
    assert list(arms) == ["lift-guidance"]
    assert arms["lift-guidance"]["code_form"] == "grammar-code"
    assert render_code_forms({"arms": {}}) == []


def test_report_writes_code_forms_json(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    for record in _records():
        journal.append(record)
    report = write_report(tmp_path, plots=False)
    assert "## Code forms: grammar-code vs json-parts" in report.read_text(encoding="utf-8")
    data = json.loads((tmp_path / "code_forms.json").read_text(encoding="utf-8"))
    assert set(data["arms"]) == {"lift-guidance", "lift-json-parts"}


def test_json_parts_arm_runs_code_tasks_only_and_greedy_samples_come_first() -> None:
    tasks = select_tasks(pattern="rust/gcd,intent/load")
    keys = sample_keys(("lift-guidance", "lift-json-parts"), tasks, 2)
    assert ("sample", "lift-json-parts", "intent/load", 0) not in keys
    assert ("sample", "lift-json-parts", "rust/gcd", 1) in keys
    settings = Settings(temperature=0.7, greedy_samples=1)
    assert settings.for_sample(0).temperature == 0.0
    assert settings.for_sample(1).temperature == 0.7


@pytest.mark.parametrize("config", ["lift-guidance", "lift-json-parts", "dspy-chat", "hand-rolled"])
def test_only_lift_guidance_writes_grammar_code(config: str) -> None:
    from lift_dspy.bench.configs import Endpoint, Session

    session = Session(config, Endpoint("http://x/v1", "m", "guidance"), Settings())  # type: ignore[arg-type]
    assert session.code_form == ("grammar-code" if config == "lift-guidance" else "json-parts")


def test_comparison_marks_significance_and_run_provenance() -> None:
    records = [
        *journal_records(),
        *[_code("lift-guidance", "rust/gcd", "grammar-code", ["ok"], index=i) for i in range(20)],
        *[_code("lift-json-parts", "rust/gcd", "json-parts", ["syntax"] * 3, index=i) for i in range(20)],
    ]
    records[0] = {**records[0], "provenance": {"commit": "abc", "dirty": False}, "started": 0.0}
    summary = code_form_summary(records)
    comparison = summary["comparison"]
    assert comparison["compile_rate_difference"]["difference"] > 0.9  # 20/21 vs 0/20
    assert comparison["compile_rate_difference"]["significant"] is True
    assert comparison["compile_rate_difference_by_language"]["rust"]["n"] == [20, 20]
    # json-parts never compiled: infinitely costly per compiling answer, ratio 0
    assert comparison["seconds_per_compiling_answer_ratio"]["ratio"] == 0.0
    assert summary["run"]["provenance"]["commit"] == "abc"
    assert summary["run"]["started_utc"] == "1970-01-01T00:00:00Z"
    assert "grammar-code minus json-parts" in "\n".join(render_code_forms(summary))
    # one form alone: nothing to compare
    assert code_form_summary(journal_records())["comparison"] == {}
