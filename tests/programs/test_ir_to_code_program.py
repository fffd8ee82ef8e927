"""IRToCode (json-parts form) with scripted LM answers: generation, compile verdicts and the repair loop.

The grammar-code form (the default) is tested in test_grammar_code.py.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

import dspy
import pytest
from clamp import CLAMP_IR
from dspy.utils import DummyLM
from dspy.utils.callback import BaseCallback
from lift_dspy.schemas import FunctionIR, Language, RustImplementation
from lift_dspy.signatures.ir_to_code import ir_to_code_signature

from lift_dspy.programs import IRToCode as _IRToCode
from lift_dspy.programs.headers import pinned_implementation_model, suggested_signature
from lift_dspy.programs.ir_to_code import PinnablePredict, annotate_diagnostics, trim_diagnostics
from lift_dspy.programs.toolchains import CompileResult, ToolchainMissingError, find_toolchain

IRToCode = functools.partial(_IRToCode, code_form="json-parts")

IR: dict[str, Any] = CLAMP_IR
_RUST_SIG = {
    "name": "clamp_value",
    "params": [{"name": n, "type": "i64"} for n in ("value", "lo", "hi")],
    "return_type": "i64",
}
RUST_BAD = {
    "function_signature": _RUST_SIG,
    "uses": [],
    "helper_types": [],
    "body_statements": ["value.clamp(lo)"],
}
UNKNOWN: Any = "cobol"
RUST_GOOD = {**RUST_BAD, "body_statements": ["value.max(lo).min(hi)"]}


def _impl(language: Language, marker: str) -> dict[str, Any]:
    sig = suggested_signature(language, IR)  # what the pinned grammar demands
    extra: dict[str, list[str]] = {"uses": []} if language == "rust" else {"imports": []}
    return {"function_signature": sig, **extra, "helper_types": [], "body_statements": [marker]}


class FakeChecker:
    """Compiles nothing: a source fails while it contains ``"BROKEN"``."""

    def __init__(self) -> None:
        self.calls: list[tuple[Language, str]] = []

    def __call__(self, language: Language, source: str) -> CompileResult:
        self.calls.append((language, source))
        ok = "BROKEN" not in source
        diagnostics = "" if ok else "./main.go:2:5: BROKEN is not a value"
        return CompileResult(ok, diagnostics, 0.01, "fake", "1.0")


def test_failing_first_answer_is_repaired_from_the_diagnostics() -> None:
    lm = DummyLM(
        [{"ir": IR}, {"implementation": _impl("rust", "BROKEN")}, {"implementation": _impl("rust", "1")}]
    )
    dspy.configure(lm=lm)
    checker = FakeChecker()
    out = IRToCode(["rust"], checker=checker)(request="clamp an integer to a range")

    assert out.ok
    assert out.ir == FunctionIR.model_validate(IR)
    result = out.results["rust"]
    assert (result.ok, result.repairs, len(result.attempts)) == (True, 1, 2)
    assert [a.ok for a in result.attempts] == [False, True]
    assert "pub fn clamp_value(value: i64, lo: i64, hi: i64) -> i64 {\n    1\n}" in result.source
    repair_prompt = lm.history[-1]["messages"][-1]["content"]
    assert "BROKEN is not a value" in repair_prompt  # the diagnostics reach the LM
    assert "2 | BROKEN" in repair_prompt  # with the source line it is about
    assert "RustImplementation" in repair_prompt


def test_repairs_stop_at_max_repairs() -> None:
    broken = {"implementation": _impl("go", "BROKEN")}
    dspy.configure(lm=DummyLM([broken, broken, broken]))
    out = IRToCode(["go"], max_repairs=2, checker=FakeChecker())(ir=IR)
    result = out.results["go"]
    assert not out.ok
    assert (result.ok, result.repairs, len(result.attempts)) == (False, 2, 3)
    assert "BROKEN" in result.diagnostics


def test_no_repairs_when_max_repairs_is_zero() -> None:
    lm = DummyLM([{"implementation": _impl("java", "BROKEN")}])
    dspy.configure(lm=lm)
    out = IRToCode(["java"], max_repairs=0, checker=FakeChecker())(ir=IR)
    assert (out.results["java"].ok, out.results["java"].repairs) == (False, 0)
    assert len(lm.history) == 1


def test_missing_toolchain_is_reported_not_repaired() -> None:
    def missing(language: Language, source: str) -> CompileResult:
        raise ToolchainMissingError(language, "tsc")

    lm = DummyLM([{"implementation": _impl("typescript", "return 1;")}])
    dspy.configure(lm=lm)
    result = IRToCode(["typescript"], checker=missing)(ir=IR).results["typescript"]
    assert result.ok is None
    assert "install-toolchains.sh typescript" in result.diagnostics
    assert result.source.startswith("export function clampValue")
    assert len(lm.history) == 1


def test_a_failing_language_does_not_stop_the_others() -> None:
    dspy.configure(lm=DummyLM([{"implementation": _impl("rust", "1")}]))
    program = IRToCode(["go", "rust"], checker=FakeChecker(), num_threads=1)

    class Unreachable(PinnablePredict):
        def forward(self, **_kwargs: Any) -> Any:
            raise dspy.utils.exceptions.LMError("server went away")

    program.generate["go"] = Unreachable(program.generate["go"].signature)
    out = program(ir=IR)
    assert out.results["go"].ok is None
    assert out.results["go"].error is not None
    assert "server went away" in out.results["go"].error
    assert out.results["rust"].ok is True
    assert not out.ok


def test_languages_run_concurrently_with_the_callers_dspy_context() -> None:
    bodies: dict[Language, tuple[str, str]] = {
        "typescript": ("TypeScript", "return 1;"),
        "rust": ("Rust", "1"),
        "go": ("Go", "return 1"),
        "java": ("Java", "return 1;"),
    }
    answers: dict[str, dict[str, Any]] = {"FunctionIR": {"ir": IR}}
    for lang, (name, body) in bodies.items():  # DummyLM answers by the model name in the prompt
        answers[f"{name}Implementation"] = {"implementation": _impl(lang, body)}
    checker = FakeChecker()
    with dspy.context(lm=DummyLM(answers)):  # not dspy.configure: the workers must inherit it
        out = IRToCode(checker=checker, num_threads=4)(request="clamp")
    assert out.ok, {k: (r.error, r.diagnostics) for k, r in out.results.items()}
    assert list(out.results) == ["typescript", "rust", "go", "java"]
    assert sorted(lang for lang, _ in checker.calls) == ["go", "java", "rust", "typescript"]


def test_an_ir_mapping_is_not_mutated_and_request_or_ir_is_required() -> None:
    dspy.configure(lm=DummyLM([{"implementation": _impl("rust", "1")}]))
    ir = copy.deepcopy(IR)
    IRToCode(["rust"], checker=FakeChecker())(ir=ir)
    assert ir == IR
    with pytest.raises(ValueError, match="needs a request"):
        IRToCode(["rust"], checker=FakeChecker())()


def test_pinned_signature_rejects_another_header_unless_disabled() -> None:
    other = {
        **_impl("rust", "1"),
        "function_signature": {"name": "clamp", "params": [], "return_type": "i32"},
    }
    # ChatAdapter fails to parse it, then DSPy's JSONAdapter fallback asks once more.
    dspy.configure(lm=DummyLM([{"implementation": other}, {"implementation": other}]))
    pinned = IRToCode(["rust"], checker=FakeChecker())(ir=IR).results["rust"]
    assert pinned.ok is None
    assert pinned.error is not None
    assert "generation failed" in pinned.error

    dspy.configure(lm=DummyLM([{"implementation": other}]))
    free = IRToCode(["rust"], checker=FakeChecker(), pin_signature=False)(ir=IR).results["rust"]
    assert free.ok is True
    assert "pub fn clamp() -> i32" in free.source


class SignatureSpy(BaseCallback):
    """Records what lift-dspy's engine would read: the running Predict's ``.signature``."""

    def __init__(self) -> None:
        self.seen: list[type[dspy.Signature]] = []

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self.seen.append(dspy.settings.caller_modules[-1].signature)


def test_the_engine_sees_the_pinned_signature_during_the_call() -> None:
    spy = SignatureSpy()
    dspy.configure(lm=DummyLM([{"implementation": _impl("rust", "1")}]), callbacks=[spy])
    program = IRToCode(["rust"], checker=FakeChecker())
    program(ir=IR)
    (seen,) = spy.seen
    pinned = seen.output_fields["implementation"].annotation
    assert pinned is pinned_implementation_model("rust", IR)
    assert seen.instructions == program.generate["rust"].signature.instructions
    # Outside the call, and in any other thread, the predictor keeps its configured signature.
    assert program.generate["rust"].signature.output_fields["implementation"].annotation is RustImplementation


def test_pinning_is_local_to_the_thread() -> None:
    predictor = PinnablePredict(ir_to_code_signature("go"))
    narrowed = predictor.signature.with_updated_fields(
        "implementation", type_=pinned_implementation_model("go", IR)
    )
    seen: list[Any] = []
    with predictor.pinned(narrowed):
        assert predictor.signature is narrowed
        worker = threading.Thread(target=lambda: seen.append(predictor.signature))
        worker.start()
        worker.join()
    assert seen == [predictor.signature]
    assert predictor.signature is not narrowed


def test_demos_are_installed_by_default() -> None:
    program = IRToCode()
    assert len(program.nl_to_ir.demos) == 1
    assert all(len(p.demos) == 1 for p in program.generate.values())
    assert all(not p.demos for p in program.repair.values())
    assert not IRToCode(demos=False).nl_to_ir.demos


def test_missing_lm_is_a_configuration_error_not_a_per_language_result() -> None:
    with pytest.raises(ValueError, match="No LM is loaded"):
        IRToCode(["rust", "go"], checker=FakeChecker())(ir=IR)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'cobol'"):
        IRToCode([UNKNOWN])
    with pytest.raises(ValueError, match="max_repairs"):
        IRToCode(max_repairs=-1)


def test_program_exposes_its_predictors_for_optimizers() -> None:
    names = [name for name, _ in IRToCode().named_predictors()]
    assert "nl_to_ir" in names
    assert {f"generate['{lang}']" for lang in ("typescript", "rust", "go", "java")} <= set(names)
    assert len(names) == 9


def test_helpers() -> None:
    source = "export function f(): number {\n  return x;\n}\n"
    ts = "main.ts(2,10): error TS2304: Cannot find name 'x'."
    assert annotate_diagnostics(ts, source) == ts + "\n  2 | return x;"
    go = "# lift/generated\n./main.go:3:1: undefined: y\n./main.go:99:1: beyond the end"
    assert annotate_diagnostics(go, source) == go.replace("undefined: y", "undefined: y\n  3 | }")
    rust = " --> lib.rs:2:5"
    assert annotate_diagnostics(rust, source) == rust  # rustc quotes the line itself
    text = "error[E0308]: x\n --> lib.rs:2:5\nerror: aborting due to 1 previous error\n" + "y" * 2000
    trimmed = trim_diagnostics(text, limit=100)
    assert "aborting" not in trimmed
    assert trimmed.startswith("error[E0308]: x")
    assert trimmed.endswith("more characters)")


@pytest.mark.toolchain
def test_repair_loop_with_the_real_rust_compiler() -> None:
    try:
        find_toolchain("rust")
    except ToolchainMissingError as exc:
        pytest.skip(str(exc))
    lm = DummyLM([{"implementation": RUST_BAD}, {"implementation": RUST_GOOD}])
    dspy.configure(lm=lm)
    result = IRToCode(["rust"])(ir=IR).results["rust"]
    assert (result.ok, result.repairs) == (True, 1)
    first = result.attempts[0]
    assert not first.ok
    assert "lib.rs:2:" in first.diagnostics  # rustc points at the body line
    assert "error[E0061]" in lm.history[-1]["messages"][-1]["content"]
    assert result.tool.startswith("rustc ")
