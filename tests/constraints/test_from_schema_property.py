"""``model_from_schema`` on ANY JSON Schema (issue 12, item 7).

* never an untyped exception: hypothesis over generated schemas (booleans, ``$ref`` cycles and
  dangling refs, wrong-typed and unknown keywords, non-string formats, huge enums) and a corpus:
  the JSON-Schema-Test-Suite (draft 2020-12, MIT, ``tests/data/schemas/json-schema-test-suite``),
  the real-world schemas of ``tests/data/schemas`` and JSON Schemas shipped in installed packages;
* where raw llguidance compiles a schema (and jsonschema can check it), lift-dspy's constraint
  compiles too, in both layouts. The one exception: a ``$ref`` cycle that never reaches a value
  (``{"$ref": "#"}``), which no validator can check, and ``minProperties`` over 36+ optional
  properties, which llguidance compiles and then fails on mid-answer: both typed errors;
* instance verdicts (the model's validation) agree with a JSON Schema validator that asserts the
  formats as the constraint does (jsonschema's own checkers, and llguidance's for the formats
  jsonschema cannot check without extra packages) on >= 99% of the test suite's instances.

Figures: ``pytest tests/constraints/test_from_schema_property.py -s -p no:cacheprovider``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import dspy
import jsonschema
import llguidance
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from schema_strategy import json_schemas, object_schemas
from test_from_schema import _grammar_accepts

from lift_dspy.constraints import compile_constraint
from lift_dspy.constraints.from_schema import _recursion_as_error, model_from_schema
from lift_dspy.constraints.schema import _each_subschema, _tighten_format, format_schema
from lift_dspy.errors import LiftDSPyError, UnsupportedSchemaError

DATA = Path(__file__).resolve().parents[1] / "data" / "schemas"
SUITE = DATA / "json-schema-test-suite"
TOKENIZER = llguidance.LLTokenizer("byte")
# JSON Schemas that installed packages ship (loaded from the venv at test time, not copied).
VENV_GLOBS = (
    "setuptools/config/*.schema.json",
    "black/resources/*.schema.json",
    "datamodel_code_generator/resources/*.schema.json",
    "jsonschema_specifications/schemas/*/metaschema.json",
    "jsonschema/benchmarks/issue232/issue.json",
    "litellm/**/*schema*.json",
    "mistral_common/**/*.json",
)
# The formats the constraint enforces (llguidance's, date/time tightened): checked as it does.
LLGUIDANCE_FORMATS = (
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


@pytest.fixture(autouse=True)
def _quiet_fallback_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="lift_dspy.constraints.from_schema")


def _raw_compiles(schema: Any) -> bool:
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema))
        return llguidance.LLMatcher.validate_grammar(grammar, TOKENIZER) == ""
    except (ValueError, TypeError):
        return False


def _checkable(schema: Any) -> bool:
    """jsonschema accepts the schema (metaschema) and can follow its refs."""
    if isinstance(schema, bool):
        return True
    try:
        with _recursion_as_error():
            default = jsonschema.Draft202012Validator
            validator_class = jsonschema.validators.validator_for(schema, default=default)
            validator_class.check_schema(schema)
            validator_class(schema).is_valid(None)
    except Exception:  # SchemaError, RecursionError (also rpds's panic on it), referencing errors
        return False
    return True


def _lift(schema: Any, name: str = "Prop") -> tuple[type[pydantic.BaseModel] | None, LiftDSPyError | None]:
    """The model and both constraints, or the typed error; anything else fails the test."""
    try:
        model = model_from_schema(schema, name)
        signature = dspy.Signature({"q": (str, dspy.InputField()), "out": (model, dspy.OutputField())})
        for fmt in ("json", "chat"):
            compile_constraint(signature, fmt)
    except LiftDSPyError as exc:
        error = exc
    else:
        for value in (None, 0, "x", {}, {"a": [1]}, [1, "b"]):
            with contextlib.suppress(pydantic.ValidationError):
                model.model_validate(value)
        return model, None
    if isinstance(error, UnsupportedSchemaError):  # says what to do next
        assert "fix" in str(error).lower(), f"no next step in: {error}"
    return None, error


def _cycle(error: LiftDSPyError | None) -> bool:
    """The refusals where raw llguidance compiles: a $ref cycle no validator can check, and
    minProperties over 36+ optional properties (llguidance compiles it, then fails mid-answer)."""
    if not isinstance(error, UnsupportedSchemaError):
        return False
    return (error.keyword == "$ref" and "cycle" in str(error)) or (
        error.keyword == "minProperties" and "fails while generating" in str(error)
    )


def _check_schema(schema: Any) -> None:
    _, error = _lift(schema)
    if error is not None and _raw_compiles(schema) and _checkable(schema):
        assert _cycle(error), f"raw llguidance compiles {json.dumps(schema)[:300]}; lift-dspy: {error}"


# ---------------------------------------------------------------------------------------------
# Property: generated schemas


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(json_schemas())
def test_any_schema_becomes_a_model_or_a_typed_error(schema: Any) -> None:
    _check_schema(schema)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(object_schemas())
def test_any_object_schema_becomes_a_model_or_a_typed_error(schema: Any) -> None:
    _check_schema(schema)


# ---------------------------------------------------------------------------------------------
# Corpus: the JSON-Schema-Test-Suite, tests/data/schemas, schemas shipped in installed packages


def _suite() -> list[tuple[str, Any, list[tuple[Any, bool]]]]:
    groups = []
    for path in sorted(SUITE.rglob("*.json")):
        for index, group in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            cases = [(test["data"], test["valid"]) for test in group["tests"]]
            groups.append((f"{path.relative_to(SUITE)}#{index}", group["schema"], cases))
    return groups


def _venv_schemas() -> list[tuple[str, Any]]:
    found = []
    for root in {Path(path) for path in sys.path if path.endswith("site-packages")}:
        for pattern in VENV_GLOBS:
            for path in sorted(root.glob(pattern)):
                try:
                    schema = json.loads(path.read_text(encoding="utf-8"))
                except (ValueError, UnicodeDecodeError):
                    continue
                if isinstance(schema, dict) and ({"$schema", "properties", "type"} & set(schema)):
                    found.append((str(path.relative_to(root)), schema))
    return found


def _corpus() -> list[tuple[str, Any]]:
    suite = [(name, schema) for name, schema, _ in _suite()]
    local = [
        (path.name, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(DATA.glob("*.json"))
    ]
    return suite + local + _venv_schemas()


def test_corpus_schemas_become_models_or_typed_errors() -> None:
    corpus = _corpus()
    outcomes: Counter[str] = Counter()
    for name, schema in corpus:
        model, error = _lift(schema)
        raw = _raw_compiles(schema)
        outcomes[f"{'model' if model else 'typed error'}, raw llguidance {'ok' if raw else 'refuses'}"] += 1
        if error is not None and raw and _checkable(schema):
            assert _cycle(error), f"{name}: raw llguidance compiles it; lift-dspy: {error}"
    print(
        f"\ncorpus of {len(corpus)} schemas ({len(_venv_schemas())} from installed packages): "
        f"{dict(outcomes)}"
    )
    assert len(corpus) >= 400


# ---------------------------------------------------------------------------------------------
# Agreement with a validator that asserts formats as the constraint does


@functools.cache
def _llguidance_format(fmt: str) -> llguidance.LLMatcher:
    # As the constraint enforces it: llguidance's format, date/time ones tightened by lift-dspy.
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(format_schema(fmt)))
    return llguidance.LLMatcher(TOKENIZER, grammar, log_level=0)


def _format_ok(fmt: str, value: Any) -> bool:
    if not isinstance(value, str):
        return True
    matcher = _llguidance_format(fmt).deep_copy()
    tokens = TOKENIZER.tokenize_bytes(json.dumps(value, ensure_ascii=False).encode())
    return matcher.try_consume_tokens(tokens) == len(tokens) and matcher.is_accepting()


def _reference_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()
    for fmt in LLGUIDANCE_FORMATS:
        checker.checks(fmt)(functools.partial(_format_ok, fmt))
    return checker


def _grammar(schema: Any) -> str | None:
    """The strict llguidance grammar of ``schema`` (formats as the constraint sends them, compact
    JSON, objects left open), or None if it does not compile."""
    tightened = copy.deepcopy(schema)
    _each_subschema(tightened, _tighten_format)  # date/time formats as the constraint sends them
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(tightened), defaults={"whitespace_flexible": False}
        )
    except ValueError:
        return None
    return grammar if llguidance.LLMatcher.validate_grammar(grammar, TOKENIZER) == "" else None


def test_instance_verdicts_agree_with_a_format_asserting_validator() -> None:
    checker = _reference_checker()
    total = agree = schemas = grammar_total = grammar_agree = 0
    disagreements: list[str] = []
    grammar_misses: list[str] = []
    for name, schema, cases in _suite():
        model, _ = _lift(schema, "Suite")
        if model is None:
            continue
        schemas += 1
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator = validator_class(schema, format_checker=checker)
        grammar = _grammar(schema)
        for data, _label in cases:
            expected = validator.is_valid(data)
            if grammar is not None:
                grammar_total += 1
                written = _grammar_accepts(grammar, data, schema)
                grammar_agree += written == expected
                if written != expected:
                    grammar_misses.append(f"{name} {json.dumps(data)[:40]}: validator {expected}")
            try:
                model.model_validate(data)
                accepted = True
            except pydantic.ValidationError:
                accepted = False
            total += 1
            if accepted == expected:
                agree += 1
            else:
                disagreements.append(
                    f"{name} {json.dumps(data)[:60]}: validator {expected}, model {accepted}"
                )
    rate = agree / total
    print(
        f"\nagreement: {agree}/{total} instances = {rate:.2%} over {schemas} test-suite schemas that "
        f"became models; {len(disagreements)} disagreements: {disagreements}"
    )
    print(
        f"grammar (raw schema, compact JSON): agrees with the validator on {grammar_agree}/{grammar_total} "
        f"= {grammar_agree / grammar_total:.2%} of the instances of schemas it compiles; "
        f"misses: {grammar_misses}"
    )
    assert rate >= 0.99
