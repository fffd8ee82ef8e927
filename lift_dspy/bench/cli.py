"""``lift-dspy bench``: run or resume the benchmark, and ``lift-dspy bench report DIR``.

    lift-dspy bench [--quick] [--out DIR] [--model NAME] [--api-base URL]
    lift-dspy bench report DIR

Registered in ``lift_dspy.cli.SUBCOMMANDS`` as ``"lift_dspy.bench.cli:add_parser"``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["add_parser", "options_from_args"]

_EPILOG = """\
Results are appended to DIR/journal.jsonl as they complete; rerunning with the same --out does
only what is missing. DIR/report.md and the plots are rewritten at the end of every run, or with
`lift-dspy bench report DIR`. Exit status 1 if a sample ended on an exception that is not an LM,
parse or validation error (a bug, not a model failure): usable as a CI smoke step with --quick.
"""


def add_parser(subparsers: Any) -> None:
    """Register ``lift-dspy bench`` (and its ``report`` subcommand); imports nothing heavy."""
    p = subparsers.add_parser(
        "bench",
        help="benchmark lift-dspy against stock DSPy and hand-rolled clients",
        description="Run the IR-to-code and agent task suites through eight client configurations on "
        "the same model (starting and stopping the vLLM servers they need), plus a throughput test "
        "under concurrency; write a journal, report.md and plots.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="a few tasks per configuration (CI smoke run)")
    p.add_argument(
        "--out", default=None, help="results directory (default: bench-out/full or bench-out/quick)"
    )
    p.add_argument("--model", default="smollm2", help="model to serve, or the served name with --api-base")
    p.add_argument(
        "--api-base", default=None, help="use this server (only the configurations it supports run)"
    )
    p.add_argument(
        "--server-backend",
        choices=("guidance", "xgrammar", "none"),
        default=None,
        help="with --api-base: its structured-output backend (default: probed)",
    )
    p.add_argument(
        "--configs",
        default=None,
        help="comma-separated subset of lift-guidance, lift-json-parts, lift-xgrammar, dspy-chat, "
        "dspy-json, hand-rolled (default: all six)",
    )
    p.add_argument("--tasks", default=None, help="task id patterns, e.g. 'rust/*,intent/*'")
    p.add_argument("--samples", type=int, default=1, help="samples per (configuration, task) (default: 1)")
    p.add_argument("--workers", type=int, default=16, help="samples in flight at once (default: 16)")
    p.add_argument("--concurrency", type=int, default=None, help="calls per round (default: 16; quick: 8)")
    p.add_argument("--rounds", type=int, default=None, help="rounds per side (default: 3; quick: 1)")
    p.add_argument("--no-throughput", action="store_true", help="skip the concurrency test")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument(
        "--greedy-samples",
        type=int,
        default=0,
        help="the first N samples of each task run greedy, the rest at --temperature (default: 0)",
    )
    p.add_argument("--max-tokens", type=int, default=512, help="per LM call (default: 512)")
    p.add_argument("--max-text-chars", type=int, default=300, help="lift-dspy text bound (default: 300)")
    p.add_argument("--max-repairs", type=int, default=2, help="repair rounds per code task (default: 2)")
    p.add_argument("--max-model-len", type=int, default=4096, help="managed servers' context (default: 4096)")
    p.set_defaults(handler=_run_bench)
    sub = p.add_subparsers(dest="bench_command", metavar="{report}")
    report = sub.add_parser(
        "report", help="write DIR/report.md, plots and summary.json from DIR/journal.jsonl"
    )
    report.add_argument("dir", help="a benchmark results directory")
    report.set_defaults(handler=_run_report)


def options_from_args(args: argparse.Namespace) -> Any:
    """Build :class:`~lift_dspy.bench.runner.BenchOptions` from parsed arguments.

    Raises:
        ValueError: An unknown configuration name.
    """
    from lift_dspy.bench.configs import CONFIGS, Settings
    from lift_dspy.bench.runner import BenchOptions

    names = [c.strip() for c in (args.configs or ",".join(CONFIGS)).split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    configs = tuple(c for c in CONFIGS if c in names)
    if unknown or not configs:
        raise ValueError(f"unknown configuration(s) {unknown}; choose from {', '.join(CONFIGS)}")
    out = Path(args.out or ("bench-out/quick" if args.quick else "bench-out/full"))
    return BenchOptions(
        out=out,
        quick=args.quick,
        model=args.model,
        api_base=args.api_base,
        server_backend=args.server_backend,
        configs=configs,
        tasks=args.tasks,
        samples=args.samples,
        workers=args.workers,
        concurrency=args.concurrency or (8 if args.quick else 16),
        rounds=args.rounds or (1 if args.quick else 3),
        throughput=not args.no_throughput,
        max_model_len=args.max_model_len,
        settings=Settings(
            temperature=args.temperature,
            greedy_samples=args.greedy_samples,
            max_tokens=args.max_tokens,
            max_text_chars=args.max_text_chars or None,
            max_repairs=args.max_repairs,
        ),
    )


def _run_bench(args: argparse.Namespace) -> int:
    from lift_dspy.bench.report import render_report
    from lift_dspy.bench.runner import run_bench

    options = options_from_args(args)
    quiet = () if getattr(args, "verbose", False) else ("dspy", "lift_dspy.programs", "lift_dspy.engine")
    # Per-sample failures are the benchmark's data (they are in the journal): keep the progress
    # bar readable instead of logging each truncated or unparsable answer.
    levels = {name: logging.getLogger(name).level for name in quiet}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.ERROR)
    previous = _sigterm_as_interrupt()
    try:
        path = run_bench(options)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    from lift_dspy.bench.journal import read_records

    records = read_records(options.out / "journal.jsonl")
    text = render_report(records)
    headline = text.split("## Headline: latency per valid answer", 1)[-1].split("\n## ", 1)[0]
    print(headline.strip())
    print(f"\nreport: {path}")
    bugs = [r for r in records if r.get("kind") == "sample" and r.get("unexpected")]
    for r in bugs[:10]:
        print(
            f"unexpected {r['error']} in {r['config']} {r['task']}: {r.get('error_message')}", file=sys.stderr
        )
    if bugs:
        print(
            f"lift-dspy: error: {len(bugs)} sample(s) ended on an unexpected exception (see above); "
            "these are harness or program bugs, not model failures",
            file=sys.stderr,
        )
        return 1
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from lift_dspy.bench.report import write_report

    try:
        path = write_report(args.dir)
    except FileNotFoundError as exc:
        print(f"lift-dspy: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _sigterm_as_interrupt() -> Any:
    """Make SIGTERM end a run like Ctrl-C, so managed servers are stopped."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread
        return None
