"""Which signature a DSPy call is running, and its constraint.

DSPy's adapters cannot pass extra arguments to an LM, but DSPy keeps the stack of calling modules in
``dspy.settings.caller_modules`` (a context variable: right in threads, ``dspy.Parallel`` and
asyncio). The innermost ``dspy.Predict`` is the call being made; an enclosing ``dspy.ReAct``
supplies the tools. The layout is JSON when the call carries a ``response_format`` (DSPy's
JSONAdapter), else the configured adapter's. Before constraining, the rendered prompt must ask for
the signature's output fields; otherwise the call goes out unconstrained, with a warning once.
"""

from __future__ import annotations

import logging
from typing import Any

import dspy
from dspy.lm15 import Request

from lift_dspy.constraints import Constraint, OutputFormat, compile_constraint, format_for_adapter, tool_spec
from lift_dspy.constraints.chat import header
from lift_dspy.constraints.schema import Options

__all__ = ["active_constraint", "resolve_constraint"]

logger = logging.getLogger("lift_dspy.engine")
_warned: set[str] = set()


def active_constraint(request: Request, options: Options | None = None) -> Constraint | None:
    """The constraint of the ``dspy.Predict`` being run, or None outside of one.

    Raises:
        UnsupportedSchemaError: the signature cannot be constrained.
    """
    system = request.system if isinstance(request.system, str) else ""
    if not system and request.messages:
        system = request.messages[0].text or ""
    return resolve_constraint(system, request.config.response_format is not None, options)


def resolve_constraint(
    system: str, json_requested: bool, options: Options | None = None
) -> Constraint | None:
    """The constraint for a call whose system prompt is ``system``, made inside a ``dspy.Predict``.

    Args:
        system: The system prompt DSPy's adapter wrote (it must ask for the signature's outputs).
        json_requested: The call carries a ``response_format`` (DSPy's JSONAdapter sends one).
        options: How constraints are built.

    Raises:
        UnsupportedSchemaError: the signature cannot be constrained.
    """
    stack = dspy.settings.caller_modules or []
    predict = stack[-1] if stack and isinstance(stack[-1], dspy.Predict) else None
    if predict is None:
        return None
    fmt: OutputFormat | None
    if json_requested:
        fmt = "json"
    else:
        adapter = dspy.settings.adapter
        fmt = format_for_adapter(adapter)
        if fmt is None:
            _warn_once(
                type(adapter).__name__,
                "%s writes a layout lift-dspy has no grammar for: calls through it are NOT constrained "
                "or validated. Use dspy.ChatAdapter (default) or dspy.JSONAdapter.",
            )
            return None
    signature = predict.signature
    if not _prompt_mentions_outputs(system, signature, fmt):
        _warn_once(
            f"mismatch:{signature.__name__}",
            "the prompt does not mention the output fields of %s: this call is NOT constrained",
        )
        return None
    tools = None
    if len(stack) >= 2 and isinstance(stack[-2], dspy.ReAct) and getattr(stack[-2], "react", None) is predict:
        tools = tool_spec(stack[-2].tools, options or Options())
    return compile_constraint(signature, fmt, tools, options or Options())


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message, key.split(":")[-1])


def _prompt_mentions_outputs(system: str, signature: Any, fmt: str) -> bool:
    names = signature.output_fields
    if fmt == "chat":
        return all(header(name) in system for name in names)
    return all(name in system for name in names)
