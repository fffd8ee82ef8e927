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


# ---------------------------------------------------------------------------------------------
# Arbitrary JSON Schemas, nasty ones included (for "never an untyped exception" properties).

_NAMES = st.sampled_from(
    [
        "a",
        "b",
        "name",
        "format",
        "type",
        "properties",
        "default",
        "enum",
        "additionalProperties",
        "$ref",
        "x y",
    ]
)
_FORMATS = st.sampled_from(
    ["date", "date-time", "time", "duration", "email", "uri", "uuid", "ipv4", "ipv6", "hostname", "color"]
)
_REGEXES = st.sampled_from(["^a", "^[a-z]+$", "b", "^.{0,3}$", "(?!x)y", "(", "^\\d{2}$", "[", "\\p{L}+"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2, allow_nan=False) | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=2)
    ),
    max_leaves=4,
)
_TYPES = ["object", "array", "string", "integer", "number", "boolean", "null"]
_TYPE = st.sampled_from(_TYPES) | st.lists(st.sampled_from(_TYPES), min_size=1, max_size=3, unique=True)
_WRONG = st.sampled_from([None, 5, -1, 1.5, "x", [1], {"a": 1}, True, 2**70])
_SIZE = st.integers(0, 6) | _WRONG


def _keywords(child: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[Any]]:
    """Each keyword with plausible values and, sometimes, wrong-typed ones."""
    return {
        "type": _TYPE | st.sampled_from(["strin", 5, []]),
        "format": _FORMATS | _WRONG,
        "enum": st.lists(_JSON, min_size=1, max_size=4) | st.just(list(range(1500))) | _WRONG,
        "const": _JSON,
        "properties": st.dictionaries(_NAMES, child, max_size=3) | _WRONG,
        "required": st.lists(_NAMES, max_size=3, unique=True) | _WRONG,
        "additionalProperties": child,
        "patternProperties": st.dictionaries(_REGEXES, child, max_size=2) | _WRONG,
        "minProperties": _SIZE,
        "maxProperties": _SIZE,
        "items": child | st.lists(child, max_size=2),
        "prefixItems": st.lists(child, max_size=2) | _WRONG,
        "minItems": _SIZE,
        "maxItems": _SIZE,
        "uniqueItems": st.booleans() | _WRONG,
        "contains": child,
        "minLength": _SIZE,
        "maxLength": _SIZE,
        "pattern": _REGEXES | _WRONG,
        "minimum": st.integers(-3, 3) | st.floats(-2, 2, allow_nan=False) | _WRONG,
        "maximum": st.integers(-3, 3) | st.just(2**64) | _WRONG,
        "exclusiveMinimum": st.integers(-3, 3) | st.booleans(),
        "multipleOf": st.sampled_from([2, 0.5, 0, -1, "x"]),
        "anyOf": st.lists(child, min_size=1, max_size=3) | _WRONG,
        "oneOf": st.lists(child, min_size=1, max_size=3),
        "allOf": st.lists(child, min_size=1, max_size=2),
        "not": child,
        "if": child,
        "then": child,
        "$ref": st.sampled_from(
            ["#", "#/$defs/d", "#/$defs/missing", "#/properties/a", "http://x.test/s.json", "#/nope/0"]
        )
        | _WRONG,
        "$defs": st.fixed_dictionaries({"d": child}) | _WRONG,
        "dependentRequired": st.just({"a": ["b"]}) | _WRONG,
        "x-extension": _JSON,
        "unknownKeyword": _JSON,
        "title": st.text(max_size=5) | _WRONG,
        "description": st.text(max_size=5),
        "default": _JSON,
    }


def _node(child: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keywords = _keywords(child)
    names = st.lists(st.sampled_from(sorted(keywords)), max_size=4, unique=True)
    return names.flatmap(lambda chosen: st.fixed_dictionaries({name: keywords[name] for name in chosen}))


def json_schemas() -> st.SearchStrategy[Any]:
    """JSON Schemas of every shape, valid or not: booleans, ``{}``, wrong-typed keywords, ``$ref``
    cycles and dangling refs, unknown keywords, non-string formats, huge enums, odd property names."""
    leaf = st.booleans() | st.just({}) | st.fixed_dictionaries({"type": st.sampled_from(_TYPES)})
    return st.recursive(leaf, _node, max_leaves=8)


def object_schemas() -> st.SearchStrategy[dict[str, Any]]:
    """Object roots (a DSPy output model is an object): ``json_schemas()`` under ``type: object``."""
    return st.fixed_dictionaries(
        {"type": st.just("object"), "properties": st.dictionaries(_NAMES, json_schemas(), max_size=4)},
        optional={
            "required": st.lists(_NAMES, max_size=3, unique=True),
            "additionalProperties": json_schemas(),
        },
    )
