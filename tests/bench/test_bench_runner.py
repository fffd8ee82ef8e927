"""Run planning, resume and interruption of `lift-dspy bench`, with a fake sample runner (no server)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import pytest
from dspy.utils.exceptions import LMError

from lift_dspy.bench import runner
from lift_dspy.bench.cli import add_parser, options_from_args
from lift_dspy.bench.configs import CONFIGS, Endpoint, Settings, configs_for_backend
from lift_dspy.bench.journal import Journal
from lift_dspy.bench.runner import BenchOptions, plan_phases, run_bench, sample_keys
from lift_dspy.bench.suite import Task, select_tasks


class FakeSampler:
    """Stands in for `run_sample`: records what ran, optionally interrupts at one task."""

    def __init__(self, interrupt_at: str | None = None) -> None:
        self.ran: list[tuple[str, str, int]] = []
        self.interrupt_at = interrupt_at

    def __call__(self, config: str, task: Task, sample: int, endpoint: Endpoint, settings: Settings) -> dict:
        if task.id == self.interrupt_at:
            raise KeyboardInterrupt
        self.ran.append((config, task.id, sample))
        return {
            "kind": "sample",
            "config": config,
            "task": task.id,
            "sample": sample,
            "family": "agent",
            "group": "agent",
            "structural_ok": True,
            "seconds": 1.0,
        }


def _options(tmp_path: Path, **kw: Any) -> BenchOptions:
    base: dict[str, Any] = {
        "out": tmp_path,
        "api_base": "http://127.0.0.1:1/v1",
        "server_backend": "guidance",
        "tasks": "intent/*",
        "throughput": False,
        "workers": 1,
    }
    base.update(kw)
    return BenchOptions(**base)


def test_configs_for_backend() -> None:
    stock = ("dspy-chat", "dspy-json", "dspy-json-schema", "hand-rolled")
    assert configs_for_backend("guidance") == ("lift-guidance", "lift-json-parts", "lift-free", *stock)
    # lift-free sends no constraint: it runs on any server, like stock DSPy
    assert configs_for_backend("xgrammar") == ("lift-free", "lift-xgrammar", *stock)
    assert configs_for_backend("none") == ("lift-free", *stock)


def test_managed_servers_run_guidance_then_xgrammar(tmp_path: Path) -> None:
    phases = plan_phases(BenchOptions(out=tmp_path))
    assert [(p.backend, p.configs, p.throughput) for p in phases] == [
        (
            "guidance",
            (
                "lift-guidance",
                "lift-json-parts",
                "lift-free",
                "dspy-chat",
                "dspy-json",
                "dspy-json-schema",
                "hand-rolled",
            ),
            True,
        ),
        ("xgrammar", ("lift-xgrammar",), False),
    ]
    only = plan_phases(BenchOptions(out=tmp_path, configs=("hand-rolled",)))
    assert [(p.backend, p.configs, p.throughput) for p in only] == [("guidance", ("hand-rolled",), False)]


def test_a_given_server_runs_only_what_works_on_it(tmp_path: Path) -> None:
    (phase,) = plan_phases(_options(tmp_path, server_backend=None), detected_backend="xgrammar")
    assert phase.configs == (
        "lift-free",
        "lift-xgrammar",
        "dspy-chat",
        "dspy-json",
        "dspy-json-schema",
        "hand-rolled",
    )
    assert not phase.throughput


def test_sample_keys_interleave_configurations_task_by_task() -> None:
    tasks = select_tasks(pattern="intent/load,intent/visualize")
    keys = sample_keys(("lift-guidance", "dspy-chat"), tasks, 2)
    assert keys[:4] == [
        ("sample", "lift-guidance", "intent/visualize", 0),
        ("sample", "dspy-chat", "intent/visualize", 0),
        ("sample", "lift-guidance", "intent/load", 0),
        ("sample", "dspy-chat", "intent/load", 0),
    ]
    assert len(keys) == 8


def test_rerun_does_only_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = FakeSampler()
    monkeypatch.setattr(runner, "run_sample", first)
    run_bench(_options(tmp_path, configs=("lift-guidance",)), stream=io.StringIO())
    assert len(first.ran) == 3  # three intent tasks

    second = FakeSampler()
    monkeypatch.setattr(runner, "run_sample", second)
    err = io.StringIO()
    report = run_bench(_options(tmp_path, configs=("lift-guidance", "dspy-chat")), stream=err)
    assert {c for c, _, _ in second.ran} == {"dspy-chat"}
    assert len(second.ran) == 3
    assert "3 results to run, 3 already" in err.getvalue()
    assert report.read_text().count("`dspy-chat`") >= 2

    third = FakeSampler()
    monkeypatch.setattr(runner, "run_sample", third)
    run_bench(_options(tmp_path, configs=("lift-guidance", "dspy-chat")), stream=io.StringIO())
    assert third.ran == []
    samples = [r for r in Journal(tmp_path).records() if r["kind"] == "sample"]
    assert len(samples) == 6


def test_interrupted_run_keeps_finished_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run_sample", FakeSampler(interrupt_at="intent/load"))
    with pytest.raises(KeyboardInterrupt):
        run_bench(_options(tmp_path, configs=("lift-guidance",)), stream=io.StringIO())
    done = {key[2] for key in Journal(tmp_path).done()}
    assert done == {"intent/visualize"}  # the task before the interruption; nothing after


def test_other_settings_need_another_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run_sample", FakeSampler())
    run_bench(_options(tmp_path, configs=("dspy-chat",)), stream=io.StringIO())
    with pytest.raises(ValueError, match="other settings"):
        run_bench(_options(tmp_path, settings=Settings(max_tokens=99)), stream=io.StringIO())


def test_throughput_rounds_are_planned_and_journaled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run_sample", FakeSampler())
    calls: list[int] = []

    def fake_throughput(endpoint: Endpoint, settings: Settings, journal: Journal, **kw: Any) -> None:
        calls.append(kw["concurrency"])
        for key in journal.missing(runner.throughput_keys(kw["concurrency"], kw["rounds"])):
            journal.append(
                {"kind": key[0], "config": key[1], "task": key[2], "sample": key[3], "seconds": 1.0}
            )
            kw["on_record"](key[1])

    monkeypatch.setattr(runner, "run_throughput", fake_throughput)
    options = _options(tmp_path, configs=("lift-guidance",), throughput=True, concurrency=4, rounds=2)
    run_bench(options, stream=io.StringIO())
    run_bench(options, stream=io.StringIO())  # all done: no second throughput run
    assert calls == [4]
    rounds = [r for r in Journal(tmp_path).records() if r["kind"] == "throughput"]
    assert [(r["config"], r["sample"]) for r in rounds] == [
        ("lift-guidance", 0),
        ("raw-httpx", 0),
        ("raw-httpx", 1),
        ("lift-guidance", 1),
    ]


def test_cli_options(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["bench", "--quick", "--configs", "hand-rolled,lift-guidance"])
    options = options_from_args(args)
    assert options.quick
    assert options.out == Path("bench-out/quick")
    assert options.configs == ("lift-guidance", "hand-rolled")  # canonical order
    assert (options.concurrency, options.rounds) == (8, 1)
    full = options_from_args(parser.parse_args(["bench", "--out", str(tmp_path)]))
    assert full.configs == CONFIGS
    assert (full.concurrency, full.rounds) == (16, 3)
    with pytest.raises(ValueError, match="unknown configuration"):
        options_from_args(parser.parse_args(["bench", "--configs", "dspy-xml"]))


def test_quick_covers_every_language_and_agent_kind() -> None:
    tasks = select_tasks(quick=True)
    assert [t.id.split("/")[0] for t in tasks] == [
        "typescript",
        "rust",
        "go",
        "java",
        "intent",
        "plan",
        "tool_call",
    ]
    with pytest.raises(ValueError, match="matches no task"):
        select_tasks(pattern="cobol/*")


@pytest.mark.parametrize(
    ("exc", "unexpected"),
    [(AttributeError("no attribute 'pinned'"), True), (ValueError("bad"), True), (LMError("down"), False)],
)
def test_run_sample_flags_exceptions_that_are_not_measured_failures(
    monkeypatch: pytest.MonkeyPatch, exc: Exception, unexpected: bool
) -> None:
    from lift_dspy.bench import suite

    def boom(self: object, task: object) -> None:
        raise exc

    monkeypatch.setattr(suite.Session, "agent", boom)
    (task,) = select_tasks(pattern="intent/load")
    record = suite.run_sample("dspy-chat", task, 0, Endpoint("http://x/v1", "m", "guidance"), Settings())
    assert record["structural_ok"] is False
    assert record["error"] == type(exc).__name__
    assert record["unexpected"] is unexpected
    assert record["lm_calls"] == 0


def test_cli_exits_1_when_a_sample_hit_a_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = Journal(tmp_path)
    journal.append(
        {"kind": "sample", "config": "hand-rolled", "task": "rust/gcd", "sample": 0, "seconds": 1.0}
    )
    monkeypatch.setattr(runner, "run_bench", lambda options: tmp_path / "report.md")
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["bench", "--out", str(tmp_path)])
    assert args.handler(args) == 0
    journal.append(
        {
            "kind": "sample",
            "config": "hand-rolled",
            "task": "go/gcd",
            "sample": 0,
            "error": "AttributeError",
            "unexpected": True,
        }
    )
    assert args.handler(args) == 1
    assert "unexpected AttributeError in hand-rolled go/gcd" in capsys.readouterr().err
