"""Hypothesis strategies for the JSON Schemas lift-dspy generates (test helper)."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

# Printable text without the chat-format header opener; DSPy strips field values.
_ALPHABET = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="[")


def text(min_size: int = 0, max_size: int | None = 40) -> st.SearchStrategy[str]:
    """Free text as a model could write it in a chat-format ``str`` field."""
    return st.text(_ALPHABET, min_size=min_size, max_size=max_size if max_size is not None else 40)


def from_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Instances of ``schema`` (the subset of JSON Schema Pydantic emits)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: from_schema(defs[name], defs))
    if "anyOf" in schema:
        return st.one_of([from_schema(option, defs) for option in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(10**6) - 1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 10**6 + 1) - 1)
        return st.integers(low, high)
    if kind == "number":
        # llguidance writes bounded numbers without an exponent; so does a model under the
        # grammar. Steps of 1e-4 keep Python's repr exponent-free too.
        low, high = schema.get("minimum", -1e6), schema.get("maximum", 1e6)
        return st.integers(round(low * 10_000), round(high * 10_000)).map(lambda k: k / 10_000)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        if "prefixItems" in schema:
            return st.tuples(*(from_schema(item, defs) for item in schema["prefixItems"])).map(list)
        return st.lists(
            from_schema(schema.get("items", {"type": "integer"}), defs),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 4), 4),
        )
    if kind == "object":
        if "properties" in schema:
            return st.fixed_dictionaries(
                {name: from_schema(sub, defs) for name, sub in schema["properties"].items()}
            )
        values = schema.get("additionalProperties", {"type": "integer"})
        return st.dictionaries(text(1, 8), from_schema(values, defs), max_size=3)
    raise NotImplementedError(f"no strategy for {schema}")


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date":
        return st.dates(datetime.date(1900, 1, 1), datetime.date(2200, 1, 1)).map(lambda d: d.isoformat())
    if fmt == "date-time":
        # RFC 3339 (what llguidance enforces) requires an offset; naive datetimes are not valid.
        return st.datetimes(
            datetime.datetime(1900, 1, 1), datetime.datetime(2200, 1, 1), timezones=st.just(datetime.UTC)
        ).map(lambda d: d.isoformat())
    if fmt == "uuid":
        return st.uuids().map(str)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    return text(schema.get("minLength", 0), schema.get("maxLength"))
