"""One worked example per IR-to-code step, used as the default few-shot demo of IRToCode.

A grammar guarantees the shape of an answer, not its sense; a small model learns far more from
one complete example than from instructions (without it SmolLM2-135M leaves ``params`` empty and
writes ``int`` for Rust). Every demo here compiles (``tests/programs/test_demos.py``). DSPy
optimizers replace them like any other demos.
"""

from __future__ import annotations

from typing import Any

import dspy

from lift_dspy.programs.assemble import reindent
from lift_dspy.programs.headers import function_header, header_hint
from lift_dspy.schemas import Language

__all__ = [
    "DEMO_IMPLEMENTATIONS",
    "DEMO_IR",
    "DEMO_REQUEST",
    "code_demo",
    "demo_source",
    "ir_demo",
    "source_demo",
]

DEMO_REQUEST = "Count how many numbers in a list are greater than a threshold."

DEMO_IR: dict[str, Any] = {
    "name": "count_above",
    "purpose": "Count the numbers in a list that are greater than a threshold.",
    "params": [
        {"name": "values", "type": "list<int>", "description": "The numbers to look at."},
        {"name": "threshold", "type": "int", "description": "Numbers above it are counted."},
    ],
    "returns": {"type": "int", "description": "How many values are greater than threshold."},
    "effects": ["pure"],
    "preconditions": [],
    "postconditions": ["0 <= result <= len(values)"],
    "examples": [{"input": "[1, 5, 7], 4", "output": "2"}, {"input": "[], 0", "output": "0"}],
}


def _signature(name: str, params: list[tuple[str, str]], return_type: str) -> dict[str, Any]:
    return {"name": name, "params": [{"name": n, "type": t} for n, t in params], "return_type": return_type}


DEMO_IMPLEMENTATIONS: dict[Language, dict[str, Any]] = {
    "typescript": {
        "function_signature": _signature(
            "countAbove", [("values", "number[]"), ("threshold", "number")], "number"
        ),
        "imports": [],
        "helper_types": [],
        "body_statements": [
            "let count = 0;",
            "for (const v of values) {",
            "if (v > threshold) {",
            "count += 1;",
            "}",
            "}",
            "return count;",
        ],
    },
    "rust": {
        "function_signature": _signature("count_above", [("values", "&[i64]"), ("threshold", "i64")], "i64"),
        "uses": [],
        "helper_types": [],
        "body_statements": [
            "let mut count = 0;",
            "for &v in values {",
            "if v > threshold {",
            "count += 1;",
            "}",
            "}",
            "count",
        ],
    },
    "go": {
        "function_signature": _signature("CountAbove", [("values", "[]int"), ("threshold", "int")], "int"),
        "imports": [],
        "helper_types": [],
        "body_statements": [
            "count := 0",
            "for _, v := range values {",
            "if v > threshold {",
            "count++",
            "}",
            "}",
            "return count",
        ],
    },
    "java": {
        "function_signature": _signature(
            "countAbove", [("values", "List<Integer>"), ("threshold", "int")], "int"
        ),
        "imports": ["java.util.List"],
        "helper_types": [],
        "body_statements": [
            "int count = 0;",
            "for (int v : values) {",
            "if (v > threshold) {",
            "count++;",
            "}",
            "}",
            "return count;",
        ],
    },
}


def ir_demo() -> dspy.Example:
    """The request -> IR demo."""
    return dspy.Example(request=DEMO_REQUEST, ir=DEMO_IR).with_inputs("request")


def code_demo(language: Language) -> dspy.Example:
    """The IR -> implementation demo for ``language``, with the header IRToCode would show."""
    return dspy.Example(
        ir=DEMO_IR, header=header_hint(language, DEMO_IR), implementation=DEMO_IMPLEMENTATIONS[language]
    ).with_inputs("ir", "header")


_INDENT: dict[Language, str] = {"typescript": "  ", "rust": "    ", "go": "\t", "java": "    "}


def demo_source(language: Language) -> str:
    """The demo implementation written as the grammar-code form's answer: imports, then the function."""
    impl = DEMO_IMPLEMENTATIONS[language]
    head = function_header(language, DEMO_IR)
    quotes = '"' if language == "rust" else "\"'`"
    body = reindent(impl["body_statements"], unit=_INDENT[language], quotes=quotes)
    imports = {
        "java": [f"import {i};" for i in impl.get("imports", [])],
        "rust": [f"use {u};" for u in impl.get("uses", [])],
        "go": [f'import "{i}"' for i in impl.get("imports", [])],
    }.get(language, [])
    function = "\n".join([head + " {", *body, "}"])
    return "\n".join([*imports, function]) if imports else function


def source_demo(language: Language) -> dspy.Example:
    """The IR -> raw source demo for ``language`` (the grammar-code form of IRToCode)."""
    head = function_header(language, DEMO_IR)
    return dspy.Example(ir=DEMO_IR, header=head, code=demo_source(language)).with_inputs("ir", "header")
