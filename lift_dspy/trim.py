"""``GuidanceLM(trim_prompt=True)``: leave out of the prompt what the grammar already forces.

DSPy's adapters describe each typed output field's structure in the system message with its whole
JSON Schema (``# note: the value you produce must adhere to the JSON schema: {...}``). Under
lift-dspy the grammar enforces that schema token by token, so the description only costs prompt
tokens. Trimming removes exactly those notes from the system message that is sent; the field list,
field descriptions, the layout with its ``[[ ## field ## ]]`` headers, the instructions and every
other message are kept. The constraint is resolved from the untrimmed prompt, so the answer is held
to the same grammar and validated the same way. What the model no longer sees: the schema's own
texts (``title``, nested ``Field(description=...)``); keep the option off when those carry meaning.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

__all__ = ["trim_messages", "trim_system"]

# DSPy's note (dspy.adapters.utils.translate_field_type) after a field's ``{name}`` placeholder, up to
# the end of the line; in the JSON layout the note sits inside a JSON string value, whose closing
# quote (and comma) stay.
_SCHEMA_NOTE = re.compile(
    r"\{(\w+)\}( *# note: the value you produce must adhere to the JSON schema: .*?)(?=\",?$|$)", re.M
)


def trim_system(text: str, outputs: Collection[str]) -> str:
    """``text`` without DSPy's JSON Schema notes on the output fields ``outputs``.

    Notes on input fields stay: they describe what the user message holds, which no grammar forces.
    """
    return _SCHEMA_NOTE.sub(lambda m: "{" + m.group(1) + "}" if m.group(1) in outputs else m.group(0), text)


def trim_messages(messages: list[dict[str, Any]], outputs: Collection[str]) -> list[dict[str, Any]]:
    """``messages`` with the leading system message trimmed (a new list; the others are shared)."""
    first = messages[0] if messages else {}
    if first.get("role") != "system" or not isinstance(first.get("content"), str):
        return messages
    return [{**first, "content": trim_system(first["content"], outputs)}, *messages[1:]]
