"""Every signature lift-dspy ships can become a grammar constraint, and the factories pick right."""

from __future__ import annotations

import dspy
import pytest
from lift_dspy.schemas import IMPLEMENTATION_MODELS, LANGUAGES, FunctionIR, Language
from lift_dspy.signatures import (
    AdaptPlan,
    ClassifyIntent,
    NLToIR,
    ProposeToolCall,
    RepairCode,
    ir_to_code_signature,
    repair_signature,
    tool_call_signature,
)

import lift_dspy
from lift_dspy.programs.tasks import AGENT_TOOLS

SIGNATURES: list[type[dspy.Signature]] = [
    NLToIR,
    *(ir_to_code_signature(lang) for lang in LANGUAGES),
    *(repair_signature(lang) for lang in LANGUAGES),
    ClassifyIntent,
    AdaptPlan,
    ProposeToolCall,
    tool_call_signature(AGENT_TOOLS),
]


@pytest.mark.parametrize("adapter", [None, dspy.JSONAdapter()], ids=["chat", "json"])
@pytest.mark.parametrize("signature", SIGNATURES, ids=lambda s: s.__name__)
def test_signature_becomes_a_valid_constraint(
    signature: type[dspy.Signature], adapter: dspy.Adapter | None
) -> None:
    constraint = lift_dspy.constraint_for(signature, adapter)
    assert set(constraint) <= {"grammar", "json"}
    assert constraint


@pytest.mark.parametrize("language", LANGUAGES)
def test_factories_type_the_output_by_language(language: Language) -> None:
    model = IMPLEMENTATION_MODELS[language]
    generate = ir_to_code_signature(language)
    assert list(generate.input_fields) == ["ir", "header"]
    assert generate.input_fields["ir"].annotation is FunctionIR
    assert generate.output_fields["implementation"].annotation is model
    repair = repair_signature(language)
    assert issubclass(repair, RepairCode)
    assert list(repair.input_fields) == ["language", "ir", "previous", "diagnostics"]
    assert repair.input_fields["previous"].annotation is model
    assert repair.output_fields["implementation"].annotation is model


@pytest.mark.parametrize(("alias", "language"), [("ts", "typescript"), ("RS", "rust"), (" golang ", "go")])
def test_language_aliases(alias: str, language: Language) -> None:
    assert ir_to_code_signature(alias) is ir_to_code_signature(language)


def test_unknown_language_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="typescript, rust, go, java"):
        repair_signature("cobol")


@pytest.mark.parametrize(
    ("language", "command"), [("typescript", "tsc"), ("rust", "rustc"), ("go", "go vet"), ("java", "javac")]
)
def test_instructions_name_the_checker_and_the_type_mapping(language: Language, command: str) -> None:
    instructions = ir_to_code_signature(language).instructions
    assert command in instructions
    assert "copy the header" in instructions
    assert "list<T>" in instructions
