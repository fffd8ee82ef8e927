"""Paths inside a JSON Schema: every subschema with its field path and JSON pointer. Pure.

Used to name *where* a schema problem is (``UnsupportedSchemaError.field``), as a path from the root
field through ``$ref``s: ``out.inner[].tags``, ``[0]`` for tuple positions, ``{}`` for map values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

__all__ = ["field_text", "resolve_pointer", "walk_schema"]


def walk_schema(schema: dict[str, Any]) -> Iterator[tuple[list[str], str, dict[str, Any]]]:
    """Every subschema, breadth first, as (field path, JSON pointer, node); local refs followed."""
    # Definitions come last, so a definition reached through a $ref gets its field path.
    definitions: list[tuple[list[str], str, Any]] = [
        ([name], f"/{key}/{_escape(name)}", node)
        for key in ("$defs", "definitions")
        if isinstance(schema.get(key), dict)
        for name, node in schema[key].items()
    ]
    queue: deque[tuple[list[str], str, Any]] = deque([([], "", schema)])
    seen: set[str] = set()
    while queue or definitions:
        path, pointer, node = queue.popleft() if queue else definitions.pop(0)
        if not isinstance(node, dict) or pointer in seen:
            continue
        seen.add(pointer)
        yield path, pointer, node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            target = resolve_pointer(schema, ref[1:])
            if target is not None:
                queue.append((path, ref[1:], target))
        for key, value in node.items():
            here = f"{pointer}/{_escape(key)}"
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                for prop, child in value.items():
                    step = prop if key == "properties" else "{}"
                    queue.append(([*path, step], f"{here}/{_escape(prop)}", child))
            elif key in ("items", "additionalItems", "contains", "unevaluatedItems"):
                if isinstance(value, list):
                    for index, child in enumerate(value):
                        queue.append(([*path, f"[{index}]"], f"{here}/{index}", child))
                else:
                    queue.append(([*path, "[]"], here, value))
            elif key in ("additionalProperties", "unevaluatedProperties", "propertyNames"):
                queue.append(([*path, "{}"], here, value))
            elif key == "prefixItems" and isinstance(value, list):
                for index, child in enumerate(value):
                    queue.append(([*path, f"[{index}]"], f"{here}/{index}", child))
            elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
                for index, child in enumerate(value):
                    queue.append((path, f"{here}/{index}", child))
            elif key in ("not", "if", "then", "else"):
                queue.append((path, here, value))
            elif key in ("dependentSchemas", "dependencies") and isinstance(value, dict):
                for prop, child in value.items():
                    queue.append((path, f"{here}/{_escape(prop)}", child))


def _escape(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def resolve_pointer(schema: Any, pointer: str) -> Any:
    node = schema
    for raw in pointer.split("/")[1:] if pointer else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def field_text(path: list[str]) -> str | None:
    text = ""
    for part in path:
        text += part if part.startswith("[") or part == "{}" else (f".{part}" if text else part)
    return text or None
