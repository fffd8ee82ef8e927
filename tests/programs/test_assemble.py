"""Implementation object -> source text: golden files per language, and they compile.

Refresh the golden files after an intended layout change with
``LIFT_DSPY_UPDATE_GOLDEN=1 pytest tests/programs/test_assemble.py`` (that run fails for each
rewritten file: review the diff, then rerun without it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from goldens import check_golden
from lift_dspy.schemas import LANGUAGES, JavaImplementation, Language
from pydantic import ValidationError

from lift_dspy.programs.assemble import assemble, java_class_name, reindent
from lift_dspy.programs.toolchains import ToolchainMissingError, check

GOLDEN = Path(__file__).parent / "golden"
UNKNOWN: Any = "cobol"
SUFFIX: dict[Language, str] = {"typescript": "ts", "rust": "rs", "go": "go", "java": "java"}

_CLAMP_BODY = ["if (lo > hi) {", "THROW", "}", "if (value < lo) {", "return lo;", "} else if (value > hi) {"]
_CLAMP_BODY += ["return hi;", "}", "return value;"]


_GO_PANIC = 'panic(fmt.Sprintf("lo %d > hi %d", lo, hi))'


def _fields(kind: str, *names: str) -> list[dict[str, str]]:
    return [{"name": n, "type": kind} for n in names]


def _params(kind: str) -> list[dict[str, str]]:
    return _fields(kind, "value", "lo", "hi")


IMPLEMENTATIONS: dict[Language, dict[str, Any]] = {
    "typescript": {
        "function_signature": {"name": "clampRange", "params": _params("number"), "return_type": "Range"},
        "imports": [],
        "helper_types": [{"name": "Range", "fields": _fields("number", "lo", "hi")}],
        "body_statements": [
            "if (lo > hi) {",
            'throw new Error("lo > hi");',
            "}",
            "const v = Math.min(Math.max(value, lo), hi);",
            "return { lo: v, hi: hi };",
        ],
    },
    "rust": {
        "function_signature": {
            "name": "count_words",
            "params": [{"name": "text", "type": "&str"}],
            "return_type": "HashMap<String, i64>",
        },
        "uses": ["std::collections::HashMap"],
        "helper_types": [{"name": "Stats", "fields": [{"name": "words", "type": "usize"}]}],
        "body_statements": [
            "let mut counts: HashMap<String, i64> = HashMap::new();",
            "for word in text.split_whitespace() {",
            "*counts.entry(word.to_string()).or_insert(0) += 1;",
            "}",
            "counts",
        ],
    },
    "go": {
        "function_signature": {"name": "ClampValue", "params": _params("int"), "return_type": "int"},
        "imports": ["fmt"],
        "helper_types": [{"name": "Bounds", "fields": _fields("int", "Lo", "Hi")}],
        "body_statements": [s.rstrip(";").replace("THROW", _GO_PANIC) for s in _CLAMP_BODY],
    },
    "java": {
        "function_signature": {"name": "clampValue", "params": _params("int"), "return_type": "int"},
        "imports": ["java.util.Objects"],
        "helper_types": [{"name": "Bounds", "fields": _fields("int", "lo", "hi")}],
        "body_statements": [
            s.replace("THROW", 'throw new IllegalArgumentException("lo > hi: " + Objects.toString(lo));')
            for s in _CLAMP_BODY
        ],
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_golden_source(language: Language) -> None:
    source = assemble(language, IMPLEMENTATIONS[language])
    check_golden(GOLDEN / f"assemble.{SUFFIX[language]}", source)  # update mode rewrites, then fails


@pytest.mark.parametrize("language", LANGUAGES)
def test_assembly_is_deterministic_and_accepts_models(language: Language) -> None:
    from lift_dspy.schemas import IMPLEMENTATION_MODELS

    model = IMPLEMENTATION_MODELS[language].model_validate(IMPLEMENTATIONS[language])
    assert assemble(language, model) == assemble(language, IMPLEMENTATIONS[language])


@pytest.mark.toolchain
@pytest.mark.parametrize("language", LANGUAGES)
def test_golden_source_compiles(language: Language) -> None:
    try:
        result = check(language, (GOLDEN / f"assemble.{SUFFIX[language]}").read_text(encoding="utf-8"))
    except ToolchainMissingError as exc:
        pytest.skip(str(exc))
    assert result.ok, result.diagnostics


def test_wrong_shape_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        assemble("rust", IMPLEMENTATIONS["go"])  # Go has "imports", Rust "uses"


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        assemble(UNKNOWN, IMPLEMENTATIONS["go"])


def test_reindent_follows_brackets_and_ignores_strings() -> None:
    lines = ["if (a) {", 'log("}{");', "} else {", "x = [", "1,", "];", "}", "  done();  "]
    assert reindent(lines, unit="  ", base=0) == [
        "if (a) {",
        '  log("}{");',
        "} else {",
        "  x = [",
        "    1,",
        "  ];",
        "}",
        "done();",
    ]


def test_reindent_closes_blocks_left_open() -> None:
    lines = ["for (x of xs) {", "if (x) {", "n++;", "}"]
    assert reindent(lines, unit=" ", base=0, close_blocks=True) == [
        "for (x of xs) {",
        " if (x) {",
        "  n++;",
        " }",
        "}",
    ]
    assert reindent(lines, unit=" ", base=0)[-1] == " }"  # off by default
    # Only braces: an unclosed ( or [ is not guessed at.
    assert reindent(["f(a, {"], unit=" ", base=0, close_blocks=True) == ["f(a, {"]


def test_assembled_java_gets_its_missing_brace() -> None:
    impl = dict(
        IMPLEMENTATIONS["java"], body_statements=["int n = 0;", "for (int v : xs) {", "n++;", "return n;"]
    )
    source = assemble("java", impl)
    assert source.endswith("            return n;\n        }\n    }\n}\n")


def test_reindent_splits_embedded_newlines_and_drops_blank_lines() -> None:
    assert reindent(["a {\nb\n}", "", "   "], unit="\t", base=1) == ["\ta {", "\t\tb", "\t}"]


def test_rust_unit_return_has_no_arrow() -> None:
    impl = dict(
        IMPLEMENTATIONS["rust"], function_signature={"name": "noop", "params": [], "return_type": "()"}
    )
    impl["body_statements"] = ["let _ = 1;"]
    assert "pub fn noop() {" in assemble("rust", impl)


def test_go_empty_return_type() -> None:
    impl = dict(IMPLEMENTATIONS["go"], function_signature={"name": "Noop", "params": [], "return_type": ""})
    assert "func Noop() {" in assemble("go", impl)


def test_java_class_name_avoids_helper_names() -> None:
    impl = JavaImplementation.model_validate(
        dict(
            IMPLEMENTATIONS["java"],
            helper_types=[{"name": "ClampValue", "fields": [{"name": "x", "type": "int"}]}],
        )
    )
    assert java_class_name(impl) == "ClampValueFunctions"
