"""JSON Schemas that small models can finish: closed objects, compact whitespace, checked keywords.

Pydantic leaves objects open and llguidance allows any whitespace by default; with either, a small
or random model keeps adding keys or blanks until ``max_tokens``. Every schema lift-dspy sends is
closed here, carries its whitespace rule inside the schema (``x-guidance``: vLLM's guidance backend
ignores the per-request option), and is compiled by llguidance before it leaves the process.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from lift_dspy.constraints.guidance import compile_json_schema

__all__ = [
    "JSON_OPTIONS",
    "Options",
    "check_json_schema",
    "closed_schema",
    "finalize_schema",
    "format_schema",
    "schema_for_annotation",
]

# Exactly the separators of ``json.dumps`` (DSPy's rendering of demos and inputs), and no other
# whitespace: the prompt's examples and the forced format agree, and nothing is left to loop on.
JSON_OPTIONS: dict[str, Any] = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


@dataclass(frozen=True)
class Options:
    """How strictly constraints are built (hashable: part of every cache key).

    Attributes:
        lenient: Let llguidance ignore JSON Schema keywords it does not implement (``uniqueItems``,
            ``not``, ...) instead of raising; validation of the answer still enforces them.
        max_text_chars: Upper bound on every otherwise unbounded text: chat-format ``str`` fields
            and JSON strings without ``maxLength``. Guarantees termination for models that would
            ramble (random-weight test models, small models at high temperature).
        derive_bounds: Give lists and maps without ``maxItems``/``maxProperties`` a bound derived
            from ``budget_tokens`` (:mod:`lift_dspy.constraints.bounds`).
        budget_tokens: The call's ``max_tokens`` when bounds are derived from it (set per call by
            :meth:`for_call`; None: no derived bounds).
    """

    lenient: bool = False
    max_text_chars: int | None = None
    derive_bounds: bool = True
    budget_tokens: int | None = None

    def for_call(self, max_tokens: Any) -> Options:
        """These options for a call limited to ``max_tokens`` output tokens (None: no limit)."""
        if not self.derive_bounds or isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            return self
        budget = max_tokens if max_tokens > 0 else None
        return self if budget == self.budget_tokens else dataclasses.replace(self, budget_tokens=budget)

    def __post_init__(self) -> None:
        if self.max_text_chars is not None and self.max_text_chars < 1:
            raise ValueError(
                f"max_text_chars must be a positive number of characters, got {self.max_text_chars}"
            )


DEFAULT_OPTIONS = Options()

# Grammar-level formats are looser than Pydantic's parsers (llguidance's RFC 3339 admits year 0000,
# second 60 and February 30th; Pydantic rejects them). These patterns admit exactly the Gregorian
# calendar, so an answer the grammar allows always validates.
_YEAR = r"(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
_FORMAT_PATTERNS = {
    "date": f"^{_DATE}$",
    "date-time": f"^{_DATE}T{_TIME}{_OFFSET}$",
    "time": f"^{_TIME}{_OFFSET}?$",
}


def schema_for_annotation(annotation: Any) -> dict[str, Any]:
    """The JSON Schema Pydantic generates for a Python type (``$defs`` included)."""
    return TypeAdapter(annotation).json_schema()


def closed_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``schema`` where every object with declared properties is closed.

    Maps (``additionalProperties`` set to a schema, e.g. ``dict[str, int]``) stay maps: their
    value schema is closed recursively instead.
    """
    result = copy.deepcopy(schema)
    _each_subschema(result, _close)
    return result


# Where subschemas sit. Anything else (property maps, enum/const/default values, unknown keywords)
# is not a schema: a property named "format" or "additionalProperties" must not be rewritten.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems", "items")
_SCHEMA_ONE = (
    *("items", "additionalItems", "additionalProperties", "contains", "propertyNames", "not", "if"),
    *("then", "else", "unevaluatedItems", "unevaluatedProperties"),
)


def _each_subschema(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    """Call ``visit`` on every subschema, parents before children (it may mutate them)."""
    if not isinstance(node, dict):
        return
    visit(node)
    for key, value in list(node.items()):
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for child in value.values():
                _each_subschema(child, visit)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            for child in value:
                _each_subschema(child, visit)
        elif key in _SCHEMA_ONE:
            _each_subschema(value, visit)


def _close(node: dict[str, Any]) -> None:
    properties = node.get("properties")
    if isinstance(properties, dict) and node.get("additionalProperties", True) is True:
        # A required key the object does not declare is allowed by additionalProperties (absent or
        # true: any value); closing the object must keep it allowed, or the schema is unsatisfiable.
        patterns = node.get("patternProperties")
        required = node.get("required")
        for key in required if isinstance(required, list) else ():
            if isinstance(key, str) and key not in properties and not _pattern_matches(patterns, key):
                properties[key] = {}
        node["additionalProperties"] = False


def _pattern_matches(patterns: Any, key: str) -> bool:
    """Whether a ``patternProperties`` regex may match ``key`` (a regex Python cannot read: yes)."""
    for regex in patterns if isinstance(patterns, dict) else ():
        try:
            if re.search(regex, key):
                return True
        except (re.error, TypeError):
            return True
    return False


def finalize_schema(schema: dict[str, Any], options: Options = DEFAULT_OPTIONS) -> dict[str, Any]:
    """Close ``schema`` and put lift-dspy's whitespace options (:data:`JSON_OPTIONS`) at its root.

    Options the schema already carries in ``x-guidance`` win over ours.
    """
    result = closed_schema(schema)
    _each_subschema(result, _tighten_format)
    if options.budget_tokens is not None:
        from lift_dspy.constraints.bounds import bound_collections  # it walks schemas with this module

        bound_collections(result, options.budget_tokens)
    if options.max_text_chars is not None:
        limit = options.max_text_chars
        _each_subschema(result, lambda node: _bound_string(node, limit))
    guidance: dict[str, Any] = dict(JSON_OPTIONS)
    if options.lenient:
        guidance["lenient"] = True
    guidance.update(result.get("x-guidance") or {})
    result["x-guidance"] = guidance
    return result


# Characters str.splitlines() breaks lines at that JSON allows raw inside strings. DSPy's ChatAdapter
# splits an answer with splitlines(), so such a character inside a JSON value would silently become
# "\n" in what the user gets.
_LINE_SEPARATORS = "\u0085\u2028\u2029"


def one_line_strings(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` whose free strings cannot hold U+0085, U+2028 or U+2029 (chat layout).

    Strings with their own ``pattern``, ``format``, ``enum`` or ``const`` are left as they are.
    """
    result = copy.deepcopy(schema)

    def visit(node: dict[str, Any]) -> None:
        if node.get("type") == "string" and not {"pattern", "format", "enum", "const"}.intersection(node):
            node["pattern"] = f"^[^{_LINE_SEPARATORS}]*$"

    _each_subschema(result, visit)
    return result


def format_schema(fmt: str) -> dict[str, Any]:
    """The string schema lift-dspy's constraint enforces for a ``format`` (date/time ones tightened)."""
    pattern = _FORMAT_PATTERNS.get(fmt)
    return {"type": "string", "pattern": pattern} if pattern else {"type": "string", "format": fmt}


def _tighten_format(node: dict[str, Any]) -> None:
    fmt = node.get("format")
    pattern = _FORMAT_PATTERNS.get(fmt) if isinstance(fmt, str) else None  # llguidance rejects the rest
    # Like format, pattern constrains strings only: the swap is exact whatever the node's type.
    if pattern is not None and "pattern" not in node:
        del node["format"]
        node["pattern"] = pattern


def _bound_string(node: dict[str, Any], limit: int) -> None:
    values = node.get("additionalProperties")
    keyed = {"properties", "patternProperties", "propertyNames"}.intersection(node)
    if isinstance(values, dict) and not keyed:
        # A map (dict[str, X]): its keys are strings too. llguidance has no propertyNames, so the
        # key length is bounded through patternProperties.
        node["patternProperties"] = {f"^.{{0,{limit}}}$": values}
        node["additionalProperties"] = False
    kinds = node.get("type")
    is_string = kinds == "string" or (isinstance(kinds, list) and "string" in kinds)
    # Patterned strings keep their own bound: xgrammar (the rollback backend) rejects pattern + maxLength.
    if is_string and not {"maxLength", "enum", "const", "format", "pattern"}.intersection(node):
        minimum = node.get("minLength")
        node["maxLength"] = max(limit, minimum) if isinstance(minimum, int) else limit


def check_json_schema(schema: dict[str, Any], *, field: str | None = None) -> str:
    """Compile a finalized schema with llguidance; return the serialized grammar.

    Raises:
        UnsupportedSchemaError: llguidance cannot enforce the schema; names the field path and
            keyword, and says what to write instead (or that ``lenient=True`` relaxes it).
    """
    return compile_json_schema(schema, field=field)
