"""IRToCode's default code form: the function as raw source under its language grammar.

Fast layer: scripted answers (DummyLM, FakeVLLM), a fake compile check, and the real compilers
for the assembled files (toolchain marker).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import dspy
import pytest
from clamp import CLAMP_IR
from dspy.utils import DummyLM
from dspy.utils.callback import BaseCallback
from fakes import FakeVLLM
from lift_dspy.schemas import LANGUAGES, Language
from lift_dspy.signatures.ir_to_code import RepairSource, ir_to_source_signature

import lift_dspy
from lift_dspy.constraints.check import GrammarMatcher, grammar_from_lark
from lift_dspy.constraints.code import code_grammar
from lift_dspy.programs import IRToCode
from lift_dspy.programs.compile_errors import classify, syntax_errors
from lift_dspy.programs.demos import DEMO_IR, demo_source
from lift_dspy.programs.headers import suggested_imports
from lift_dspy.programs.ir_to_code import PinnablePredict
from lift_dspy.programs.source import (
    assemble_source,
    body_chars_bound,
    function_header,
    narrowed_signature,
    split_source,
)
from lift_dspy.programs.toolchains import CompileResult, ToolchainMissingError, check, find_toolchain

IR: dict[str, Any] = CLAMP_IR
LIST_IR: dict[str, Any] = {
    **IR,
    "name": "sum_all",
    "params": [{"name": "values", "type": "list<int>", "description": "The numbers."}],
    "returns": {"type": "int", "description": "The sum."},
}
GOOD: dict[Language, str] = {
    "typescript": "export function clampValue(value: number, lo: number, hi: number): number {\n"
    "  return Math.max(lo, Math.min(hi, value));\n}",
    "rust": "pub fn clamp_value(value: i64, lo: i64, hi: i64) -> i64 {\n    value.max(lo).min(hi)\n}",
    "go": 'import "math"\n\nfunc ClampValue(value int, lo int, hi int) int {\n'
    "\tif value < lo {\n\t\treturn lo\n\t}\n\tif value > hi {\n\t\treturn hi\n\t}\n\treturn value\n}",
    "java": "public static int clampValue(int value, int lo, int hi) {\n"
    "    return Math.max(lo, Math.min(hi, value));\n}",
}


class FakeChecker:
    """Compiles nothing: a source fails while it contains ``"BROKEN"``."""

    def __init__(self) -> None:
        self.calls: list[tuple[Language, str]] = []

    def __call__(self, language: Language, source: str) -> CompileResult:
        self.calls.append((language, source))
        ok = "BROKEN" not in source
        diagnostics = "" if ok else "./main.go:4:9: undefined: BROKEN"
        return CompileResult(ok, diagnostics, 0.01, "fake", "1.0")


class SignatureSpy(BaseCallback):
    """Records the running Predict's ``.signature``, which lift-dspy's engine constrains."""

    def __init__(self) -> None:
        self.seen: list[type[dspy.Signature]] = []

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self.seen.append(dspy.settings.caller_modules[-1].signature)


def _lark_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _grammar_of(signature: type[dspy.Signature]) -> str:
    """The Lark grammar the ``code`` field carries (``Annotated[str, Grammar(lark)]``)."""
    (marker,) = [m for m in signature.output_fields["code"].metadata if hasattr(m, "lark")]
    lark: str = marker.lark
    return lark


def test_grammar_code_is_the_default_and_json_parts_an_option() -> None:
    assert IRToCode().code_form == "grammar-code"
    assert "code" in IRToCode().generate["rust"].signature.output_fields
    parts = IRToCode(code_form="json-parts")
    assert "implementation" in parts.generate["rust"].signature.output_fields
    with pytest.raises(ValueError, match="code_form"):
        IRToCode(code_form="yaml")  # type: ignore[arg-type]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_call_runs_under_the_code_grammar_with_the_irs_header(language: Language) -> None:
    spy = SignatureSpy()
    dspy.configure(lm=DummyLM([{"code": GOOD[language]}]), callbacks=[spy])
    program = IRToCode([language], checker=FakeChecker())
    result = program(ir=IR).results[language]
    assert result.ok is True, result.error
    (seen,) = spy.seen
    head = function_header(language, IR)
    # DummyLM's max_tokens is 1000: the body gets what the markers and header leave.
    assert _grammar_of(seen) == code_grammar(language, head, max_body_chars=body_chars_bound(1000))
    # Outside the call the predictor keeps its configured (free) signature.
    assert program.generate[language].signature.output_fields["code"].annotation is str
    assert result.implementation == GOOD[language]


def test_the_body_bound_follows_the_lms_max_tokens() -> None:
    assert body_chars_bound(None) is None
    assert body_chars_bound(512) == 384 * 3  # 128 tokens for markers, imports, header; 3 chars a token
    assert body_chars_bound(100) == 64 * 3  # never below a usable body
    spy = SignatureSpy()
    lm = DummyLM([{"code": GOOD["rust"]}])
    lm.kwargs["max_tokens"] = 600
    dspy.configure(lm=lm, callbacks=[spy])
    IRToCode(["rust"], checker=FakeChecker())(ir=IR)
    head = function_header("rust", IR)
    assert _grammar_of(spy.seen[0]) == code_grammar("rust", head, max_body_chars=472 * 3)


def test_narrowed_signatures_are_cached_per_header_and_pinned_per_thread() -> None:
    base = ir_to_source_signature("go")
    head = function_header("go", IR)
    one = narrowed_signature(base, "go", head, None)
    assert narrowed_signature(base, "go", head, None) is one  # one class: one compiled constraint
    other = narrowed_signature(base, "go", function_header("go", LIST_IR), None)
    assert other is not one
    assert _grammar_of(one) != _grammar_of(other)
    assert one.__name__ == base.__name__
    assert one.instructions == base.instructions

    predictor = PinnablePredict(base)
    seen: list[Any] = []
    with predictor.pinned(one):
        assert predictor.signature is one
        worker = threading.Thread(target=lambda: seen.append(predictor.signature))
        worker.start()
        worker.join()
    assert seen == [base]


def test_payload_carries_the_code_grammar_with_the_pinned_header() -> None:
    fake = FakeVLLM([f"[[ ## code ## ]]\n{GOOD['go']}\n\n[[ ## completed ## ]]"])
    dspy.configure(lm=fake.lm(max_tokens=512))
    result = IRToCode(["go"], checker=FakeChecker(), demos=False)(ir=IR).results["go"]
    assert result.ok is True, result.error
    (payload,) = fake.payloads
    grammar = payload["structured_outputs"]["grammar"]
    assert '"func ClampValue(value int, lo int, hi int) int"' in grammar
    assert "[[ ## code ## ]]" in grammar


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_chat_layout_takes_every_languages_pinned_grammar(language: Language) -> None:
    signature = narrowed_signature(
        ir_to_source_signature(language), language, function_header(language, IR), body_chars_bound(512)
    )
    payload = lift_dspy.constraint_for(signature)
    assert _lark_string(function_header(language, IR)) in payload["grammar"]


def test_an_answer_with_another_header_is_refused_by_the_grammar() -> None:
    # The server "ignored" the grammar: lift-dspy's check (the same grammar) refuses the answer.
    other = "func Clamp(x int) int {\n\treturn x\n}"
    fake = FakeVLLM([f"[[ ## code ## ]]\n{other}\n\n[[ ## completed ## ]]"] * 2)
    dspy.configure(lm=fake.lm(max_tokens=512))
    result = IRToCode(["go"], checker=FakeChecker(), demos=False)(ir=IR).results["go"]
    assert result.ok is None
    assert result.error is not None
    assert "generation failed" in result.error


def test_a_failing_answer_is_repaired_with_the_diagnostics_and_the_previous_code() -> None:
    broken = "func ClampValue(value int, lo int, hi int) int {\n\treturn BROKEN\n}"
    lm = DummyLM([{"code": broken}, {"code": GOOD["go"]}])
    spy = SignatureSpy()
    dspy.configure(lm=lm, callbacks=[spy])
    checker = FakeChecker()
    result = IRToCode(["go"], checker=checker)(ir=IR).results["go"]
    assert (result.ok, result.repairs, [a.ok for a in result.attempts]) == (True, 1, [False, True])
    repair_prompt = lm.history[-1]["messages"][-1]["content"]
    assert "undefined: BROKEN" in repair_prompt  # the diagnostics reach the LM
    assert "4 | return BROKEN" in repair_prompt  # with the assembled line they are about
    assert "return BROKEN" in repair_prompt  # and the previous answer
    # The repair runs under the same grammar as the first answer (same header).
    assert spy.seen[1].__name__ == RepairSource.__name__
    assert _grammar_of(spy.seen[1]) == _grammar_of(spy.seen[0])
    assert 'import (\n\t"math"\n)' not in result.source  # unused: dropped (Go rejects it)


def test_repairs_stop_at_max_repairs() -> None:
    broken = {"code": "func ClampValue(value int, lo int, hi int) int {\n\treturn BROKEN\n}"}
    dspy.configure(lm=DummyLM([broken, broken, broken]))
    result = IRToCode(["go"], max_repairs=2, checker=FakeChecker())(ir=IR).results["go"]
    assert (result.ok, result.repairs, len(result.attempts)) == (False, 2, 3)


def test_missing_toolchain_is_reported_not_repaired() -> None:
    def missing(language: Language, source: str) -> CompileResult:
        raise ToolchainMissingError(language, "javac")

    lm = DummyLM([{"code": GOOD["java"]}])
    dspy.configure(lm=lm)
    result = IRToCode(["java"], checker=missing)(ir=IR).results["java"]
    assert result.ok is None
    assert "install-toolchains.sh java" in result.diagnostics
    assert "public final class ClampValue" in result.source
    assert len(lm.history) == 1


def test_demos_are_raw_source_under_the_demo_header() -> None:
    program = IRToCode()
    for language, predictor in program.generate.items():
        (demo,) = predictor.demos
        assert demo.code == demo_source(language)
        assert demo.code.splitlines()[-1] == "}"
        assert demo.header in demo.code
    assert all(not p.demos for p in program.repair.values())


def test_split_and_assemble() -> None:
    code = "use std::collections::HashMap;\n\npub fn f() -> i64 {\n    1\n}"
    assert split_source("rust", code, "pub fn f() -> i64") == (
        ["use std::collections::HashMap;"],
        "pub fn f() -> i64 {\n    1\n}",
    )
    assert split_source("rust", code) == split_source("rust", code, "pub fn f() -> i64")
    # The header's own imports are added once, not twice.
    java = "import java.util.*;\npublic static int n(List<Integer> v) {\n    return v.size();\n}"
    source = assemble_source("java", java, required_imports=["java.util.List"])
    assert source.startswith("import java.util.*;\n\npublic final class N {")
    source = assemble_source("java", java.split("\n", 1)[1], required_imports=["java.util.List"])
    assert source.startswith("import java.util.List;\n\npublic final class N {")
    rust = assemble_source(
        "rust",
        "use std::collections::{HashMap, HashSet};\nfn f() {}",
        required_imports=["std::collections::HashMap"],
    )
    assert rust.startswith("use std::collections::{HashMap, HashSet};\n\nfn f() {}")
    go = assemble_source(
        "go", 'import (\n\t"strings"\n\t"fmt"\n)\nfunc F() string {\n\treturn strings.ToUpper("a")\n}'
    )
    assert go.startswith('package lib\n\nimport (\n\t"strings"\n)\n\nfunc F() string {')


def test_the_body_brace_follows_the_pinned_header_on_its_line() -> None:
    head = "func F() int"
    source = assemble_source("go", f"{head}\n\n{{\n\treturn 1\n}}", header=head)
    assert "func F() int {\n\treturn 1\n}" in source


def test_compile_errors_are_classified() -> None:
    assert classify("typescript", "main.ts(2,3): error TS1005: ';' expected.", ok=False) == "syntax"
    assert classify("typescript", "main.ts(2,3): error TS2304: Cannot find name 'x'.", ok=False) == "other"
    assert classify("rust", "error: expected one of `.`, `;`, `?`, `}`, found `x`", ok=False) == "syntax"
    assert classify("rust", "error: this file contains an unclosed delimiter", ok=False) == "syntax"
    assert classify("rust", "error[E0425]: cannot find value `y` in this scope", ok=False) == "other"
    assert (
        classify(
            "go", "./main.go:5:1: syntax error: non-declaration statement outside function body", ok=False
        )
        == "syntax"
    )
    assert classify("go", './main.go:3:2: "math" imported and not used', ok=False) == "other"
    assert classify("java", "ClampValue.java:4: error: ';' expected", ok=False) == "syntax"
    assert classify("java", "ClampValue.java:4: error: illegal start of expression", ok=False) == "syntax"
    assert classify("java", "ClampValue.java:4: error: cannot find symbol", ok=False) == "other"
    assert classify("java", "", ok=True) == "ok"
    assert classify("go", "go: stopped after 120 s (timeout)", ok=False) == "timeout"
    assert syntax_errors("go", "a\n./main.go:1:1: syntax error: x\nb") == ["./main.go:1:1: syntax error: x"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_scripted_answers_and_the_demos_are_sentences_of_their_grammars(language: Language) -> None:
    good = GrammarMatcher(grammar_from_lark(code_grammar(language, function_header(language, IR))))
    assert good.mismatch(GOOD[language]) is None
    demo = GrammarMatcher(grammar_from_lark(code_grammar(language, function_header(language, DEMO_IR))))
    assert demo.mismatch(demo_source(language)) is None
    assert demo.mismatch(GOOD[language]) is not None  # another header


@pytest.mark.toolchain
@pytest.mark.parametrize("language", LANGUAGES)
def test_assembled_answers_and_demos_compile(language: Language) -> None:
    try:
        find_toolchain(language)
    except ToolchainMissingError as exc:
        pytest.skip(str(exc))
    head = function_header(language, IR)
    verdict = check(language, assemble_source(language, GOOD[language], header=head))
    assert verdict.ok, verdict.diagnostics
    demo = assemble_source(
        language,
        demo_source(language),
        header=function_header(language, DEMO_IR),
        required_imports=suggested_imports(language, DEMO_IR),
    )
    verdict = check(language, demo)
    assert verdict.ok, verdict.diagnostics
