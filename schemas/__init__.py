"""JSON Schemas for the IR-to-code pipeline and the analysis agent, with their Pydantic models.

``schemas/json/*.schema.json`` (draft 2020-12, every object closed, bounded strings and arrays) is
the source of truth; ``schemas/models/`` is generated from it by ``python -m
lift_dspy.schemas.regenerate`` and committed. Use the models as DSPy output types::

    import dspy
    from lift_dspy.schemas import FunctionIR

    class Spec(dspy.Signature):
        request: str = dspy.InputField()
        ir: FunctionIR = dspy.OutputField()
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from .models.function_ir import FunctionIR
from .models.go_impl import GoImplementation
from .models.intent import IntentClassification
from .models.java_impl import JavaImplementation
from .models.plan import Plan
from .models.rust_impl import RustImplementation
from .models.tool_call import ToolCall
from .models.typescript_impl import TypeScriptImplementation

__all__ = [
    "IMPLEMENTATION_MODELS",
    "LANGUAGES",
    "SCHEMA_DIR",
    "FunctionIR",
    "GoImplementation",
    "Implementation",
    "IntentClassification",
    "JavaImplementation",
    "Language",
    "Plan",
    "RustImplementation",
    "ToolCall",
    "TypeScriptImplementation",
    "load_schema",
]

SCHEMA_DIR = Path(__file__).resolve().parent / "json"

Language = Literal["typescript", "rust", "go", "java"]
"""The target languages of the IR-to-code pipeline."""

LANGUAGES: tuple[Language, ...] = ("typescript", "rust", "go", "java")

Implementation = TypeScriptImplementation | RustImplementation | GoImplementation | JavaImplementation
"""Any language's implementation object."""

IMPLEMENTATION_MODELS: dict[Language, type[BaseModel]] = {
    "typescript": TypeScriptImplementation,
    "rust": RustImplementation,
    "go": GoImplementation,
    "java": JavaImplementation,
}


def load_schema(name: str) -> dict[str, Any]:
    """Load one JSON Schema by file stem, e.g. ``load_schema("function_ir")``.

    Raises:
        FileNotFoundError: No such schema; the message lists the available names.
    """
    path = SCHEMA_DIR / f"{name}.schema.json"
    if not path.is_file():
        names = sorted(p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json"))
        raise FileNotFoundError(f"no schema {name!r} in {SCHEMA_DIR}; available: {', '.join(names)}")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema
