"""JSON Schemas that small models can finish: closed objects, compact whitespace, checked keywords.

Pydantic leaves objects open and llguidance allows any whitespace by default; with either, a small
or random model keeps adding keys or blanks until ``max_tokens``. Every schema lift-dspy sends is
closed here, carries its whitespace rule inside the schema (``x-guidance``: vLLM's guidance backend
ignores the per-request option), and is compiled by llguidance before it leaves the process.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter

from lift_dspy.constraints.check import compile_grammar, grammar_from_json_schema
from lift_dspy.errors import UnsupportedSchemaError

__all__ = ["JSON_OPTIONS", "check_json_schema", "closed_schema", "finalize_schema", "schema_for_annotation"]

_FIXES = {
    "uniqueItems": "use list[...] instead of set[...] (uniqueness is then checked by validation only)",
    "not": "express the allowed values positively (enum, pattern, anyOf)",
    "if": "split the conditional into anyOf alternatives",
    "then": "split the conditional into anyOf alternatives",
    "else": "split the conditional into anyOf alternatives",
    "contains": "constrain every item with items instead",
    "propertyNames": "use a closed object with explicit properties, or patternProperties",
    "dependentRequired": "make the dependent properties required together, or use anyOf alternatives",
    "dependentSchemas": "use anyOf alternatives",
    "unevaluatedProperties": "use additionalProperties: false",
    "unevaluatedItems": "use items / prefixItems",
    "format": "use a plain string (optionally with a pattern) or a supported format "
    "(date, date-time, time, duration, email, uri, uuid, ipv4, ipv6, hostname)",
}
# Exactly the separators of ``json.dumps`` (DSPy's rendering of demos and inputs), and no other
# whitespace: the prompt's examples and the forced format agree, and nothing is left to loop on.
JSON_OPTIONS: dict[str, Any] = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
_UNIMPLEMENTED = re.compile(r"Unimplemented keys: \[([^\]]*)\]")
_UNKNOWN_FORMAT = re.compile(r"Unknown format: (\S+)")


def schema_for_annotation(annotation: Any) -> dict[str, Any]:
    """The JSON Schema Pydantic generates for a Python type (``$defs`` included)."""
    return TypeAdapter(annotation).json_schema()


def closed_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``schema`` where every object with declared properties is closed.

    Maps (``additionalProperties`` set to a schema, e.g. ``dict[str, int]``) stay maps: their
    value schema is closed recursively instead.
    """
    result = copy.deepcopy(schema)
    _close(result)
    return result


def _close(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _close(item)
        return
    if not isinstance(node, dict):
        return
    if "properties" in node and node.get("additionalProperties", True) is True:
        node["additionalProperties"] = False
    for key, value in node.items():
        if key in ("const", "enum", "default", "examples", "x-guidance"):
            continue
        _close(value)


def finalize_schema(schema: dict[str, Any], *, lenient: bool = False) -> dict[str, Any]:
    """Close ``schema`` and put lift-dspy's whitespace options (:data:`JSON_OPTIONS`) at its root.

    Options the schema already carries in ``x-guidance`` win over ours.
    """
    result = closed_schema(schema)
    options: dict[str, Any] = dict(JSON_OPTIONS)
    if lenient:
        options["lenient"] = True
    options.update(result.get("x-guidance") or {})
    result["x-guidance"] = options
    return result


def check_json_schema(schema: dict[str, Any], *, field: str | None = None) -> str:
    """Compile a finalized schema with llguidance; return the serialized grammar.

    Raises:
        UnsupportedSchemaError: llguidance cannot enforce the schema; names the field path and
            keyword, and says what to write instead (or that ``lenient=True`` relaxes it).
    """
    grammar = grammar_from_json_schema(schema)
    error = compile_grammar(grammar)
    if error:
        raise _schema_error(schema, error, field)
    return grammar


def _schema_error(schema: dict[str, Any], error: str, field: str | None) -> UnsupportedSchemaError:
    keyword: str | None = None
    path: str | None = None
    if match := _UNIMPLEMENTED.search(error):
        keyword = match.group(1).split(",")[0].strip().strip('"')
        path = _find(schema, lambda node: keyword in node)
    elif match := _UNKNOWN_FORMAT.search(error):
        value = match.group(1)
        keyword = "format"
        path = _find(schema, lambda node: node.get("format") == value)
    full = ".".join(part for part in (field, path) if part) or None
    fix = _FIXES.get(keyword or "", "simplify the schema")
    first_line = error.strip().splitlines()[0] if error.strip() else error
    return UnsupportedSchemaError(
        f"llguidance cannot enforce it ({first_line}). Fix: {fix}; or pass lenient=True to let "
        "llguidance ignore unimplemented keywords (validation still checks the answer)",
        field=full,
        keyword=keyword,
    )


def _find(schema: dict[str, Any], predicate: Any) -> str | None:
    for path, node in _walk(schema, []):
        if predicate(node):
            return _render(path)
    return None


def _walk(node: Any, path: list[str]) -> Iterator[tuple[list[str], dict[str, Any]]]:
    if not isinstance(node, dict):
        return
    yield path, node
    for key, value in node.items():
        if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, dict):
            for name, child in value.items():
                prefix = [] if key in ("$defs", "definitions") else path
                yield from _walk(child, [*prefix, name])
        elif key in ("items", "additionalItems", "contains") and isinstance(value, dict):
            yield from _walk(value, [*path, "[]"])
        elif key == "additionalProperties" and isinstance(value, dict):
            yield from _walk(value, [*path, "{}"])
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
            for index, child in enumerate(value):
                step = [f"[{index}]"] if key == "prefixItems" else []
                yield from _walk(child, [*path, *step])
        elif key in ("not", "if", "then", "else") and isinstance(value, dict):
            yield from _walk(value, path)


def _render(path: list[str]) -> str | None:
    text = ""
    for part in path:
        text += part if part.startswith("[") or part == "{}" else (f".{part}" if text else part)
    return text or None
