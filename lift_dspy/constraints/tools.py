"""Tool dispatch: the tool name chooses which argument schema follows (DSPy ReAct).

DSPy's ReAct asks for ``next_tool_name: Literal[...]`` and ``next_tool_args: dict[str, Any]``;
on their own those let a model call ``search`` with ``finish``'s arguments, or with none. lift-dspy
couples them: the arguments must follow the schema of the tool just named.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lift_dspy.constraints.schema import DEFAULT_OPTIONS, Options, check_json_schema, finalize_schema

if TYPE_CHECKING:
    from lift_dspy.constraints.chat import FieldRule

__all__ = ["ARGS_FIELD", "NAME_FIELD", "ToolSpec", "tool_spec"]

NAME_FIELD = "next_tool_name"
ARGS_FIELD = "next_tool_args"


@dataclass(frozen=True)
class ToolSpec:
    """Tool names with the closed JSON Schema of each tool's arguments (hashable, cacheable)."""

    tools: tuple[tuple[str, dict[str, Any]], ...]
    key: tuple[tuple[str, str], ...]

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ToolSpec) and other.key == self.key

    def dispatches(self, rules: list[FieldRule], index: int) -> bool:
        """Whether ``rules[index]`` is the tool name immediately followed by the tool arguments."""
        return (
            rules[index].name == NAME_FIELD and index + 1 < len(rules) and rules[index + 1].name == ARGS_FIELD
        )


def _args_schema(args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": dict(args),
        "required": [name for name, schema in args.items() if "default" not in schema],
        "additionalProperties": False,
    }


def tool_spec(tools: Mapping[str, Any], options: Options = DEFAULT_OPTIONS) -> ToolSpec:
    """Build a ToolSpec from ``{name: dspy.Tool}`` (or ``{name: args-properties dict}``).

    Cached by the tools' argument schemas, so a ReAct loop pays for compilation once.

    Raises:
        UnsupportedSchemaError: a tool's argument schema cannot be enforced; the field path
            starts with the tool name.
    """
    raw = []
    for name, tool in tools.items():
        args = getattr(tool, "args", tool)
        if not isinstance(args, Mapping):
            raise TypeError(f"tool {name!r}: expected a dspy.Tool or a mapping of argument schemas")
        # Property order is part of the grammar (llguidance writes properties in order): keep it.
        raw.append((str(name), json.dumps(args, default=str)))
    return _build(tuple(raw), options)


@functools.lru_cache(maxsize=256)
def _build(raw: tuple[tuple[str, str], ...], options: Options) -> ToolSpec:
    entries = []
    for name, args_json in raw:
        schema = finalize_schema(_args_schema(json.loads(args_json)), options)
        # A nested %json{} inherits nothing from the grammar: its options travel inside it.
        check_json_schema(schema, field=f"{name}(args)")
        entries.append((name, schema))
    key = tuple((name, json.dumps(schema)) for name, schema in entries)
    return ToolSpec(tools=tuple(entries), key=key)
