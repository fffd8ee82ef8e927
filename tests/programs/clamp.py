"""The function IR the IR-to-code tests share: clamp an integer to a range."""

from __future__ import annotations

from typing import Any

CLAMP_IR: dict[str, Any] = {
    "name": "clamp_value",
    "purpose": "Clamp an integer to the inclusive range [lo, hi].",
    "params": [
        {"name": "value", "type": "int", "description": "The value."},
        {"name": "lo", "type": "int", "description": "Lower bound."},
        {"name": "hi", "type": "int", "description": "Upper bound."},
    ],
    "returns": {"type": "int", "description": "The clamped value."},
    "effects": ["pure"],
    "preconditions": ["lo <= hi"],
    "postconditions": ["lo <= result <= hi"],
    "examples": [{"input": "15, 0, 10", "output": "10"}],
}
