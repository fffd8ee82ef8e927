"""``model_from_schema`` on real-world JSON Schemas (``tests/data/schemas``, see its SOURCES.md).

Coverage: every corpus schema becomes a model or a typed ``UnsupportedSchemaError`` naming the
keyword (and the field, pinned below). Agreement: on valid and invalid instances (SchemaStore's own
test files, hand-written ones, instances generated from the schema, and mutations of all of them)
the model accepts exactly what ``jsonschema`` accepts, and llguidance's grammar of the schema
accepts every valid instance written compactly. hypothesis-jsonschema fails on object schemas with
current hypothesis (``'many' object has no attribute 'more'``), hence the small generator below.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import keyword
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import llguidance
import pydantic
import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter

from lift_dspy.constraints.from_schema import model_from_schema, regenerate_models, validate_against_schema
from lift_dspy.errors import ConstraintViolationError, UnsupportedSchemaError

DATA = Path(__file__).resolve().parents[1] / "data" / "schemas"
CORPUS = sorted(path.stem for path in DATA.glob("*.json"))
ANY_FIELD = object()  # llguidance reports the first missing remote resource in no fixed order

# (keyword, field) of the error each schema raises; every other corpus schema converts.
STRICT_ERRORS: dict[str, tuple[str, object]] = {
    "glaive-calculate-area": ("dependencies", None),
    "k8s-kb-933": ("format", "data{}"),
    "schemastore-attw": ("not", None),
    "schemastore-dart-test": ("$ref", None),
    "schemastore-dependabot-2-0": ("uniqueItems", "updates[].assignees"),
    "schemastore-emmet": ("patternProperties", None),
    "schemastore-github-action": ("if", None),
    "schemastore-nodemon": ("dependencies", None),
    "schemastore-package": ("$ref", ANY_FIELD),
    "schemastore-partial-mypy": ("minProperties", "overrides[]"),
    "schemastore-problem-object-rfc9457": ("format", "type"),
    "schemastore-semantic-release": ("oneOf", "extends"),
    "snowplow-sp-209": ("oneOf", "actions[].apikey"),
}
LENIENT_ERRORS: dict[str, tuple[str, object]] = {
    name: STRICT_ERRORS[name]
    for name in (
        "schemastore-dart-test",
        "schemastore-emmet",
        "schemastore-package",
        "schemastore-partial-mypy",
    )
}
TOKENIZER = llguidance.LLTokenizer("byte")


def _schema(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def _expected(lenient: bool) -> dict[str, tuple[str, object]]:
    return LENIENT_ERRORS if lenient else STRICT_ERRORS


# ---------------------------------------------------------------------------------------------
# Coverage


def _convert(name: str, lenient: bool) -> tuple[type[BaseModel] | None, UnsupportedSchemaError | None]:
    try:
        return model_from_schema(_schema(name), "Corpus", lenient=lenient), None
    except UnsupportedSchemaError as exc:
        return None, exc


@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
def test_every_corpus_schema_converts_or_raises_a_typed_error(lenient: bool) -> None:
    outcomes: Counter[str] = Counter()
    for name in CORPUS:
        model, error = _convert(name, lenient)
        if error is not None:
            outcomes["typed error"] += 1
            assert name in _expected(lenient), f"{name}: unexpected {error}"
            expected_keyword, expected_field = _expected(lenient)[name]
            assert error.keyword == expected_keyword, f"{name}: {error}"
            assert expected_field is ANY_FIELD or error.field == expected_field, f"{name}: {error}"
            assert expected_keyword in str(error)
        else:
            outcomes["model"] += 1
            assert name not in _expected(lenient), f"{name} converted; expected an error"
            assert model is not None
            assert model.model_json_schema() == _schema(name)
    print(f"\n{'lenient' if lenient else 'strict'}: {dict(outcomes)} of {len(CORPUS)}")
    assert outcomes["model"] + outcomes["typed error"] == len(CORPUS)


# ---------------------------------------------------------------------------------------------
# Agreement with jsonschema and llguidance


_NONE = object()
_FORMATS = {
    "date-time": "2024-05-06T07:08:09Z",
    "date": "2024-05-06",
    "time": "07:08:09Z",
    "email": "dev@example.com",
    "uri": "https://example.com/a",
    "uri-reference": "/a/b",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
    "duration": "P1D",
    "regex": "^a+$",
}


@functools.cache
def _from_regex(pattern: str) -> Any:
    try:
        return find(
            st.from_regex(pattern),
            lambda _: True,
            settings=settings(
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            ),
        )
    except Exception:  # a pattern hypothesis cannot draw from: skip this instance
        return _NONE


def _resolve(root: dict[str, Any], ref: str) -> Any:
    node: Any = root
    for token in ref.partition("#")[2].split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node.get(token, {})
    return node


def _flatten(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """``schema`` with local ``$ref`` s resolved and ``allOf`` merged in (good enough to sample)."""
    if not isinstance(schema, dict) or depth > 20:
        return schema
    merged = dict(schema)
    ref = merged.pop("$ref", None)
    parts = [_resolve(root, ref)] if isinstance(ref, str) else []
    parts += merged.pop("allOf", [])
    for part in parts:
        part = _flatten(part, root, depth + 1)
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties" and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            elif key == "required" and isinstance(merged.get(key), list):
                merged[key] = [*dict.fromkeys([*merged[key], *value])]
            else:
                merged.setdefault(key, value)
    return merged


def _sample(schema: Any, root: dict[str, Any], full: bool, depth: int = 0) -> Any:
    """A deterministic instance: required properties only, or (``full``) every property."""
    full = full and depth < 4
    if schema is True or schema == {}:
        return {"k": 1} if full else "x"
    if not isinstance(schema, dict) or depth > 12:
        return _NONE
    node = _flatten(schema, root)
    if "const" in node:
        return node["const"]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return node["enum"][-1 if full else 0]
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            rest = {name: value for name, value in node.items() if name != key}
            for branch in reversed(node[key]) if full else node[key]:
                branch = _flatten(branch, root)
                value = (
                    _sample({**rest, **branch}, root, full, depth + 1) if isinstance(branch, dict) else _NONE
                )
                if value is not _NONE:
                    return value
            return _NONE
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [name for name in kind if name != "null"] or kind
        kind = kinds[-1 if full else 0]
    if kind is None:
        kind = "object" if "properties" in node else "array" if "items" in node else "string"
    if kind in ("null", "boolean"):
        return None if kind == "null" else full
    if kind == "string":
        if node.get("format") in _FORMATS:
            return _FORMATS[node["format"]]
        if isinstance(node.get("pattern"), str):
            return _from_regex(node["pattern"])
        size = max(node.get("minLength", 0), min(node.get("maxLength", 12), 5 if full else 1))
        return ("abcde" * (size // 5 + 1))[:size]
    if kind in ("integer", "number"):
        low, high = node.get("minimum"), node.get("maximum")
        exclusive = node.get("exclusiveMinimum")
        if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
            low = exclusive + 1
        value = low if low is not None else (high if high is not None and high < 0 else 0)
        if full:
            value = high if high is not None and high - value <= 1000 else value + 3
        step = node.get("multipleOf")
        if isinstance(step, int | float) and step:
            value = -(-value // step) * step
        return int(value) if kind == "integer" else value
    if kind == "array":
        items = node.get("items")
        out = [_sample(item, root, full, depth + 1) for item in node.get("prefixItems") or []]
        count = max(node.get("minItems", 0), 1 if full else 0)
        while len(out) < min(count, node.get("maxItems", count)):
            out.append(_sample(items if isinstance(items, dict) else {}, root, full, depth + 1))
        return _NONE if any(item is _NONE for item in out) else out
    if kind != "object":
        return _NONE
    properties: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
    required = [name for name in node.get("required", []) if isinstance(name, str)]
    extra = node.get("additionalProperties", True)
    out_object: dict[str, Any] = {}
    for name in [*(properties if full else [name for name in properties if name in required]), *required]:
        if name in out_object:
            continue
        value = _sample(properties.get(name, extra if isinstance(extra, dict) else {}), root, full, depth + 1)
        if value is _NONE and name in required:
            return _NONE
        if value is not _NONE:
            out_object[name] = value
    for name in properties:
        if len(out_object) >= node.get("minProperties", 0):
            break
        value = _sample(properties[name], root, full, depth + 1)
        if name not in out_object and value is not _NONE:
            out_object[name] = value
    for index in range(node.get("minProperties", 0) - len(out_object)):
        out_object[f"extra{index}"] = _sample(extra if isinstance(extra, dict) else {}, root, full, depth + 1)
    return out_object


def _mutants(instance: Any) -> list[Any]:
    """Near misses: drop a key, retype a value, add a key, wrong top-level types."""
    out: list[Any] = [None, "x", 7]
    if isinstance(instance, dict):
        for name in list(instance)[:4]:
            out.append({key: value for key, value in instance.items() if key != name})
            out.append({**instance, name: 12345 if isinstance(instance[name], str) else "zz"})
            if isinstance(instance[name], dict):
                out.extend({**instance, name: mutant} for mutant in _mutants(instance[name])[3:])
        out.append({**instance, "zz_extra": 1})
    elif isinstance(instance, list) and instance:
        out.extend([[], [*instance, *instance], [_mutants(instance[0])[3:][:1] or None]])
    return out


def _eat(matcher: llguidance.LLMatcher, text: str) -> bool:
    tokens = TOKENIZER.tokenize_bytes(text.encode())
    return matcher.try_consume_tokens(tokens) == len(tokens)


def _feed(
    matcher: llguidance.LLMatcher, value: Any, schema: Any, root: dict[str, Any], budget: list[int]
) -> llguidance.LLMatcher | None:
    """Feed ``value`` as compact JSON, keys in whichever order the grammar wants them."""
    budget[0] -= 1
    node = _flatten(schema, root) if budget[0] >= 0 else None
    if not isinstance(node, dict):
        node = {}
    if budget[0] < 0:
        return None
    if isinstance(value, dict):
        known = list(node.get("properties") or {}) if isinstance(node.get("properties"), dict) else []
        order = sorted(value, key=lambda name: known.index(name) if name in known else len(known))
        return _feed_members(matcher, value, order, node, root, budget) if _eat(matcher, "{") else None
    if isinstance(value, list):
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        if not _eat(matcher, "["):
            return None
        for index, item in enumerate(value):
            fed = _feed(matcher, item, items, root, budget) if not index or _eat(matcher, ",") else None
            if fed is None:
                return None
            matcher = fed
        return matcher if _eat(matcher, "]") else None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return matcher if _eat(matcher, json.dumps(value, ensure_ascii=False)) else None


def _feed_members(
    matcher: llguidance.LLMatcher,
    value: dict[str, Any],
    rest: list[str],
    node: dict[str, Any],
    root: dict[str, Any],
    budget: list[int],
) -> llguidance.LLMatcher | None:
    """Depth-first over key orders (llguidance fixes one), the schema's order first."""
    if not rest:
        return matcher if _eat(matcher, "}") else None
    properties: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
    extra = node.get("additionalProperties")
    for name in rest:
        probe: llguidance.LLMatcher | None = matcher.deep_copy()
        if probe is None or not _eat(probe, json.dumps(name, ensure_ascii=False) + ":"):
            continue
        schema = properties.get(name, extra if isinstance(extra, dict) else {})
        probe = _feed(probe, value[name], schema, root, budget)
        others = [other for other in rest if other != name]
        if probe is None or (others and not _eat(probe, ",")):
            continue
        done = _feed_members(probe, value, others, node, root, budget)
        if done is not None:
            return done
    return None


def _grammar_accepts(grammar: str, value: Any, schema: Any = None) -> bool:
    root = schema if isinstance(schema, dict) else {}
    matcher = _feed(llguidance.LLMatcher(TOKENIZER, grammar, log_level=0), value, root, root, [5_000])
    return matcher is not None and matcher.is_accepting()


def _accepts(model: type[BaseModel], value: Any) -> bool:
    try:
        model.model_validate(value)
    except pydantic.ValidationError:
        return False
    return True


@functools.cache
def _verdicts(name: str, lenient: bool) -> list[tuple[str, Any, bool, bool, bool, bool]]:
    """(origin, instance, jsonschema, model, model without the schema check, grammar) per instance."""
    schema = _schema(name)
    model = model_from_schema(schema, "Corpus", lenient=lenient)
    generated = model.__bases__[-1]  # the class datamodel-code-generator wrote
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    options: Any = {
        "whitespace_flexible": False,
        **({"lenient": True, "coerce_one_of": True} if lenient else {}),
    }
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults=options)
    files = DATA / "instances" / f"{name}.json"
    given = json.loads(files.read_text(encoding="utf-8")) if files.is_file() else {"valid": [], "invalid": []}
    seeds = [("file", value) for value in given["valid"] + given["invalid"]]
    seeds += [
        ("generated", value) for value in (_sample(schema, schema, False), _sample(schema, schema, True))
    ]
    seeds = [(origin, value) for origin, value in seeds if value is not _NONE]
    cases = seeds + [("mutant", mutant) for origin, value in seeds for mutant in _mutants(value)]
    rows = []
    for origin, value in cases:
        valid = validator.is_valid(value)
        grammar_ok = _grammar_accepts(grammar, value, schema) if valid else False
        rows.append((origin, value, valid, _accepts(model, value), _accepts(generated, value), grammar_ok))
    return rows


AGREEMENT_CASES = [
    pytest.param(name, lenient, id=f"{name}-{'lenient' if lenient else 'strict'}")
    for lenient in (False, True)
    for name in CORPUS
    if name not in _expected(lenient)
]


@pytest.mark.parametrize(("name", "lenient"), AGREEMENT_CASES)
def test_model_and_grammar_agree_with_jsonschema(name: str, lenient: bool) -> None:
    """Sound (the model accepts only valid values), complete on what the grammar lets a model
    write, lossless (an accepted value dumps back unchanged), and the grammar accepts every valid
    given or generated instance."""
    rows = _verdicts(name, lenient)
    assert any(valid for origin, _, valid, *_ in rows if origin != "mutant"), f"{name}: no valid instance"
    model = model_from_schema(_schema(name), "Corpus", lenient=lenient)
    for origin, value, valid, model_ok, _, grammar_ok in rows:
        shown = f"{name} ({origin}) {json.dumps(value)[:200]}"
        assert valid or not model_ok, f"the model accepts invalid {shown}"
        assert model_ok or not (valid and grammar_ok), f"the model rejects valid, writable {shown}"
        assert grammar_ok or not valid or origin == "mutant", f"the grammar rejects valid {shown}"
        if model_ok:  # and nothing is lost or changed on the way through the model
            dumped = model.model_validate(value).model_dump(mode="json", by_alias=True, exclude_unset=True)
            assert json.dumps(dumped, sort_keys=True) == json.dumps(value, sort_keys=True), shown
    given = DATA / "instances" / f"{name}.json"
    if given.is_file():
        expected = json.loads(given.read_text(encoding="utf-8"))
        verdicts = [valid for origin, _, valid, *_ in rows if origin == "file"]
        assert verdicts == [True] * len(expected["valid"]) + [False] * len(expected["invalid"])


def test_agreement_rates() -> None:
    """The figures: the model with and without its original-schema check, against jsonschema."""
    rows = [row for case in AGREEMENT_CASES for row in _verdicts(*case.values)]
    total = len(rows)
    combined = sum(valid == model_ok for _, _, valid, model_ok, _, _ in rows)
    alone = sum(valid == generated_ok for _, _, valid, _, generated_ok, _ in rows)
    valid_rows = [row for row in rows if row[2]]
    grammar = sum(row[5] for row in valid_rows)
    print(
        f"\n{total} instances over {len(AGREEMENT_CASES)} schema/mode pairs: model+schema check agrees "
        f"with jsonschema on {combined}/{total}, Pydantic alone on {alone}/{total}; "
        f"the grammar accepts {grammar}/{len(valid_rows)} valid instances"
    )
    assert combined >= 0.99 * total
    assert len(valid_rows) >= 2 * len(AGREEMENT_CASES)


# ---------------------------------------------------------------------------------------------
# The model's contract


WEATHER: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "unit": {"enum": ["c", "f"]},
        "days": {"type": "array", "items": {"$ref": "#/$defs/day"}, "maxItems": 3},
    },
    "required": ["city"],
    "additionalProperties": False,
    "$defs": {
        "day": {
            "type": "object",
            "properties": {"date": {"type": "string", "format": "date"}, "high": {"type": "number"}},
            "required": ["date"],
        }
    },
}


def test_same_schema_returns_the_same_class() -> None:
    first = model_from_schema(WEATHER, "Weather")
    assert model_from_schema(json.loads(json.dumps(WEATHER)), "Weather") is first
    assert model_from_schema(WEATHER, "Forecast") is not first
    assert model_from_schema(WEATHER, "Weather", lenient=True) is not first
    assert first.__name__ == "Weather"
    assert first.__module__ in sys.modules


def test_model_keeps_fields_constraints_and_the_original_schema() -> None:
    weather = model_from_schema(WEATHER, "Weather")
    assert list(weather.model_fields) == ["city", "unit", "days"]
    assert weather.model_config.get("extra") == "forbid"
    assert weather.model_json_schema() == WEATHER
    assert weather.__lift_json_schema__ == WEATHER  # type: ignore[attr-defined]
    value = weather.model_validate({"city": "Oslo", "days": [{"date": "2024-05-06", "high": 21.5}]})
    assert value.model_dump(mode="json", exclude_none=True) == {
        "city": "Oslo",
        "days": [{"date": "2024-05-06", "high": 21.5}],
    }
    for bad in ({"city": ""}, {"city": "Oslo", "wind": 3}, {"city": "Oslo", "days": [{}] * 4}):
        with pytest.raises(pydantic.ValidationError):
            weather.model_validate(bad)


def test_embedded_model_contributes_the_inlined_original_schema() -> None:
    weather = model_from_schema(WEATHER, "Weather")
    inlined = TypeAdapter(weather).json_schema()
    assert "$ref" not in json.dumps(inlined)
    assert "$defs" not in inlined
    assert inlined["properties"]["days"]["items"] == WEATHER["$defs"]["day"]

    class Report(BaseModel):
        weather: weather  # type: ignore[valid-type]

    schema = Report.model_json_schema()
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema))
    assert llguidance.LLMatcher.validate_grammar(grammar, TOKENIZER) == ""
    assert _grammar_accepts(grammar, {"weather": {"city": "Oslo", "days": [{"date": "2024-05-06"}]}})
    assert not _grammar_accepts(grammar, {"weather": {"city": ""}})


def test_recursive_schema_embeds_pydantics_schema() -> None:
    tree = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
        "required": ["name"],
    }
    node = model_from_schema(tree, "Node")
    assert node.model_json_schema() == tree
    assert "$ref" in json.dumps(TypeAdapter(node).json_schema())
    parsed = node.model_validate({"name": "a", "children": [{"name": "b", "children": []}]})
    assert parsed.children[0].name == "b"  # type: ignore[attr-defined]
    with pytest.raises(pydantic.ValidationError):
        node.model_validate({"name": "a", "children": [{"children": []}]})


def test_model_is_as_loose_as_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "count": {"type": "number"},
            "owner": {"properties": {"login": {"type": "string"}}, "required": ["login"]},
        },
    }
    model = model_from_schema(schema, "Loose")
    for value in ({"count": 1}, {"count": 1.5}, {"owner": "octo"}, {"owner": {"login": "o"}}, {"extra": [1]}):
        dumped = model.model_validate(value).model_dump(mode="json", by_alias=True, exclude_unset=True)
        assert json.dumps(dumped) == json.dumps(value)  # 1 stays an int; no key is dropped
    assert not _accepts(model, {"owner": {}})
    assert model.model_validate({"owner": {"login": "o"}}).owner.login == "o"  # type: ignore[attr-defined]


def test_validation_checks_keywords_pydantic_cannot_express() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "code": {"type": "string", "not": {"const": "forbidden"}},
        },
    }
    with pytest.raises(UnsupportedSchemaError) as raised:
        model_from_schema(schema, "Tagged")
    assert (raised.value.keyword, raised.value.field) == ("uniqueItems", "tags")
    assert "lenient=True" in str(raised.value)
    tagged = model_from_schema(schema, "Tagged", lenient=True)
    assert _accepts(tagged, {"tags": ["a", "b"], "code": "ok"})
    assert not _accepts(tagged, {"tags": ["a", "a"]})
    assert not _accepts(tagged, {"code": "forbidden"})
    with pytest.raises(ConstraintViolationError) as violation:
        validate_against_schema(tagged, {"tags": ["a", "a"]})
    assert violation.value.field == "tags"
    validate_against_schema(tagged, tagged(tags=["x"]))  # model instances are checked as dumped


@pytest.mark.parametrize(
    ("schema", "keyword", "field"),
    [
        (
            {"properties": {"a": {"properties": {"b": {"type": "string", "pattern": "(?!x)y"}}}}},
            "pattern",
            "a.b",
        ),
        ({"properties": {"a": {"items": {"format": "color"}}}}, "format", "a[]"),
        ({"properties": {"a": {"$ref": "https://example.com/s.json"}}}, "$ref", "a"),
        ({"properties": {"a": {"$ref": "#/$defs/d"}}, "$defs": {"d": {"if": {}, "then": {}}}}, "if", "a"),
        ({"properties": {"a": {"type": "strin"}}}, "type", "a"),
    ],
)
def test_unsupported_constructs_name_keyword_and_field(
    schema: dict[str, Any], keyword: str, field: str
) -> None:
    with pytest.raises(UnsupportedSchemaError) as raised:
        model_from_schema(schema, "Bad")
    assert (raised.value.keyword, raised.value.field) == (keyword, field)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="dict"):
        model_from_schema([{"type": "string"}], "Model")  # type: ignore[arg-type]
    for name in ("class", "1abc", "a-b"):
        assert not name.isidentifier() or keyword.iskeyword(name)
        with pytest.raises(ValueError, match="identifier"):
            model_from_schema({"type": "string"}, name)
    with pytest.raises(TypeError, match="model_from_schema"):
        validate_against_schema(BaseModel, {})


def test_missing_codegen_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datamodel_code_generator", None)
    with pytest.raises(ImportError, match=r"lift-dspy\[codegen\]"):
        model_from_schema({"type": "object", "properties": {"uncached": {"type": "integer"}}}, "Fresh")


def test_regenerate_models_is_deterministic_and_detects_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas, models = tmp_path / "json", tmp_path / "models"
    schemas.mkdir()
    for name in ("glaive-create-todo", "mcp-github-create-pull-request"):
        (schemas / f"{name}.json").write_text((DATA / f"{name}.json").read_text(encoding="utf-8"))
    written = regenerate_models(schemas, models)
    assert sorted(path.name for path in written) == [
        "glaive_create_todo.py",
        "mcp_github_create_pull_request.py",
    ]
    assert regenerate_models(schemas, models, check=True) == []
    first = {path.name: path.read_text(encoding="utf-8") for path in written}
    assert all(code.startswith("# generated by lift-dspy") for code in first.values())
    spec = importlib.util.spec_from_file_location("generated_todo", models / "glaive_create_todo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "generated_todo", module)
    spec.loader.exec_module(module)
    assert module.GlaiveCreateTodo.model_validate({"title": "t", "due_date": "2024-06-01", "priority": "Low"})

    (models / "glaive_create_todo.py").write_text("# edited\n", encoding="utf-8")
    (schemas / "mcp-github-create-pull-request.json").unlink()
    drift = regenerate_models(schemas, models, check=True)
    assert sorted(path.name for path in drift) == [
        "glaive_create_todo.py",
        "mcp_github_create_pull_request.py",
    ]
    assert (models / "glaive_create_todo.py").read_text(encoding="utf-8") == "# edited\n"
    regenerate_models(schemas, models)
    assert sorted(path.name for path in models.iterdir()) == ["glaive_create_todo.py"]
    assert (models / "glaive_create_todo.py").read_text(encoding="utf-8") == first["glaive_create_todo.py"]


class PanicException(BaseException):
    """Stands in for pyo3's ``pyo3_runtime.PanicException`` (a ``BaseException``)."""


def test_recursion_panic_inside_jsonschema_becomes_a_typed_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """rpds (Rust, under jsonschema) panics when the recursion limit hits inside it: the model's
    validation still answers with a validation error, never the panic."""
    model = model_from_schema({"type": "object", "properties": {"a": {"type": "integer"}}}, "PanicCase")
    validator = model.__lift_validator__  # type: ignore[attr-defined]

    def panics(_self: Any, _data: Any) -> Any:
        raise PanicException("__eq__ failed!: PyErr { value: <unprintable RecursionError object> }")

    monkeypatch.setattr(type(validator), "iter_errors", panics)
    with pytest.raises(pydantic.ValidationError, match="RecursionError"):
        model.model_validate({"a": 1})

    def other_panic(_self: Any, _data: Any) -> Any:
        raise PanicException("index out of bounds")

    monkeypatch.setattr(type(validator), "iter_errors", other_panic)
    with pytest.raises(PanicException):  # a panic that is not the recursion limit is not hidden
        model.model_validate({"a": 1})
