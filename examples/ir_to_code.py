"""From a one-line request to a function in TypeScript, Rust, Go and Java that compiles.

    python examples/ir_to_code.py
    python examples/ir_to_code.py --lang rust,go --spec "Return the sum of the even numbers in a list"
    python examples/ir_to_code.py --api-base http://127.0.0.1:8000/v1 --model smollm2 --max-repairs 3
    python examples/ir_to_code.py --code-form json-parts    # the implementation as JSON parts

With no ``--api-base`` lift-dspy starts a local vLLM with the bundled SmolLM2-135M-Instruct on the
first call (about a minute on a CPU). Every answer is grammar-constrained: the IR always parses,
and each function is written as raw source under its language's grammar with the header the IR
implies forced (``--code-form grammar-code``, the default), so it cannot be syntactically wrong.
The compilers (tsc, rustc, go, javac; install them with ``bash .ci/install-toolchains.sh``) then
judge types and names, and their diagnostics drive the repairs. Each step (IR, each language,
each repair, each compile) is printed to stderr as it starts, with the elapsed time; ``--quiet``
silences it. Exit status: 0 if every language compiled, 1 if not, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dspy
from lift_dspy.schemas import LANGUAGES, Language

import lift_dspy
from lift_dspy.programs import IRToCode, LanguageResult
from lift_dspy.programs.ir_to_code import CODE_FORMS

DEFAULT_SPEC = "Clamp an integer value to the inclusive range [lo, hi]."
_ALIASES = {"ts": "typescript", "rs": "rust", "golang": "go"}


def parse_languages(values: Sequence[str] | None) -> list[Language]:
    """``["rust,go", "ts"]`` -> ``["rust", "go", "typescript"]`` (all four when empty)."""
    if not values:
        return list(LANGUAGES)
    chosen: list[Language] = []
    for value in values:
        for item in value.split(","):
            name = _ALIASES.get(item.strip().lower(), item.strip().lower())
            match = [lang for lang in LANGUAGES if lang == name]
            if not match:
                raise argparse.ArgumentTypeError(
                    f"unknown language {item!r}; choose from {', '.join(LANGUAGES)}"
                )
            if match[0] not in chosen:
                chosen.append(match[0])
    return chosen


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spec", default=DEFAULT_SPEC, help=f"the function to write (default: {DEFAULT_SPEC!r})")
    p.add_argument("--lang", action="append", help="typescript, rust, go, java; repeat or comma-separate")
    p.add_argument("--api-base", default=None, help="a vLLM server's /v1 URL (default: start a local one)")
    p.add_argument("--model", default=None, help="model name the server serves (default: the bundled one)")
    p.add_argument("--max-repairs", type=int, default=2, help="repair rounds per language (default: 2)")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default: 0, greedy)")
    p.add_argument(
        "--code-form",
        choices=CODE_FORMS,
        default="grammar-code",
        help="grammar-code: raw source under the language grammar (default); json-parts: JSON parts",
    )
    p.add_argument("--quiet", action="store_true", help="do not print the steps to stderr")
    return p


class _Elapsed(logging.Formatter):
    """``[  12.3 s] rust: repair 1``: seconds since the run started."""

    def __init__(self, start: float) -> None:
        super().__init__()
        self.start = start

    def format(self, record: logging.LogRecord) -> str:
        return f"[{time.monotonic() - self.start:6.1f} s] {record.getMessage()}"


@contextmanager
def show_steps(start: float, enabled: bool = True) -> Iterator[None]:
    """Print IRToCode's steps (IR, each language, each repair, each compile) to stderr as they start."""
    logger = logging.getLogger("lift_dspy.programs.ir_to_code")
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Elapsed(start))
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # printed once, here, whatever the root logger does
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def print_result(result: LanguageResult) -> None:
    """One language's code and verdict."""
    verdict = {True: "COMPILES", False: "DOES NOT COMPILE", None: "NOT CHECKED"}[result.ok]
    print(f"\n=== {result.language} ===")
    if result.source:
        print(result.source.rstrip())
    if result.error:
        print(f"-- {result.error}")
    print(f"-- {verdict} after {result.repairs} repair(s){f' [{result.tool}]' if result.tool else ''}")
    if result.ok is not True and result.diagnostics:
        print("\n".join(f"   {line}" for line in result.diagnostics.splitlines()[:12]))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        languages = parse_languages(args.lang)
    except argparse.ArgumentTypeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.max_repairs < 0:
        print("error: --max-repairs must be >= 0", file=sys.stderr)
        return 2

    # Greedy decoding: vLLM's default (the model's own, often 1.0) makes a small model ramble.
    dspy.configure(lm=lift_dspy.GuidanceLM(args.model, api_base=args.api_base, temperature=args.temperature))
    program = IRToCode(languages, max_repairs=args.max_repairs, code_form=args.code_form)
    start = time.monotonic()
    try:
        with show_steps(start, enabled=not args.quiet):
            out = program(request=args.spec)
    except lift_dspy.LiftDSPyError as exc:  # server did not start, unreachable, cut-off output...
        print(f"error: {exc}", file=sys.stderr)
        return 2

    print(f"Request: {args.spec}\n\n=== IR ===")
    print(json.dumps(out.ir.model_dump(), indent=2))
    for lang in languages:
        print_result(out.results[lang])
    passed = sum(1 for r in out.results.values() if r.ok)
    print(f"\n{passed}/{len(languages)} languages compile ({time.monotonic() - start:.1f} s)")
    return 0 if out.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
