"""IR -> header per language, the pinned grammar built from it, and the built-in demos."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lift_dspy.schemas import IMPLEMENTATION_MODELS, LANGUAGES, FunctionIR, Language, load_schema
from lift_dspy.signatures.ir_to_code import ir_to_code_signature
from pydantic import ValidationError

import lift_dspy
from lift_dspy.programs.assemble import assemble
from lift_dspy.programs.demos import DEMO_IMPLEMENTATIONS, DEMO_IR, code_demo, ir_demo
from lift_dspy.programs.headers import (
    TYPE_MAP,
    header_hint,
    pinned_implementation_model,
    suggested_imports,
    suggested_signature,
)
from lift_dspy.programs.toolchains import ToolchainMissingError, check

IR_TYPES = load_schema("function_ir")["$defs"]["IRType"]["enum"]


def _ir(params: list[tuple[str, str]], returns: str, name: str = "do_thing") -> dict[str, Any]:
    return {
        "name": name,
        "purpose": "p",
        "params": [{"name": n, "type": t, "description": "d"} for n, t in params],
        "returns": {"type": returns, "description": "r"},
        "effects": ["pure"],
        "preconditions": [],
        "postconditions": [],
        "examples": [],
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_type_map_covers_every_ir_type(language: Language) -> None:
    assert sorted(TYPE_MAP[language]) == sorted(IR_TYPES)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("typescript", "export function wordCounts(textLines: string[], minLen: number): "
                       "Record<string, number>"),
        ("rust", "pub fn word_counts(text_lines: &[String], min_len: i64) -> HashMap<String, i64>\n"
                 "uses: std::collections::HashMap"),
        ("go", "func WordCounts(textLines []string, minLen int) map[string]int"),
        ("java", "public static Map<String, Integer> wordCounts(List<String> textLines, int minLen)\n"
                 "imports: java.util.List, java.util.Map"),
    ],
)  # fmt: skip
def test_header(language: Language, expected: str) -> None:
    ir = _ir([("text_lines", "list<string>"), ("min_len", "int")], "map<string,int>", name="word_counts")
    assert header_hint(language, ir) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("typescript", "export function default_(return_: number, type: number, value: number): number"),
        ("rust", "pub fn default(return_: i64, type_: i64, value: i64) -> i64"),
        ("go", "func Default(return_ int, type_ int, value int) int"),
        ("java", "public static int default_(int return_, int type, int value)"),
    ],
)  # fmt: skip
def test_reserved_words_in_the_ir_get_a_trailing_underscore(language: Language, expected: str) -> None:
    """An IR may name a parameter ``return`` (seen in the code-forms run): the pinned header still parses."""
    ir = _ir([("return", "int"), ("type", "int"), ("value", "int")], "int", name="default")
    assert header_hint(language, ir).splitlines()[0] == expected


@pytest.mark.parametrize(("language", "expected"), [("rust", "pub fn do_thing()"), ("go", "func DoThing()")])
def test_void_header(language: Language, expected: str) -> None:
    assert header_hint(language, _ir([], "void")) == expected


def test_typescript_and_go_need_no_imports() -> None:
    ir = _ir([("xs", "list<int>")], "map<string,int>")
    assert suggested_imports("typescript", ir) == suggested_imports("go", ir) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_pinned_model_accepts_only_the_header(language: Language) -> None:
    ir = _ir([("values", "list<float>"), ("limit", "optional<int>")], "float", name="mean_below")
    model = pinned_implementation_model(language, ir)
    assert model is pinned_implementation_model(language, FunctionIR.model_validate(ir))  # cached
    assert model.__name__ == IMPLEMENTATION_MODELS[language].__name__
    parts = {"typescript": "imports", "go": "imports", "java": "imports", "rust": "uses"}
    good = {"function_signature": suggested_signature(language, ir), parts[language]: [], "helper_types": []}
    good["body_statements"] = ["x"]
    instance = model.model_validate(good)
    assert IMPLEMENTATION_MODELS[language].model_validate(instance.model_dump()).model_dump() == good
    wrong = json.loads(json.dumps(good))
    wrong["function_signature"]["params"][0]["type"] = "int"
    with pytest.raises(ValidationError):
        model.model_validate(wrong)
    fewer = json.loads(json.dumps(good))
    fewer["function_signature"]["params"].pop()
    with pytest.raises(ValidationError):
        model.model_validate(fewer)


@pytest.mark.parametrize("language", LANGUAGES)
def test_pinned_signature_is_a_valid_constraint(language: Language) -> None:
    for ir in (DEMO_IR, _ir([], "void")):
        pinned = pinned_implementation_model(language, ir)
        signature = ir_to_code_signature(language).with_updated_fields("implementation", type_=pinned)
        constraint = lift_dspy.constraint_for(signature)
        assert json.dumps(suggested_signature(language, ir)["name"]) in constraint["grammar"]


def test_demos_are_valid_and_match_their_headers() -> None:
    assert FunctionIR.model_validate(ir_demo().ir).name == "count_above"
    for language in LANGUAGES:
        demo = code_demo(language)
        assert set(demo.inputs()) == {"ir", "header"}
        assert DEMO_IMPLEMENTATIONS[language]["function_signature"] == suggested_signature(language, DEMO_IR)
        pinned_implementation_model(language, DEMO_IR).model_validate(demo.implementation)


@pytest.mark.toolchain
@pytest.mark.parametrize("language", LANGUAGES)
def test_demos_compile(language: Language) -> None:
    try:
        result = check(language, assemble(language, DEMO_IMPLEMENTATIONS[language]))
    except ToolchainMissingError as exc:
        pytest.skip(str(exc))
    assert result.ok, result.diagnostics
