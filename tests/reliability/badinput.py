"""Hypothesis strategies for hostile inputs: random signatures and random JSON Schemas (test helper).

The signatures mix every type family lift-dspy handles (scalars, Literal/Enum, Optional, unions,
lists, maps, nested and recursive models, Annotated bounds and patterns) with the ones it cannot
enforce (``set`` -> ``uniqueItems``, ``bytes`` -> ``format: binary``). The JSON Schemas add what
Pydantic never emits: ``not``, ``if/then/else``, ``contains``, ``propertyNames``, unknown formats,
look-around regexes, thousands of enum values and deep nesting.
"""

from __future__ import annotations

import datetime
import enum
import itertools
import keyword
import uuid
import warnings
from typing import Annotated, Any, Literal, Optional, Union

import dspy
from hypothesis import reject
from hypothesis import strategies as st
from pydantic import Field, create_model

__all__ = [
    "UNSUPPORTED",
    "deep_model",
    "json_schemas",
    "nested_list",
    "python_types",
    "signatures",
    "supported_object_schemas",
]

_names = itertools.count()


def _fresh(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


# Field names a model could be asked for, including ones that shadow BaseModel or Signature
# attributes, Python keywords and DSPy's own field names.
FIELD_NAMES = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True),
    st.sampled_from(["json", "copy", "schema", "reasoning", "answer", "next_tool_name", "completed"]),
).filter(lambda name: not keyword.iskeyword(name))

# Any text, including what DSPy's ChatAdapter cannot read back as a choice (edge whitespace, line
# boundaries, a header opener): the chat layout must refuse those with a typed error.
_WORDS = st.one_of(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
    st.sampled_from([" pad", "a\nb", "a\x85b", "[[ ## x ## ]]", "\x7f"]),
)


def _literal(values: list[Any]) -> Any:
    return Literal[tuple(values)]


def _enum(values: list[str]) -> Any:
    return enum.Enum(_fresh("E"), {f"m{i}": value for i, value in enumerate(values)})


_SCALARS: st.SearchStrategy[Any] = st.sampled_from(
    [str, int, float, bool, datetime.date, datetime.datetime, uuid.UUID]
)
_BOUNDED: st.SearchStrategy[Any] = st.one_of(
    st.tuples(st.integers(-1000, 0), st.integers(0, 1000)).map(
        lambda b: Annotated[int, Field(ge=b[0], le=b[1])]
    ),
    st.integers(1, 50).map(lambda n: Annotated[str, Field(max_length=n)]),
    st.sampled_from([r"^[A-Z]{3}-[0-9]{3}$", r"^[a-z_][a-z0-9_]*$", r"\d+"]).map(
        lambda p: Annotated[str, Field(pattern=p)]
    ),
    st.integers(0, 5).map(lambda n: Annotated[list[int], Field(max_length=n)]),
)
_CHOICES: st.SearchStrategy[Any] = st.one_of(
    st.lists(_WORDS, min_size=1, max_size=8, unique=True).map(_literal),
    st.lists(st.integers(-5, 5), min_size=1, max_size=5, unique=True).map(_literal),
    # Huge enums: thousands of raw choices in the grammar.
    st.integers(500, 4000).map(lambda n: _literal([f"value_{i}" for i in range(n)])),
    st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=6, unique=True).map(_enum),
)
# What no constraint can enforce (without lenient=True).
_UNENFORCEABLE: st.SearchStrategy[Any] = st.sampled_from([set[str], frozenset[int], bytes])


def _model(fields: list[Any]) -> Any:
    definitions: dict[str, Any] = {f"f{i}": (kind, ...) for i, kind in enumerate(fields)}
    return create_model(_fresh("Model"), **definitions)


def _recursive(kind: Any) -> Any:
    """A model that contains a list of itself (a tree of ``kind`` values)."""
    name = _fresh("Tree")
    model = create_model(name, value=(kind, ...), children=(list[name], ...))  # type: ignore[valid-type]
    model.model_rebuild(_types_namespace={name: model})
    return model


def nested_list(kind: Any, depth: int) -> Any:
    for _ in range(depth):
        kind = list[kind]
    return kind


def deep_model(kind: Any, depth: int) -> Any:
    for _ in range(depth):
        kind = create_model(_fresh("Level"), inner=(kind, ...))
    return kind


def python_types() -> st.SearchStrategy[Any]:
    """Output field types, from plain ``int`` to unions of recursive models nested 30 deep."""
    leaves = st.one_of(_SCALARS, _BOUNDED, _CHOICES, _UNENFORCEABLE)
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(lambda t: list[t]),  # type: ignore[valid-type]
            inner.map(lambda t: Optional[t]),  # noqa: UP045 - a runtime-built type
            st.tuples(inner, inner).map(lambda ts: Union[ts]),  # noqa: UP007
            inner.map(lambda t: dict[str, t]),  # type: ignore[valid-type]
            inner.map(lambda t: tuple[t, ...]),  # type: ignore[valid-type]
            st.lists(inner, min_size=1, max_size=4).map(_model),
            inner.map(_recursive),
            st.tuples(inner, st.integers(5, 30)).map(lambda td: nested_list(*td)),
            st.tuples(inner, st.integers(5, 30)).map(lambda td: deep_model(*td)),
        ),
        max_leaves=6,
    )


@st.composite
def signatures(draw: st.DrawFn) -> Any:
    """A ``dspy.Signature`` with one input and one to three outputs of random types."""
    names = draw(st.lists(FIELD_NAMES, min_size=1, max_size=3, unique=True).filter(lambda n: "q" not in n))
    fields: dict[str, Any] = {"q": (str, dspy.InputField())}
    for name in names:
        fields[name] = (draw(python_types()), dspy.OutputField())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "shadows an attribute in parent Signature"
            return dspy.Signature(fields, "Answer the question.")
    except TypeError:
        reject()  # DSPy itself refuses the name (e.g. `fields`): not lift-dspy's input


# ---------------------------------------------------------------------------------------------
# JSON Schemas

UNSUPPORTED: dict[str, dict[str, Any]] = {
    "not": {"not": {"type": "null"}},
    "if": {"if": {"minimum": 0}, "then": {"maximum": 9}, "else": {"minimum": -9}},
    "uniqueItems": {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
    "contains": {"type": "array", "contains": {"type": "integer"}},
    "format": {"type": "string", "format": "color-hex"},
    "pattern": {"type": "string", "pattern": "(?=a)ab"},
}
_PATTERNS = st.sampled_from([r"^[a-z]+$", r"^\d{3}-\d{4}$", r"^.{0,5}$", "(?<!x)y", "(a)\\1", "["])
_FORMATS = st.sampled_from(["date", "date-time", "email", "uuid", "ipv4", "hostname", "binary", "nope"])


def _leaf_schemas() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("string")},
            optional={"maxLength": st.integers(0, 40), "minLength": st.integers(0, 3), "pattern": _PATTERNS},
        ),
        st.fixed_dictionaries({"type": st.just("string"), "format": _FORMATS}),
        st.fixed_dictionaries(
            {"type": st.just("integer")},
            optional={"minimum": st.integers(-100, 0), "maximum": st.integers(0, 2**64)},
        ),
        st.just({"type": "number"}),
        st.just({"type": "boolean"}),
        st.just({"type": "null"}),
        st.integers(1, 3000).map(lambda n: {"enum": [f"e{i}" for i in range(n)]}),
        st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), min_size=1, max_size=5).map(
            lambda values: {"enum": values}
        ),
        st.one_of(st.integers(), st.text(max_size=8), st.booleans()).map(lambda v: {"const": v}),
    )


def _object(props: dict[str, dict[str, Any]], draw_required: list[bool], closed: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "object", "properties": props}
    required = [name for name, flag in zip(props, draw_required, strict=False) if flag]
    if required:
        node["required"] = required
    if closed is not None:
        node["additionalProperties"] = closed
    return node


def _composites(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_ -]{0,8}", fullmatch=True)
    return st.one_of(
        st.builds(
            lambda items, extra: {"type": "array", "items": items, **extra},
            inner,
            st.fixed_dictionaries(
                {},
                optional={
                    "minItems": st.integers(0, 2),
                    "maxItems": st.integers(2, 6),
                    "uniqueItems": st.booleans(),
                    "contains": st.just({"type": "integer"}),
                },
            ),
        ),
        st.builds(
            _object,
            st.dictionaries(names, inner, min_size=1, max_size=5),
            st.lists(st.booleans(), max_size=5),
            st.one_of(st.none(), st.just(False), inner),
        ),
        st.lists(inner, min_size=2, max_size=4).map(lambda options: {"anyOf": options}),
        st.lists(inner, min_size=2, max_size=3).map(lambda options: {"oneOf": options}),
        st.lists(inner, min_size=1, max_size=2).map(lambda parts: {"allOf": parts}),
        inner.map(lambda sub: {"not": sub}),
        st.tuples(inner, inner).map(lambda ab: {"if": ab[0], "then": ab[1]}),
        st.builds(
            lambda props, names: {"type": "object", "properties": props, "propertyNames": names},
            st.dictionaries(names, inner, min_size=1, max_size=2),
            st.just({"pattern": "^[a-z]+$"}),
        ),
        st.builds(lambda inner_schema, depth: _deep_schema(inner_schema, depth), inner, st.integers(10, 60)),
    )


def _deep_schema(inner: dict[str, Any], depth: int) -> dict[str, Any]:
    node = inner
    for level in range(depth):
        key = "items" if level % 2 else "properties"
        node = {"type": "array", "items": node} if key == "items" else _object({"x": node}, [True], False)
    return node


_RECURSIVE_ROOT = {
    "type": "object",
    "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#"}}},
    "required": ["value", "children"],
}


@st.composite
def json_schemas(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON Schema document: an object at the root, random subschemas, maybe recursive ``$defs``."""
    body = st.recursive(_leaf_schemas(), _composites, max_leaves=8)
    props = draw(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), body, max_size=4))
    root = _object(props, draw(st.lists(st.booleans(), max_size=4)), draw(st.sampled_from([None, False])))
    if draw(st.booleans()):
        link = {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}
        node = {"type": "object", "properties": {"label": draw(body), "next": link}, "required": ["label"]}
        root["$defs"] = {"Node": node}
        root["properties"]["chain"] = {"$ref": "#/$defs/Node"}
    if draw(st.integers(0, 9)) == 0:
        root = dict(_RECURSIVE_ROOT)
    return root


@st.composite
def supported_object_schemas(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """An object schema built only from keywords llguidance enforces, and one property path in it.

    Returns the schema and the path (a list of property names) of a leaf where a test can plant
    an unsupported keyword.
    """
    safe_leaf = st.one_of(
        st.just({"type": "string", "maxLength": 20}),
        st.just({"type": "integer", "minimum": 0, "maximum": 99}),
        st.just({"type": "boolean"}),
        st.integers(1, 50).map(lambda n: {"enum": [f"v{i}" for i in range(n)]}),
    )
    depth = draw(st.integers(1, 4))
    path = [draw(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)) for _ in range(depth)]
    node: dict[str, Any] = draw(safe_leaf)
    for name in reversed(path):
        sibling_names = st.from_regex(r"z[a-z0-9]{0,6}", fullmatch=True)
        siblings = draw(st.dictionaries(sibling_names, safe_leaf, max_size=3))
        props = {name: node, **{key: value for key, value in siblings.items() if key != name}}
        node = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    return node, path
