"""The original JSON Schema as the validator of ``model_from_schema``'s models (jsonschema).

The validator follows the schema's ``$schema`` (Draft 4 to 2020-12) and asserts formats; the
formats llguidance enforces are checked as the constraint enforces them (for date, time and
date-time: the calendar-exact patterns lift-dspy sends), so a value the grammar lets a model write
validates and one it cannot write does not.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from lift_dspy.codegen import INSTALL_HINT
from lift_dspy.constraints.guidance import _FIXES, GrammarMatcher, grammar_from_json_schema
from lift_dspy.constraints.paths import field_text
from lift_dspy.constraints.schema import format_schema
from lift_dspy.errors import UnsupportedSchemaError

__all__ = ["data_path", "jsonable", "recursion_as_error", "schema_errors", "schema_field", "schema_validator"]


def schema_errors(validator: Any, data: Any) -> list[tuple[str | None, str]]:
    """(data path, message) of each error ``validator`` finds in ``data``, by path; none without one."""
    if validator is None:
        return []
    try:
        with recursion_as_error():
            found = sorted(validator.iter_errors(jsonable(data)), key=lambda error: list(error.path))
    except Exception as exc:  # a ref jsonschema cannot follow: the value is not checked
        return [(None, f"jsonschema cannot check this value ({type(exc).__name__}: {str(exc)[:200]})")]
    return [(data_path(error.absolute_path), error.message) for error in found]


@contextlib.contextmanager
def recursion_as_error() -> Iterator[None]:
    """Give back as ``RecursionError`` the recursion limit hit inside a Rust extension.

    jsonschema resolves refs through ``rpds`` (Rust, pyo3); when the limit is reached inside its
    ``__eq__``, pyo3 raises ``PanicException``, a ``BaseException`` that ``except Exception`` misses.
    """
    try:
        yield
    except BaseException as exc:
        if type(exc).__name__ == "PanicException" and "RecursionError" in str(exc):
            raise RecursionError(f"recursion limit reached inside a Rust extension: {exc}") from exc
        raise


def jsonable(value: Any) -> Any:
    """``value`` as JSON data; model instances inside it dump only the fields that were set."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return to_jsonable_python(value, by_alias=True)


def data_path(parts: Any) -> str | None:
    """A jsonschema error's path in the data as text: ``items[2].name`` (None at the root)."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def schema_validator(schema: dict[str, Any]) -> Any:
    """The jsonschema validator of ``schema`` (its draft by ``$schema``, 2020-12 by default).

    Raises:
        UnsupportedSchemaError: ``schema`` breaks its metaschema, or a ``$ref`` cannot be followed
            or loops without reaching a value.
        ImportError: jsonschema is not installed.
    """
    try:
        import jsonschema
        from jsonschema.validators import validator_for
    except ImportError as exc:
        raise ImportError(
            f"model_from_schema needs jsonschema to check answers against the original schema: {INSTALL_HINT}"
        ) from exc
    validator_class = validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        pointer = list(exc.path)
        keyword = next((part for part in reversed(pointer) if isinstance(part, str)), None)
        raise UnsupportedSchemaError(
            f"not a valid {validator_class.__name__.removesuffix('Validator')} JSON Schema: {exc.message}. "
            f"Fix: give {keyword or 'the keyword'} a value its metaschema allows (or set $schema to "
            "the draft the schema is written for)",
            field=schema_field(pointer),
            keyword=keyword,
        ) from exc
    validator = validator_class(schema, format_checker=_format_checker(validator_class.FORMAT_CHECKER))
    probes: tuple[Any, ...] = (None, {}, [], "", 0)
    for probe in probes:
        try:
            with recursion_as_error():
                validator.is_valid(probe)
        except RecursionError as exc:
            raise UnsupportedSchemaError(
                "a $ref cycle never reaches a value (validating it recurses forever). Fix: make "
                "every recursive $ref sit under properties or items",
                keyword="$ref",
            ) from exc
        except Exception as exc:  # jsonschema/referencing: a ref it cannot follow
            raise UnsupportedSchemaError(
                f"jsonschema cannot validate with it ({type(exc).__name__}: {str(exc)[:200]}). "
                f"Fix: {_FIXES['$ref']}",
                keyword="$ref",
            ) from exc
    return validator


# The formats llguidance enforces. The model checks them as the constraint does (for date, time and
# date-time: the calendar-exact patterns lift-dspy sends), so a value the grammar lets a model write
# validates and one it cannot write does not; jsonschema would skip most of them without extra packages.
_GRAMMAR_FORMATS = (
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
    "uri",
)


def _format_checker(base: Any) -> Any:
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = dict(base.checkers)
    for fmt in _GRAMMAR_FORMATS:
        checker.checks(fmt)(functools.partial(_grammar_format_ok, fmt))
    return checker


@functools.cache
def _format_matcher(fmt: str) -> GrammarMatcher:
    return GrammarMatcher(grammar_from_json_schema(format_schema(fmt)))


def _grammar_format_ok(fmt: str, value: Any) -> bool:
    if not isinstance(value, str):
        return True
    return _format_matcher(fmt).mismatch(json.dumps(value, ensure_ascii=False)) is None


def schema_field(pointer: list[Any]) -> str | None:
    """The field path of a location inside a schema given as JSON pointer parts."""
    path: list[str] = []
    parts = iter(pointer)
    for part in parts:
        if part in ("properties", "patternProperties", "$defs", "definitions"):
            name = next(parts, None)
            if name is not None:
                path = [str(name)] if part in ("$defs", "definitions") else [*path, str(name)]
        elif part in ("items", "additionalItems", "prefixItems"):
            path.append("[]")
        elif part == "additionalProperties":
            path.append("{}")
    return field_text(path)
