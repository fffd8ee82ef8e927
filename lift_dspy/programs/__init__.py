"""DSPy programs built on lift-dspy: IR-to-code with real compile checks, and its task suite."""

from __future__ import annotations

from lift_dspy.constraints.code import code_grammar
from lift_dspy.programs.assemble import assemble
from lift_dspy.programs.ir_to_code import Attempt, IRToCode, LanguageResult
from lift_dspy.programs.toolchains import CompileResult, ToolchainError, ToolchainMissingError, check

__all__ = [
    "Attempt",
    "CompileResult",
    "IRToCode",
    "LanguageResult",
    "ToolchainError",
    "ToolchainMissingError",
    "assemble",
    "check",
    "code_grammar",
]
