"""The one door to llguidance: byte tokenizer, grammar compilation, matcher, and error mapping.

Every other module of lift-dspy reaches llguidance through this one (a test scans the imports).
The byte tokenizer (one token per byte) makes every local check independent of the served model's
vocabulary: a text is accepted here exactly when its bytes are a sentence of the grammar.

:func:`schema_error` is the one place that reads llguidance's messages about JSON Schemas: it turns
each message lift-dspy knows into an :class:`~lift_dspy.errors.UnsupportedSchemaError` naming the
field path and the keyword, and what to write instead.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import llguidance

from lift_dspy.constraints.paths import field_text, walk_schema
from lift_dspy.errors import UnsupportedSchemaError

__all__ = [
    "GrammarMatcher",
    "byte_tokenizer",
    "compile_grammar",
    "compile_json_schema",
    "grammar_from_json_schema",
    "grammar_from_lark",
    "grammar_from_regex",
    "language_is_empty",
    "locate",
    "refers_to",
    "regex_to_lark",
    "schema_error",
]


@functools.cache
def byte_tokenizer() -> llguidance.LLTokenizer:
    """The one byte tokenizer (a token per byte) every local compile and check runs on."""
    return llguidance.LLTokenizer("byte")


# ---------------------------------------------------------------------------------------------
# Grammars: build and compile.


def grammar_from_lark(lark: str) -> str:
    """The serialized llguidance grammar of a Lark (llguidance dialect) grammar."""
    return llguidance.LLMatcher.grammar_from_lark(lark)


def grammar_from_regex(pattern: str) -> str:
    """The serialized llguidance grammar of one regex (Rust ``regex`` syntax, whole text)."""
    return str(llguidance.LLMatcher.grammar_from_regex(pattern))


def grammar_from_json_schema(schema: dict[str, Any], *, defaults: dict[str, Any] | None = None) -> str:
    """The serialized llguidance grammar of a JSON Schema.

    Args:
        schema: The schema; its own ``x-guidance`` options apply.
        defaults: llguidance's JSON compile options used where the schema sets none
            (``whitespace_flexible``, ``lenient``, ``coerce_one_of``, ...).
    """
    return llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults=defaults)  # type: ignore[arg-type]


def regex_to_lark(regex: str, flags: str = "dw") -> str:
    """``regex`` as the body of a Lark ``/.../`` terminal (llguidance's translation; ``flags`` as there)."""
    return llguidance.regex_to_lark(regex, flags)


def compile_grammar(grammar: str) -> str:
    """Compile ``grammar`` with llguidance's default resource limits.

    Returns:
        The empty string when the grammar is valid, else llguidance's error message.
    """
    return llguidance.LLMatcher.validate_grammar(grammar, byte_tokenizer())


def compile_json_schema(
    schema: dict[str, Any], *, field: str | None = None, defaults: dict[str, Any] | None = None
) -> str:
    """Compile a JSON Schema with llguidance; return the serialized grammar.

    Args:
        schema: The schema (its ``x-guidance`` options apply).
        field: The field path the schema sits at, prefixed to the path of any error.
        defaults: llguidance's JSON compile options where the schema sets none.

    Raises:
        UnsupportedSchemaError: llguidance cannot enforce the schema (see :func:`schema_error`).
    """
    try:
        grammar = grammar_from_json_schema(schema, defaults=defaults)
        error = compile_grammar(grammar)
    except ValueError as exc:
        error = str(exc)
    if error:
        own = schema.get("x-guidance")
        lenient = bool({**(defaults or {}), **(own if isinstance(own, dict) else {})}.get("lenient"))
        raise schema_error(schema, error, field=field, lenient=lenient)
    return grammar


def language_is_empty(lark: str) -> bool:
    """True when no text at all is a sentence of the Lark grammar (llguidance finds no first byte).

    Raises:
        ValueError: the grammar does not compile (llguidance's message).
    """
    matcher = llguidance.LLMatcher(byte_tokenizer(), grammar_from_lark(lark), log_level=0)
    if matcher.is_error():
        raise ValueError(matcher.get_error())
    matcher.compute_bitmask()
    return matcher.is_error() and not matcher.is_accepting()


# ---------------------------------------------------------------------------------------------
# Matching texts.


class GrammarMatcher:
    """Checks texts against one compiled grammar (thread-safe, reusable)."""

    def __init__(self, grammar: str) -> None:
        self._grammar = grammar
        self._template: llguidance.LLMatcher | None = None
        self._lock = threading.Lock()

    def _fresh(self) -> llguidance.LLMatcher:
        with self._lock:
            if self._template is None:
                self._template = llguidance.LLMatcher(byte_tokenizer(), self._grammar, log_level=0)
            return self._template.deep_copy()

    def mismatch(self, text: str) -> tuple[int, str] | None:
        """None when ``text`` is a complete sentence of the grammar, else (byte offset, why not)."""
        matcher = self._fresh()
        if matcher.is_error():
            return 0, f"grammar error: {matcher.get_error()}"
        data = text.encode("utf-8")
        tokens = byte_tokenizer().tokenize_bytes(data)
        consumed = matcher.try_consume_tokens(tokens)
        if consumed < len(tokens):
            context = data[max(0, consumed - 30) : consumed].decode("utf-8", "replace")
            bad = data[consumed : consumed + 20].decode("utf-8", "replace")
            return consumed, f"unexpected {bad!r} at byte {consumed} (after {context!r})"
        if not matcher.is_accepting():
            return len(data), "output ends before the structure is complete"
        return None

    def accepts(self, text: str, *, complete: bool = True) -> bool:
        """True if ``text`` is a sentence of the grammar (``complete=False``: a prefix of one)."""
        matcher = self._fresh()
        tokens = byte_tokenizer().tokenize_bytes(text.encode("utf-8"))
        if matcher.is_error() or matcher.try_consume_tokens(tokens) < len(tokens):
            return False
        return matcher.is_accepting() if complete else not matcher.is_error()


# ---------------------------------------------------------------------------------------------
# The one error mapper: llguidance's messages about a JSON Schema -> UnsupportedSchemaError.

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_FIXES = {
    "uniqueItems": "use list[...] instead of set[...], or drop uniqueItems (uniqueness is then checked "
    "by validation only)",
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
    "oneOf": "make the alternatives disjoint (distinct types or const tags) or use anyOf",
    "format": "use a plain string (optionally with a pattern) or a format llguidance knows "
    "(date, date-time, time, duration, email, uri, uuid, ipv4, ipv6, hostname)",
    "$ref": "inline the referenced schema (remote and file references are never fetched)",
    "pattern": "rewrite the regex without look-around or backreferences",
    "patternProperties": "make the property-name regexes disjoint",
    "minProperties": "list every property as required, or drop the bound",
    "maxProperties": "list every property as required, or drop the bound",
    **dict.fromkeys(
        _BOUNDS,
        "keep integer bounds within +-2**62 (llguidance writes an integer range as a regex), or drop it",
    ),
    "required": "a required property the schema forbids (its schema is false, or the object is closed "
    "without it): declare it in properties or drop it from required",
    "enum": "an enum this large exceeds llguidance's JSON Schema limits; run the signature in DSPy's "
    "chat layout (dspy.ChatAdapter, the default: a Literal there is a grammar alternative, which "
    "takes tens of thousands of values), or use a str field with a pattern and check membership after",
    "size": "the schema exceeds llguidance's size limits; split the output into smaller fields or "
    "types, or bound fewer things (fewer enum values, shorter patterns)",
}
# What lenient=True cannot relax: it lets llguidance skip keywords; it makes nothing smaller.
_NOT_RELAXED = frozenset({"size", "enum"})
_LARGE_ENUM = 1000

_UNIMPLEMENTED = re.compile(r"Unimplemented keys: \[([^\]]*)\]")
_UNKNOWN_FORMAT = re.compile(r"Unknown format: (\S+)")
_WRONG_TYPE = re.compile(r"Expected [\w ]+ for '([^']+)'")
_NOT_DISJOINT = re.compile(r"patternProperty regexes /(.*)/ and /(.*)/ are not disjoint")
_UNSATISFIABLE = re.compile(r"required property '([^']*)' is unsatisfiable")
_TOO_LARGE = re.compile(r"\btoo (?:large|big)\b")
_MISSING_RESOURCE = re.compile(r"Resource '([^']*)' is not present")
_CIRCULAR = re.compile(r"circular references with sibling keys are not supported: (\S+)")
_WHILE = re.compile(r"while processing \S*?#(/\S*)")

_Predicate = Callable[[dict[str, Any]], bool]


def schema_error(
    schema: dict[str, Any], error: str, *, field: str | None = None, lenient: bool = False
) -> UnsupportedSchemaError:
    """The typed error of an llguidance message about ``schema``.

    Args:
        schema: The schema llguidance refused.
        error: llguidance's message (from compiling or validating the grammar).
        field: The field path of ``schema`` itself, prefixed to the path found inside it.
        lenient: Whether llguidance already ran leniently (then the message does not suggest it).

    Returns:
        An error naming the keyword and the shallowest field path where it occurs (both None when
        the message is one lift-dspy does not know), with a fix.
    """
    keyword, predicate = _classify(schema, error)
    fix = _FIXES.get(keyword or "", "simplify the schema")
    if keyword not in _FIXES and _WRONG_TYPE.search(error):
        fix = f"give {keyword} a value of the type JSON Schema defines for it"
    hint = match.group(1) if (match := _WHILE.search(error)) else None
    located = locate(schema, predicate, hint)
    if keyword == "minProperties" and located and "minProperties" not in located[1]:
        keyword = "maxProperties"
    elif keyword == "maximum" and located:
        keyword = next(key for key in _BOUNDS if _huge(located[1].get(key)))
    elif keyword == "pattern" and located and "pattern" not in located[1]:
        keyword = "patternProperties"
    elif keyword == "size" and located:
        keyword = "enum"
        fix = _FIXES[keyword]
    path = located[0] if located else None
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    first_line = " ".join(lines[:3]) if lines and lines[0].startswith("regex") else (lines or [error])[0]
    relax = (
        ""
        if lenient or keyword in _NOT_RELAXED
        else "; or pass lenient=True to let llguidance ignore keywords it does not implement "
        "(validation still checks the answer)"
    )
    return UnsupportedSchemaError(
        f"llguidance cannot enforce it ({first_line}). Fix: {fix}{relax}",
        field=".".join(part for part in (field, path) if part) or None,
        keyword=keyword,
    )


def _classify(schema: dict[str, Any], error: str) -> tuple[str | None, _Predicate]:
    """The keyword an llguidance message names, and how to recognise the schema node it is about."""
    if match := _UNIMPLEMENTED.search(error):
        keys = [key.strip().strip('"') for key in match.group(1).split(",")]
        return ("if" if "if" in keys else keys[0]), lambda node: any(key in node for key in keys)
    if match := _UNKNOWN_FORMAT.search(error):
        value = match.group(1)
        return "format", lambda node: node.get("format") == value
    if match := _WRONG_TYPE.search(error):
        key = match.group(1)
        return key, lambda node: key in node
    if "oneOf constraints are not supported" in error:
        return "oneOf", lambda node: "oneOf" in node
    if "min/maxProperties" in error:
        return "minProperties", lambda node: "minProperties" in node or "maxProperties" in node
    if match := _NOT_DISJOINT.search(error):
        regex = match.group(1)
        return "patternProperties", lambda node: regex in (node.get("patternProperties") or {})
    if "integer range" in error:
        return "maximum", lambda node: any(_huge(node.get(key)) for key in _BOUNDS)
    if match := _UNSATISFIABLE.search(error):
        prop = match.group(1)
        return "required", lambda node: prop in _listed(node.get("required"))
    if _TOO_LARGE.search(error):
        largest = max((len(_listed(node.get("enum"))) for _, _, node in walk_schema(schema)), default=0)
        if largest < _LARGE_ENUM:
            return "size", lambda node: False
        return "size", lambda node: len(_listed(node.get("enum"))) == largest
    if "regex" in error:
        return "pattern", _has_bad_regex
    if match := _MISSING_RESOURCE.search(error):
        uri = match.group(1)
        return "$ref", lambda node: refers_to(node.get("$ref"), uri)
    if match := _CIRCULAR.search(error):
        fragment = "#" + match.group(1).partition("#")[2]
        return "$ref", lambda node: str(node.get("$ref", "")).endswith(fragment) and len(node) > 1
    return None, lambda node: False


def locate(
    schema: dict[str, Any], predicate: _Predicate, hint: str | None = None
) -> tuple[str | None, dict[str, Any]] | None:
    """The shallowest field path (and node) at which ``predicate`` holds, through ``$ref`` s.

    Args:
        schema: The schema to walk.
        predicate: Which node is meant.
        hint: A JSON pointer into ``schema``; nodes below it are tried first.
    """
    nodes = list(walk_schema(schema))
    if hint is not None:
        hinted = [(path, pointer, node) for path, pointer, node in nodes if pointer.startswith(hint)]
        nodes = hinted or nodes
    for path, _pointer, node in nodes:
        if predicate(node):
            return field_text(path), node
    return None


def refers_to(ref: Any, uri: str) -> bool:
    """Whether a non-local ``$ref`` value names the resource ``uri`` (as llguidance resolved it)."""
    if not isinstance(ref, str) or ref.startswith("#"):
        return False
    target = ref.split("#", 1)[0]
    return bool(target) and (uri.split("#", 1)[0].endswith(target) or target.endswith(uri))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _huge(bound: Any) -> bool:
    return isinstance(bound, int | float) and not isinstance(bound, bool) and abs(bound) >= 2**62


def _has_bad_regex(node: dict[str, Any]) -> bool:
    """Whether a ``pattern`` or ``patternProperties`` regex of ``node`` fails in llguidance alone."""
    regexes = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
    if isinstance(node.get("patternProperties"), dict):
        regexes.extend(node["patternProperties"])
    for regex in regexes:
        try:
            if compile_grammar(grammar_from_json_schema({"type": "string", "pattern": regex})):
                return True
        except ValueError:
            return True
    return False
