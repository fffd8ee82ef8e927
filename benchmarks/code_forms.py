"""Code stays code? The implementation as JSON parts vs as raw source, on the same model and IRs.

Form "json-parts": IRToCode's structured implementation object (signature, imports, helper
types, body lines as JSON strings), assembled into source by lift-dspy.
Form "raw-source": one free-text field in DSPy's chat layout: the function written as plain code
(no JSON escaping), constrained only to end at the field marker.

Both forms get the same IR per task, one worked example, temperature 0, no repairs; the real
compilers judge the result. Printed: compile rate, output tokens per implementation, seconds.

Usage:
    python benchmarks/code_forms.py [--model smollm2] [--per-language 2] [--api-base URL]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import time
from collections.abc import Iterator
from typing import Any

import dspy
from lift_dspy.schemas import FunctionIR

import lift_dspy
from lift_dspy.programs import IRToCode
from lift_dspy.programs.assemble import assemble
from lift_dspy.programs.demos import code_demo
from lift_dspy.programs.headers import header
from lift_dspy.programs.tasks import code_tasks
from lift_dspy.programs.toolchains import check

_NAMES = {"typescript": "TypeScript", "rust": "Rust", "go": "Go", "java": "Java"}
_FENCE = re.compile(r"^```[a-z]*\n(.*?)\n?```\s*$", re.DOTALL)


def raw_signature(language: str) -> type[dspy.Signature]:
    """``ir, header -> code``: the function as plain source text."""
    instructions = (
        f"Implement the IR as one {_NAMES[language]} function. Write only code: the header, then the "
        "body. No explanations and no markdown fences."
        + (" Start with `package lift`." if language == "go" else "")
        + (" Put the function in a public final class as a static method." if language == "java" else "")
    )
    return dspy.Signature(
        {
            "ir": (FunctionIR, dspy.InputField(desc="The function to implement.")),
            "header": (str, dspy.InputField(desc="The header derived from the IR.")),
            "code": (str, dspy.OutputField(desc=f"The complete {_NAMES[language]} source.")),
        },
        instructions,
    )


def _raw_source(language: str, code: str) -> str:
    match = _FENCE.match(code.strip())
    source = match.group(1) if match else code
    if language == "go" and not source.lstrip().startswith("package"):
        source = "package lift\n\n" + source
    if language == "java" and " class " not in f" {source}":
        source = "public final class Generated {\n" + source + "\n}\n"
    return source


def _raw_demo(language: str) -> dspy.Example:
    demo = code_demo(language)  # type: ignore[arg-type]
    source = assemble(language, demo.implementation)  # type: ignore[arg-type]
    return dspy.Example(ir=demo.ir, header=demo.header, code=source).with_inputs("ir", "header")


def _tokens(lm: lift_dspy.GuidanceLM, since: int) -> int:
    return sum(int((entry.get("usage") or {}).get("completion_tokens") or 0) for entry in lm.history[since:])


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.api_base:
        yield args.api_base, args.model
        return
    from lift_dspy.server.process import serve

    with serve(args.model) as server:
        yield server.api_base, server.model


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--api-base")
    parser.add_argument("--per-language", type=int, default=2)
    args = parser.parse_args()

    tasks: list[Any] = []
    for language in _NAMES:
        tasks += [t for t in code_tasks() if t.language == language][: args.per_language]
    rows: dict[str, list[tuple[bool, int, float]]] = {"json-parts": [], "raw-source": []}
    with _server(args) as (api_base, model):
        lm = lift_dspy.GuidanceLM(
            model, api_base=api_base, temperature=0.0, max_tokens=700, max_text_chars=1500, cache=False
        )
        dspy.configure(lm=lm)
        program = IRToCode(max_repairs=0, num_threads=1)
        for task in tasks:
            language = task.language
            try:
                ir = program.nl_to_ir(request=task.spec).ir
            except lift_dspy.LiftDSPyError as exc:
                print(f"{task.id}: no IR ({type(exc).__name__})")
                continue
            mark, start = len(lm.history), time.perf_counter()
            result = program(ir=ir, languages=[language]).results[language]
            rows["json-parts"].append((bool(result.ok), _tokens(lm, mark), time.perf_counter() - start))

            raw = dspy.Predict(raw_signature(language))
            raw.demos = [_raw_demo(language)]
            mark, start = len(lm.history), time.perf_counter()
            try:
                code = raw(ir=ir, header=header(language, ir)).code  # type: ignore[arg-type]
                ok = check(language, _raw_source(language, code)).ok  # type: ignore[arg-type]
            except lift_dspy.LiftDSPyError:
                ok = False
            rows["raw-source"].append((ok, _tokens(lm, mark), time.perf_counter() - start))
            print(
                f"{task.id:28} json-parts {'OK' if result.ok else '--'}   raw-source {'OK' if ok else '--'}"
            )

    print(f"\n{model}, {len(rows['json-parts'])} tasks over 4 languages, temperature 0, no repairs")
    print(f"{'form':12} {'compiles':>9} {'tokens (median)':>16} {'seconds (median)':>17}")
    for form, results in rows.items():
        if not results:
            continue
        passed = sum(bool(ok) for ok, _, _ in results)
        tokens = statistics.median(t for _, t, _ in results)
        seconds = statistics.median(s for _, _, s in results)
        print(f"{form:12} {passed:>4}/{len(results):<4} {tokens:16.0f} {seconds:17.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
