"""Signature -> output model -> JSON Schema / Lark grammar, checked by llguidance. Pure: no I/O."""

from lift_dspy.constraints.constraint import (
    Constraint,
    OutputFormat,
    compile_constraint,
    constraint_for,
    format_for_adapter,
)
from lift_dspy.constraints.model import output_model
from lift_dspy.constraints.tools import ToolSpec, tool_spec

__all__ = [
    "Constraint",
    "OutputFormat",
    "ToolSpec",
    "compile_constraint",
    "constraint_for",
    "format_for_adapter",
    "output_model",
    "tool_spec",
]
