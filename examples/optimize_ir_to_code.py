"""Optimize the request -> IR step of IR-to-code with a DSPy optimizer; every call is constrained.

    python examples/optimize_ir_to_code.py                           # BootstrapFewShot, embedded SmolLM2
    python examples/optimize_ir_to_code.py --optimizer mipro-light --train 6 --dev 4
    python examples/optimize_ir_to_code.py --api-base http://127.0.0.1:8000/v1 --model smollm2

The step is IRToCode's first one: ``dspy.Predict(NLToIR)`` with its one worked demo. The metric
scores an IR against what the request implies, a third each: the parameter types in order, the
return type, and a function name with the expected key word (``clamp``, ``palindrome``, ...).
Every IR parses and validates (the grammar guarantees the shape), so the metric measures sense.
The optimizer compiles on the train requests; the metric is printed before and after on held-out
dev requests, then ``lm.stats()`` totals for every call made (the optimizer's own included).

Optimizers: ``bootstrap`` (BootstrapFewShot, default), ``random-search``
(BootstrapFewShotWithRandomSearch), ``mipro-light`` (MIPROv2 auto="light") and ``gepa`` (GEPA;
the reflection LM is the same GuidanceLM). With no ``--api-base`` lift-dspy starts a local vLLM
with SmolLM2-135M-Instruct (about a minute on a CPU); the default budget (4 train, 4 dev requests)
takes a few minutes on a 2-core CPU, the other optimizers longer. The embedded server's context is
2048 tokens and the request -> IR prompt ~1340 before any demo, so one demo is the default; a
candidate whose demos or instructions leave no room for the answer fails with a
TruncatedOutputError (counted in ``lm.stats()``) and scores 0. Put the optimized step back into
the pipeline with ``IRToCode().nl_to_ir = optimized.nl_to_ir``.
Exit status: 0 when done, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dspy
from lift_dspy.schemas import FunctionIR
from lift_dspy.signatures.ir_to_code import NLToIR

import lift_dspy
from lift_dspy.programs.demos import ir_demo
from lift_dspy.programs.tasks import CODE_TASKS

OPTIMIZERS = ("bootstrap", "random-search", "mipro-light", "gepa")


@dataclass(frozen=True)
class IRCase:
    """What a request implies about its function's IR."""

    name: str
    request: str
    params: tuple[str, ...]
    returns: str
    keywords: tuple[str, ...]


# Expected IR types and name key words for each request of the IR-to-code task suite.
_EXPECTED: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "clamp": (("int", "int", "int"), "int", ("clamp",)),
    "is_palindrome": (("string",), "bool", ("palindrome",)),
    "sum_evens": (("list<int>",), "int", ("even",)),
    "fizzbuzz_word": (("int",), "string", ("fizz", "buzz")),
    "max_of_list": (("list<int>",), "int", ("max", "largest")),
    "count_vowels": (("string",), "int", ("vowel",)),
    "gcd": (("int", "int"), "int", ("gcd", "divisor")),
    "celsius_to_f": (("float",), "float", ("celsius", "fahrenheit")),
    "word_count": (("string",), "int", ("word",)),
    "reverse_words": (("string",), "string", ("reverse",)),
    "factorial": (("int",), "int", ("factorial",)),
    "average": (("list<float>",), "float", ("average", "mean")),
    "is_leap_year": (("int",), "bool", ("leap",)),
    "word_frequency": (("list<string>",), "map<string,int>", ("freq",)),
}


def ir_cases() -> tuple[IRCase, ...]:
    """One case per distinct request of :data:`lift_dspy.programs.tasks.CODE_TASKS`, in suite order."""
    cases: dict[str, IRCase] = {}
    for task in CODE_TASKS:
        name = task.id.split("/", 1)[1]
        if name not in cases:
            params, returns, keywords = _EXPECTED[name]
            cases[name] = IRCase(name, task.spec, params, returns, keywords)
    return tuple(cases.values())


def build_datasets(train: int, dev: int, seed: int = 0) -> tuple[list[dspy.Example], list[dspy.Example]]:
    """Disjoint train and dev sets of ``dspy.Example(request=..., ...)``, shuffled with ``seed``.

    Raises:
        ValueError: ``train`` or ``dev`` is below 1, or they need more requests than there are.
    """
    cases = list(ir_cases())
    if train < 1 or dev < 1 or train + dev > len(cases):
        raise ValueError(f"--train and --dev must be >= 1 and add up to at most {len(cases)} requests")
    random.Random(seed).shuffle(cases)
    examples = [
        dspy.Example(
            request=c.request,
            name=c.name,
            params=list(c.params),
            returns=c.returns,
            keywords=list(c.keywords),
        ).with_inputs("request")
        for c in cases
    ]
    return examples[:train], examples[train : train + dev]


def _checks(gold: dspy.Example, ir: FunctionIR) -> dict[str, bool]:
    return {
        "parameter types": [p.type for p in ir.params] == list(gold.params),
        "return type": ir.returns.type == gold.returns,
        "name": any(word in ir.name for word in gold.keywords),
    }


def ir_metric(gold: dspy.Example, pred: dspy.Prediction, trace: Any = None) -> float:
    """The share of checks the predicted IR passes (0, 1/3, 2/3 or 1)."""
    checks = _checks(gold, pred.ir)
    return sum(checks.values()) / len(checks)


def ir_feedback(
    gold: dspy.Example,
    pred: dspy.Prediction,
    trace: Any = None,
    pred_name: str | None = None,
    pred_trace: Any = None,
) -> dspy.Prediction:
    """GEPA's metric: the score and what the IR got wrong."""
    checks = _checks(gold, pred.ir)
    wrong = [what for what, ok in checks.items() if not ok]
    expected = f"({', '.join(gold.params)}) -> {gold.returns}, a name with {' or '.join(gold.keywords)}"
    feedback = f"Wrong {', '.join(wrong)}; expected {expected}." if wrong else "All correct."
    return dspy.Prediction(score=sum(checks.values()) / len(checks), feedback=feedback)


class RequestToIR(dspy.Module):
    """IRToCode's request -> IR step on its own, with the same worked demo."""

    def __init__(self) -> None:
        super().__init__()
        self.nl_to_ir = dspy.Predict(NLToIR)
        self.nl_to_ir.demos = [ir_demo()]

    def forward(self, request: str) -> dspy.Prediction:
        return dspy.Prediction(ir=self.nl_to_ir(request=request).ir)


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="bootstrap", help="(default: bootstrap)")
    p.add_argument("--api-base", default=None, help="a vLLM server's /v1 URL (default: start a local one)")
    p.add_argument("--model", default=None, help="model name the server serves (default: the bundled one)")
    p.add_argument("--train", type=int, default=4, help="train requests (default: 4)")
    p.add_argument("--dev", type=int, default=4, help="held-out dev requests (default: 4)")
    p.add_argument(
        "--demos",
        type=int,
        default=1,
        help="most bootstrapped demos (default: 1; an IR demo is ~210 tokens, the prompt ~1340 without "
        "one, and the embedded server's context is 2048 tokens)",
    )
    p.add_argument(
        "--threshold", type=float, default=1.0, help="least metric for a demo (default: 1, every check)"
    )
    p.add_argument("--rounds", type=int, default=2, help="bootstrap attempts per train request (default: 2)")
    p.add_argument("--candidates", type=int, default=2, help="random-search candidate programs (default: 2)")
    p.add_argument("--budget", type=int, default=16, help="gepa metric calls (default: 16)")
    p.add_argument("--threads", type=int, default=2, help="parallel calls when evaluating (default: 2)")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default: 0, greedy)")
    p.add_argument("--no-cache", action="store_true", help="bypass DSPy's cache (measure every call)")
    return p


def build_optimizer(args: argparse.Namespace, lm: dspy.LM) -> tuple[Any, dict[str, Any]]:
    """The optimizer named by ``--optimizer`` and the extra arguments of its ``compile``.

    Every optimizer gets ``max_labeled_demos=0``: the train requests carry no IR, and labeled
    demos would make BootstrapFewShot reset the teacher, which would then run without its worked
    demo.
    """
    common = {"max_bootstrapped_demos": args.demos, "max_labeled_demos": 0}
    if args.optimizer == "bootstrap":
        optimizer = dspy.BootstrapFewShot(
            metric=ir_metric, metric_threshold=args.threshold, max_rounds=args.rounds, **common
        )
        return optimizer, {}
    if args.optimizer == "random-search":
        optimizer = dspy.BootstrapFewShotWithRandomSearch(
            metric=ir_metric,
            metric_threshold=args.threshold,
            num_candidate_programs=args.candidates,
            max_rounds=args.rounds,
            num_threads=args.threads,
            **common,
        )
        return optimizer, {}
    if args.optimizer == "mipro-light":
        optimizer = dspy.MIPROv2(metric=ir_metric, auto="light", num_threads=args.threads, **common)
        # The proposer's prompt would quote the program's source: too long for a 2048-token context.
        return optimizer, {"program_aware_proposer": False}
    optimizer = dspy.GEPA(
        metric=ir_feedback,
        reflection_lm=lm,
        max_metric_calls=args.budget,
        reflection_minibatch_size=2,
        num_threads=args.threads,
        use_merge=False,
    )
    return optimizer, {}


def _describe(ir: FunctionIR | None) -> str:
    if ir is None:
        return "(no IR: the call failed)"
    params = ", ".join(p.type for p in ir.params)
    return f"{ir.name}({params}) -> {ir.returns.type}"


def evaluate(program: dspy.Module, devset: list[dspy.Example], threads: int) -> float:
    """Print each dev request's score and IR; return the mean metric in percent."""
    result = dspy.Evaluate(
        devset=devset, metric=ir_metric, num_threads=threads, display_progress=False, provide_traceback=False
    )(program)
    for example, prediction, score in result.results:
        ir = prediction.get("ir") if isinstance(prediction, dspy.Prediction) else None
        print(f"  {score:.2f}  {example.request[:60]:<60}  {_describe(ir)}")
    return float(result.score)


def _demo_summary(program: dspy.Module) -> str:
    demos = program.nl_to_ir.demos
    boot = sum(1 for demo in demos if demo.get("augmented"))
    return f"{len(demos)} demo(s), {boot} bootstrapped"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        trainset, devset = build_datasets(args.train, args.dev)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if min(args.demos, args.threads, args.rounds) < 1:
        print("error: --demos, --threads and --rounds must be >= 1", file=sys.stderr)
        return 2

    # max_text_chars bounds the optimizers' own free text (MIPROv2's data summaries and proposed
    # instructions, GEPA's reflections): a small model can ramble until the context is full.
    lm = lift_dspy.GuidanceLM(
        args.model,
        api_base=args.api_base,
        temperature=args.temperature,
        max_text_chars=500,
        cache=not args.no_cache,
    )
    dspy.configure(lm=lm)
    optimizer, compile_args = build_optimizer(args, lm)
    program = RequestToIR()
    print(f"Optimizer: {args.optimizer}; {len(trainset)} train and {len(devset)} held-out dev requests")
    print(f"LM: {lm!r}")
    try:
        start = time.monotonic()
        print(f"\nDev metric before ({_demo_summary(program)}):")
        before = evaluate(program, devset, args.threads)
        print(f"  = {before:.1f}%  ({time.monotonic() - start:.0f} s)")

        start = time.monotonic()
        valset = {} if args.optimizer == "bootstrap" else {"valset": trainset}
        optimized = optimizer.compile(program, trainset=trainset, **valset, **compile_args)
        print(f"\nOptimized in {time.monotonic() - start:.0f} s: {_demo_summary(optimized)}")
        if optimized.nl_to_ir.signature.instructions != program.nl_to_ir.signature.instructions:
            print(f"New instructions: {optimized.nl_to_ir.signature.instructions[:300]!r}")

        start = time.monotonic()
        print(f"\nDev metric after ({_demo_summary(optimized)}):")
        after = evaluate(optimized, devset, args.threads)
        print(f"  = {after:.1f}%  ({time.monotonic() - start:.0f} s)")
    except lift_dspy.LiftDSPyError as exc:  # server did not start, unreachable, ...
        print(f"error: {exc}", file=sys.stderr)
        return 2

    total = lm.stats()["total"]
    print(f"\nDev metric: {before:.1f}% before -> {after:.1f}% after ({args.optimizer})")
    print(
        "lm.stats() total: "
        f"calls={total['calls']} ok={total['ok']} violations={total['violations']} "
        f"truncations={total['truncations']} errors={total['errors']} "
        f"p50={total['latency_p50_s'] or 0:.1f}s output_tokens={total['output_tokens']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
