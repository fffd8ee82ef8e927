"""DSPy signatures users import: the IR-to-code pipeline and the analysis agent.

Their output types are the models in :mod:`lift_dspy.schemas`, so a grammar-constraining LM
(``lift_dspy.GuidanceLM``) makes every answer parse.
"""

from __future__ import annotations

from .agent import (
    AdaptPlan,
    ClassifyIntent,
    ProposeToolCall,
    ResolvedCall,
    ToolArgumentError,
    ToolCallError,
    UnknownToolError,
    resolve_tool_call,
    tool_call_signature,
)
from .ir_to_code import (
    IRToGo,
    IRToJava,
    IRToRust,
    IRToTypeScript,
    NLToIR,
    RepairCode,
    ir_to_code_signature,
    repair_signature,
)

__all__ = [
    "AdaptPlan",
    "ClassifyIntent",
    "IRToGo",
    "IRToJava",
    "IRToRust",
    "IRToTypeScript",
    "NLToIR",
    "ProposeToolCall",
    "RepairCode",
    "ResolvedCall",
    "ToolArgumentError",
    "ToolCallError",
    "UnknownToolError",
    "ir_to_code_signature",
    "repair_signature",
    "resolve_tool_call",
    "tool_call_signature",
]
