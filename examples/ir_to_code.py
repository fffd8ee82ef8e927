"""From a one-line request to a function in TypeScript, Rust, Go and Java that compiles.

    python examples/ir_to_code.py
    python examples/ir_to_code.py --lang rust,go --spec "Return the sum of the even numbers in a list"
    python examples/ir_to_code.py --api-base http://127.0.0.1:8000/v1 --model smollm2 --max-repairs 3

With no ``--api-base`` lift-dspy starts a local vLLM with the bundled SmolLM2-135M-Instruct on the
first call (about a minute on a CPU). Every answer is grammar-constrained, so the IR and each
implementation object always parse; the compilers (tsc, rustc, go, javac; install them with
``bash .ci/install-toolchains.sh``) then judge the code, and their diagnostics drive the repairs.
Exit status: 0 if every language compiled, 1 if not, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

import dspy
from lift_dspy.schemas import LANGUAGES, Language

import lift_dspy
from lift_dspy.programs import IRToCode, LanguageResult

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
    return p


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
    program = IRToCode(languages, max_repairs=args.max_repairs)
    start = time.monotonic()
    try:
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
