"""Bounds on lists and maps derived from the call's ``max_tokens`` (where the user set none).

A grammar with an unbounded list lets a small or sampled model add items until ``max_tokens`` cuts
the answer off (a :class:`~lift_dspy.TruncatedOutputError`). When the call has a ``max_tokens``,
every list without ``maxItems`` and every map (``dict[str, X]``) without ``maxProperties`` gets one
derived from it, so the grammar closes the collection while the answer still fits.

The rule (``B`` = the call's ``max_tokens``; ``n`` = the unbounded lists and maps of the schema;
``t`` = an item's cost in tokens: one for the separator plus its JSON text at 3 characters a token,
at least one; the longest item's text when items come from a closed set -- enums, booleans, bounded
integers, objects of those -- else the shortest item's)::

    maxItems = max(minItems, 1, B // (2 * n * t))

Each collection gets an equal share of the budget and may spend at most half of it at that cost
(the other half is headroom: free items are longer than the shortest, and the rest of the answer
needs room too). Example: ``list[int]`` alone under ``max_tokens=512`` gets ``maxItems: 128``
(``t = 1 + 1``); a list of ``{"x": int, "y": int}`` objects gets ``maxItems: 36`` (shortest item
``{"x": 0, "y": 0}``, 16 characters, ``t = 1 + 6``); ``list[Literal["bug", "question"]]`` gets 51
(longest item ``"question"``, 10 characters, ``t = 1 + 4``).

Bounds the user wrote are never changed, a derived bound never goes below the user's ``minItems``,
and nested collections are bounded each on its own (a list of lists may hold ``maxItems`` squared
items). In the chat layout each typed field is bounded on its own (its schema's ``n``).
``GuidanceLM(derive_bounds=False)`` turns the rule off. Bounds only restrict what the grammar
allows, so every answer it allows still validates against the output model.
"""

from __future__ import annotations

import json
import math
from typing import Any

from lift_dspy.constraints.schema import _each_subschema
from lift_dspy.errors import InvalidRequestError

__all__ = ["bound_collections", "longest_json_chars", "shortest_json_chars"]

# About 3 characters of JSON a token (what programs.source assumes for code, too).
_CHARS_PER_TOKEN = 3
# A token holds at most about this many characters of JSON: an answer whose shortest text needs
# more than max_tokens tokens even at this rate cannot fit at all.
_MAX_CHARS_PER_TOKEN = 8
_HEADROOM = 2
_DEPTH = 12
_SEPARATORS = (", ", ": ")


def bound_collections(schema: dict[str, Any], budget: int) -> None:
    """Give every unbounded list and map of ``schema`` (in place) a bound derived from ``budget``.

    Args:
        schema: A JSON Schema (its ``$defs`` are resolved for item costs); modified in place.
        budget: The call's ``max_tokens``.

    Raises:
        InvalidRequestError: ``budget`` cannot hold even the shortest answer the schema allows.
    """
    shortest = shortest_json_chars(schema, schema)
    if shortest > budget * _MAX_CHARS_PER_TOKEN:
        raise InvalidRequestError(
            f"max_tokens={budget} cannot hold even the shortest answer this output type allows "
            f"({shortest} characters of JSON, more than {math.ceil(shortest / _MAX_CHARS_PER_TOKEN)} "
            "tokens). Raise max_tokens, e.g. GuidanceLM(..., max_tokens=1024), or lower the minItems/"
            "minLength of the output type",
            option="max_tokens",
        )
    found: list[dict[str, Any]] = []
    _each_subschema(schema, lambda node: found.append(node) if _unbounded(node) is not None else None)
    if not found:
        return
    share = budget // len(found)
    for node in found:
        key = _unbounded(node)
        assert key is not None
        cost = 1 + max(1, math.ceil(_item_chars(node, schema) / _CHARS_PER_TOKEN))
        low = "minItems" if key == "maxItems" else "minProperties"
        minimum = node.get(low)
        node[key] = max(minimum if isinstance(minimum, int) else 0, 1, share // (_HEADROOM * cost))


def _unbounded(node: dict[str, Any]) -> str | None:
    """``maxItems``/``maxProperties`` if ``node`` is a list or map without that bound, else None."""
    kinds = node.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "array" in kinds and "maxItems" not in node and node.get("items") is not False:
        return "maxItems"
    if "object" in kinds and "maxProperties" not in node and not node.get("properties"):
        values = node.get("additionalProperties")
        if isinstance(values, dict) or node.get("patternProperties"):
            return "maxProperties"
    return None


def _item_chars(node: dict[str, Any], root: dict[str, Any]) -> int:
    """The JSON text of one item (a map entry: its key and value) of a collection, in characters.

    The longest item when items come from a closed set (``longest_json_chars``), else the shortest.
    """
    if _unbounded(node) == "maxItems":
        items = node.get("items")
        item = items if isinstance(items, dict) else {}
        longest = longest_json_chars(item, root)
        return longest if longest is not None else shortest_json_chars(item, root)
    values = node.get("additionalProperties")
    if not isinstance(values, dict):
        patterns = node.get("patternProperties") or {}
        values = min(
            (value for value in patterns.values() if isinstance(value, dict)),
            key=lambda value: shortest_json_chars(value, root),
            default={},
        )
    return len('"": ') + shortest_json_chars(values, root)


def longest_json_chars(node: Any, root: dict[str, Any], depth: int = 0) -> int | None:
    """The longest compact JSON text ``node`` allows, if its values come from a closed set.

    Closed: ``enum``/``const``, booleans, null, integers with both bounds, and objects, tuples and
    alternatives made only of those. Anything with free text or unbounded numbers: None.
    """
    if not isinstance(node, dict) or depth > _DEPTH:
        return None
    if "$ref" in node:
        return longest_json_chars(_local_target(node, root), root, depth + 1)
    if "const" in node:
        return len(json.dumps(node["const"], separators=_SEPARATORS))
    if isinstance(node.get("enum"), list) and node["enum"]:
        return max(len(json.dumps(value, separators=_SEPARATORS)) for value in node["enum"])
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list) and options:
        sizes = [longest_json_chars(option, root, depth + 1) for option in options]
        return None if None in sizes else max(size for size in sizes if size is not None)
    kinds = node.get("type")
    if kinds in ("boolean", "null"):
        return 5
    if kinds == "integer":
        low, high = node.get("minimum"), node.get("maximum")
        if isinstance(low, int) and isinstance(high, int):
            return max(len(str(low)), len(str(high)))
        return None
    if kinds == "object" and node.get("additionalProperties") is False and not node.get("patternProperties"):
        properties = node.get("properties") or {}
        sizes = [longest_json_chars(value, root, depth + 1) for value in properties.values()]
        if None in sizes:
            return None
        body = sum(
            len(json.dumps(key)) + 2 + (size or 0) for key, size in zip(properties, sizes, strict=True)
        )
        return 2 + body + 2 * max(0, len(properties) - 1)
    return None


def shortest_json_chars(node: Any, root: dict[str, Any], depth: int = 0) -> int:
    """About the length of the shortest compact JSON text (``", "``/``": "``) ``node`` allows.

    A schema without a type counts as one character; recursion deeper than a few levels too.
    """
    if not isinstance(node, dict) or depth > _DEPTH:
        return 1
    if "$ref" in node:
        return shortest_json_chars(_local_target(node, root), root, depth + 1)
    if "const" in node:
        return len(json.dumps(node["const"], separators=_SEPARATORS))
    if isinstance(node.get("enum"), list) and node["enum"]:
        return min(len(json.dumps(value, separators=_SEPARATORS)) for value in node["enum"])
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list) and options:
            return min(shortest_json_chars(option, root, depth + 1) for option in options)
    parts = node.get("allOf")
    if isinstance(parts, list) and parts:
        return max(shortest_json_chars(part, root, depth + 1) for part in parts)
    kinds = node.get("type")
    if isinstance(kinds, list) and kinds:
        return min(shortest_json_chars({**node, "type": kind}, root, depth + 1) for kind in kinds)
    if kinds == "string":
        minimum = node.get("minLength")
        return 2 + (minimum if isinstance(minimum, int) else 0)
    if kinds in ("boolean", "null"):
        return 4
    if kinds == "array":
        return _shortest_array(node, root, depth)
    if kinds == "object":
        required = node.get("required")
        properties = node.get("properties") or {}
        keys = [key for key in required if isinstance(key, str)] if isinstance(required, list) else []
        body = sum(
            len(json.dumps(key)) + 2 + shortest_json_chars(properties.get(key), root, depth + 1)
            for key in keys
        )
        return 2 + body + 2 * max(0, len(keys) - 1)
    return 1  # integer, number, or any value


def _shortest_array(node: dict[str, Any], root: dict[str, Any], depth: int) -> int:
    minimum = node.get("minItems")
    count = minimum if isinstance(minimum, int) else 0
    prefix = node.get("prefixItems")
    prefix = prefix if isinstance(prefix, list) else []
    items = node.get("items")
    costs = [
        shortest_json_chars(prefix[i] if i < len(prefix) else items, root, depth + 1) for i in range(count)
    ]
    return 2 + sum(costs) + 2 * max(0, count - 1)


def _local_target(node: dict[str, Any], root: dict[str, Any]) -> Any:
    """What a local ``$ref`` (``#/...``) points at in ``root``; None for any other reference."""
    ref = node.get("$ref")
    if not (isinstance(ref, str) and ref.startswith("#/")):
        return None
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    return target
