"""Two rewrites of a user's JSON Schema for ``model_from_schema``: one for the generator, one to embed.

* :func:`codegen_input`: a copy that datamodel-code-generator turns into a model as loose as the
  schema (the original schema's validation then applies the rest).
* :func:`embeddable`: the schema with its local ``$ref`` s inlined, to sit inside another document
  (a model's schema embedded in a ``TypeAdapter`` or a DSPy output field).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from lift_dspy.constraints.paths import resolve_pointer
from lift_dspy.constraints.schema import _each_subschema

__all__ = ["codegen_input", "embeddable"]

_MAX_INLINED_NODES = 200_000
_NAMED_SUBSCHEMAS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

_FAMILIES = {
    "object": (
        *("properties", "required", "additionalProperties", "patternProperties", "minProperties"),
        *("maxProperties", "propertyNames", "dependencies", "dependentRequired", "dependentSchemas"),
    ),
    "array": ("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains"),
    "string": ("minLength", "maxLength", "pattern", "format"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
}
_JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
_PYDANTIC_BOUNDS = {
    "string": ("minLength", "maxLength", "pattern", "format"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "array": ("minItems", "maxItems", "prefixItems", "items", "additionalItems"),
    "object": ("minProperties", "maxProperties"),
}
_FAMILY_TYPES = {
    "string": {"string"},
    "number": {"integer", "number"},
    "array": {"array"},
    "object": {"object"},
}


def codegen_input(node: Any) -> Any:
    """A copy of ``node`` that datamodel-code-generator turns into a model as loose as the schema.

    * ``number`` becomes ``[integer, number]``: Pydantic then keeps ``1`` an ``int`` (a ``float``
      field would dump ``1.0``, which a tool expecting an integer may refuse).
    * an object with ``properties`` and no ``additionalProperties`` keeps its extra keys.
    * a subschema without ``type`` (``{"properties": {...}}``) constrains objects only; the
      generator would make it a model that rejects a string, which the schema and llguidance's
      grammar allow. It becomes ``anyOf: [{type: object, ...}, {type: [the other types]}]``.
    """
    if isinstance(node, list):
        return [codegen_input(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("const", "enum", "default", "examples", "allOf") or key.startswith("x-"):
            out[key] = copy.deepcopy(value)
        elif key in _NAMED_SUBSCHEMAS and isinstance(value, dict):
            out[key] = {name: codegen_input(child) for name, child in value.items()}
        elif key == "type":
            out[key] = _with_integer(value)
        elif (
            key in ("anyOf", "oneOf") and isinstance(value, list) and any(item is not False for item in value)
        ):
            # A false branch never matches (the generator refuses it): without it, same schema.
            out[key] = [codegen_input(item) for item in value if item is not False]
        else:
            out[key] = codegen_input(value)
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = True  # else Pydantic drops the extra keys the schema allows
    if "patternProperties" in node and (
        "properties" in node or node.get("additionalProperties", True) is not False
    ):
        # The generator types keys as "must match a pattern" (or, next to properties, forbids
        # them); a key that matches none belongs to additionalProperties. Any key and value then,
        # and the schema check sorts them out.
        del out["patternProperties"]
        out["additionalProperties"] = True
    # The generator types keys by propertyNames (a RootModel key, unhashable): keys stay str, the
    # schema check applies it.
    out.pop("propertyNames", None)
    if isinstance(node.get("format"), str):
        # A formatted string may become date, UUID, ...: Pydantic cannot apply string bounds to
        # those ("Unable to apply constraint 'max_length'"); the schema check applies them.
        for key in ("minLength", "maxLength", "pattern"):
            out.pop(key, None)
    families = {family for family, keys in _FAMILIES.items() if any(key in node for key in keys)}
    typed = {"type", "$ref", "enum", "const", "anyOf", "oneOf", "allOf", "not", "if"} & set(node)
    if typed or len(families) != 1:
        kinds = node.get("type")
        declared = {kind for kind in (kinds if isinstance(kinds, list) else [kinds]) if isinstance(kind, str)}
        declared.discard("null")
        for family, keys in _FAMILIES.items():
            if declared and not declared & _FAMILY_TYPES[family]:
                for key in keys:  # keywords of a type the value cannot have: no-ops in JSON Schema
                    out.pop(key, None)
        for family, keys in _PYDANTIC_BOUNDS.items():
            if not declared or not declared <= _FAMILY_TYPES[family]:
                # Pydantic applies a bound to every value of an Any or union field and raises
                # TypeError ("Unable to apply constraint") on one it does not fit; the schema
                # check applies it to the right type only.
                for key in keys:
                    out.pop(key, None)
        return out
    (family,) = families
    notes = {key: out.pop(key) for key in ("title", "description", "default", "examples") if key in out}
    kinds = ("integer", "number") if family == "number" else (family,)
    others = [kind for kind in _JSON_TYPES if kind not in kinds]
    return {**notes, "anyOf": [{**out, "type": _with_integer(family)}, {"type": others}]}


def _with_integer(kind: Any) -> Any:
    if kind == "number":
        return ["integer", "number"]
    if isinstance(kind, list) and "number" in kind and "integer" not in kind:
        return [name for each in kind for name in (("integer", "number") if each == "number" else (each,))]
    return kind


def embeddable(schema: dict[str, Any]) -> dict[str, Any] | None:
    """``schema`` with local ``$ref`` s inlined and dialect keys dropped.

    None when that is impossible (a recursive or non-local ``$ref``) or would blow up the schema.
    """
    try:
        inlined = _inline(schema, schema, (), [_MAX_INLINED_NODES])
    except _NotInlinableError:
        return None
    if not isinstance(inlined, dict):
        return None
    dialect = str(inlined.get("$schema", ""))
    for key in ("$schema", "$id", "id"):
        inlined.pop(key, None)
    # Without its $schema the embedded copy would be read as 2020-12; keywords its own draft does
    # not have (ignored by its validator and by llguidance there) go, Draft 4's boolean bounds
    # become numeric ones.
    unknown = next((keys for marker, keys in _LATER_KEYWORDS if marker in dialect), frozenset())
    if unknown:
        _each_subschema(inlined, functools.partial(_to_2020_12, unknown, "draft-04" in dialect))
    return inlined


_AFTER_DRAFT7 = frozenset(
    {"dependentRequired", "dependentSchemas", "prefixItems", "unevaluatedProperties", "unevaluatedItems"}
    | {"minContains", "maxContains", "$anchor", "$dynamicRef", "$dynamicAnchor"}
)
_AFTER_DRAFT6 = _AFTER_DRAFT7 | {"if", "then", "else"}
_AFTER_DRAFT4 = _AFTER_DRAFT6 | {"propertyNames", "contains", "const"}
_LATER_KEYWORDS = (("draft-04", _AFTER_DRAFT4), ("draft-06", _AFTER_DRAFT6), ("draft-07", _AFTER_DRAFT7))


def _to_2020_12(unknown: frozenset[str], draft4: bool, node: dict[str, Any]) -> None:
    for key in unknown & set(node):
        del node[key]
    if not draft4:
        return
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = node.get(exclusive)
        if isinstance(flag, bool):
            del node[exclusive]
            if flag and bound in node:
                node[exclusive] = node.pop(bound)


class _NotInlinableError(Exception):
    pass


def _inline(node: Any, root: dict[str, Any], stack: tuple[str, ...], budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _NotInlinableError("too large")
    if isinstance(node, list):
        return [_inline(item, root, stack, budget) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = resolve_pointer(root, ref[1:]) if ref.startswith("#") and ref not in stack else None
        if target is None:
            raise _NotInlinableError(ref)
        resolved = _inline(target, root, (*stack, ref), budget)
        siblings = {key: _inline(value, root, stack, budget) for key, value in node.items() if key != "$ref"}
        if not siblings:
            return resolved
        return {**siblings, "allOf": [*siblings.get("allOf", []), resolved]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$defs", "definitions") and node is root:
            continue
        if key in ("const", "enum", "default", "examples"):
            if _holds_ref_key(value):
                # Pydantic reads every "$ref" key of a schema as a reference, data included.
                if key in ("default", "examples"):
                    continue  # annotations: the constraint does not need them
                raise _NotInlinableError(key)
            out[key] = copy.deepcopy(value)
        elif key in _NAMED_SUBSCHEMAS and isinstance(value, dict):
            out[key] = {name: _inline(child, root, stack, budget) for name, child in value.items()}
        else:
            out[key] = _inline(value, root, stack, budget)
    return out


def _holds_ref_key(value: Any) -> bool:
    if isinstance(value, dict):
        return "$ref" in value or any(_holds_ref_key(item) for item in value.values())
    return isinstance(value, list) and any(_holds_ref_key(item) for item in value)
