"""The llguidance facade: the only module that imports llguidance, and its one error mapper.

Every llguidance message lift-dspy knows maps to ``UnsupportedSchemaError(field, keyword)``: the
real messages come from compiling real schemas (so a changed llguidance message fails here first),
the rest from the message text alone.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from lift_dspy.constraints import guidance
from lift_dspy.constraints.guidance import (
    GrammarMatcher,
    compile_json_schema,
    grammar_from_lark,
    schema_error,
)
from lift_dspy.errors import UnsupportedSchemaError

PACKAGE = Path(guidance.__file__).resolve().parents[1]
FACADE = Path(guidance.__file__).resolve()


def _llguidance_imports(path: Path) -> list[int]:
    """Lines of ``path`` that import llguidance (top-level, lazy, TYPE_CHECKING or importlib)."""
    lines: list[int] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            names = [str(node.args[0].value)] if called in ("import_module", "__import__") else []
        else:
            continue
        if any(name == "llguidance" or name.startswith("llguidance.") for name in names):
            lines.append(node.lineno)
    return lines


def test_only_the_facade_imports_llguidance() -> None:
    offenders = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.resolve() != FACADE and (lines := _llguidance_imports(path))
    }
    assert offenders == {}, f"import llguidance only in lift_dspy/constraints/guidance.py: {offenders}"


def test_the_scan_sees_lazy_and_aliased_imports(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "import json\n"
        "def f():\n    import llguidance.hf as hf\n"
        "def g():\n    from llguidance import LLMatcher\n"
        "def h():\n    import importlib\n    return importlib.import_module('llguidance')\n"
    )
    assert _llguidance_imports(source) == [3, 5, 8]
    assert _llguidance_imports(FACADE)  # the facade itself does import it


def _obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


# (schema, field, keyword) from real llguidance 1.7 messages, one per kind the mapper knows.
REAL = {
    "unimplemented": (_obj(a=_obj(tags={"type": "array", "uniqueItems": True})), "a.tags", "uniqueItems"),
    "unimplemented-if": (_obj(a={"if": {"type": "string"}, "then": {"type": "string"}}), "a", "if"),
    "unknown-format": (
        _obj(a={"type": "array", "items": {"type": "string", "format": "color"}}),
        "a[]",
        "format",
    ),
    "wrong-type": (_obj(a={"type": "string", "minLength": "x"}), "a", "minLength"),
    "oneOf": (_obj(a={"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}), "a", "oneOf"),
    "minProperties": (_obj(a={**_obj(p={"type": "string"}), "minProperties": 1}), "a", "minProperties"),
    "maxProperties": (_obj(a={**_obj(p={"type": "string"}), "maxProperties": 1}), "a", "maxProperties"),
    "not-disjoint": (
        _obj(
            a={"type": "object", "patternProperties": {"^a": {"type": "string"}, "^ab": {"type": "integer"}}}
        ),
        "a",
        "patternProperties",
    ),
    "integer-range": (_obj(n={"type": "integer", "minimum": -(2**63)}), "n", "minimum"),
    "unsatisfiable": (
        {**_obj(a={"type": "object", "additionalProperties": False, "required": ["z"]}), "required": ["a"]},
        None,
        "required",
    ),
    "too-big": (_obj(x={"enum": [f"v{i}" for i in range(100_000)]}), "x", "enum"),
    "regex": (_obj(a=_obj(b={"type": "string", "pattern": "(?!x)y"})), "a.b", "pattern"),
    "regex-in-patternProperties": (
        _obj(a={"type": "object", "patternProperties": {"(?=x)a": {"type": "string"}}}),
        "a",
        "patternProperties",
    ),
    "missing-resource": (_obj(a={"$ref": "https://example.com/s.json"}), "a", "$ref"),
    "circular": (
        {
            "$defs": {"n": _obj(c={"$ref": "#/$defs/n", "description": "x", "minProperties": 1})},
            **_obj(a={"$ref": "#/$defs/n"}),
        },
        "a.c",
        "$ref",
    ),
}


@pytest.mark.parametrize("case", sorted(REAL))
def test_every_known_llguidance_message_names_field_and_keyword(case: str) -> None:
    schema, field, keyword = REAL[case]
    with pytest.raises(UnsupportedSchemaError) as raised:
        compile_json_schema(schema, defaults={"whitespace_flexible": False})
    assert (raised.value.field, raised.value.keyword) == (field, keyword), str(raised.value)
    message = str(raised.value)
    assert "llguidance cannot enforce it (" in message
    assert "Fix: " in message
    assert "simplify the schema" not in message  # every known kind has its own fix


@pytest.mark.parametrize(
    ("message", "schema", "field", "keyword"),
    [
        (
            "Unsatisfiable schema: required property 'z' is unsatisfiable",
            _obj(a={"required": ["z"]}),
            "a",
            "required",
        ),
        ("grammar too large", _obj(x={"enum": list(range(2000))}), "x", "enum"),
        ("grammar too large", _obj(x={"enum": [1, 2]}), None, "size"),
        ('Unimplemented keys: ["else", "if"]', _obj(a={"if": {}, "else": {}}), "a", "if"),
        ("Expected positive integer for 'maxItems', got -1", _obj(a={"maxItems": -1}), "a", "maxItems"),
        (
            'Unimplemented keys: ["not"]\nwhile processing json-schema:///#/properties/b',
            _obj(a={"not": {}}, b={"not": {}}),
            "b",
            "not",
        ),
        ("something llguidance says that lift-dspy does not know", _obj(a={}), None, None),
    ],
)
def test_messages_map_without_compiling(
    message: str, schema: dict[str, Any], field: Any, keyword: Any
) -> None:
    error = schema_error(schema, message)
    assert (error.field, error.keyword) == (field, keyword), str(error)


def test_the_field_prefixes_the_path_and_lenient_is_suggested_only_where_it_helps() -> None:
    schema = _obj(tags={"type": "array", "uniqueItems": True})
    with pytest.raises(UnsupportedSchemaError) as raised:
        compile_json_schema(schema, field="out")
    assert (raised.value.field, raised.value.keyword) == ("out.tags", "uniqueItems")
    assert "lenient=True" in str(raised.value)
    assert "list[...]" in str(raised.value)
    assert "lenient" not in str(schema_error(schema, 'Unimplemented keys: ["uniqueItems"]', lenient=True))
    assert "lenient" not in str(schema_error(_obj(x={"enum": list(range(2000))}), "too large"))
    # the schema's own x-guidance lenient: already relaxed, so not suggested
    already = {**_obj(a={"type": "string", "format": "color"}), "x-guidance": {"lenient": False}}
    with pytest.raises(UnsupportedSchemaError) as raised:
        compile_json_schema(already)
    assert "lenient=True" in str(raised.value)


def test_lenient_lets_llguidance_skip_unimplemented_keywords() -> None:
    schema = _obj(tags={"type": "array", "uniqueItems": True})
    assert compile_json_schema(schema, defaults={"lenient": True})
    assert compile_json_schema({**schema, "x-guidance": {"lenient": True}})


def test_matcher_complete_and_prefix() -> None:
    matcher = GrammarMatcher(grammar_from_lark('start: "ab" "c"'))
    assert matcher.mismatch("abc") is None
    assert matcher.accepts("abc")
    assert not matcher.accepts("ab")
    assert matcher.accepts("ab", complete=False)
    assert matcher.accepts("", complete=False)
    assert not matcher.accepts("ax", complete=False)
    assert matcher.mismatch("ax") == (1, "unexpected 'x' at byte 1 (after 'a')")
    assert matcher.mismatch("ab") == (2, "output ends before the structure is complete")


def test_language_is_empty() -> None:
    assert not guidance.language_is_empty('start: "a"')
    assert guidance.language_is_empty("start: A\nA: /a/ & /b/\n")
    with pytest.raises(ValueError, match="undefined_rule"):
        guidance.language_is_empty("start: undefined_rule\n")
