"""Grammar-typed text fields: lift_dspy.Grammar, lift_dspy.Regex and dspy.Code[lang] outputs.

The chat grammar and JSON schema produced, answers accepted and rejected (llguidance, byte
tokenizer), the output model's validation, the payload through FakeVLLM, DSPy's own parse of a
dspy.Code answer, and the typed errors. ``dspy.Code["go"]`` runs against a tiny stand-in grammar
here (the real language grammars have their own tests); one test checks the real ones embed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import dspy
import pydantic
import pytest
from answers import render_answer
from fakes import FakeVLLM

import lift_dspy
from lift_dspy.constraints import compile_constraint, fields
from lift_dspy.constraints.chat import SAFE_TEXT_REGEX
from lift_dspy.constraints.fields import chat_field_grammar, grammar_problem

SUM = 'start: NUM ("+" NUM)*\nNUM: /[0-9]+/\n'
VERSION = r"[0-9]+\.[0-9]+\.[0-9]+"
GO_STANDIN = 'start: "func " NAME "() int {\\n\\treturn " NUM "\\n}"\nNAME: /[a-z]+/\nNUM: /[0-9]+/\n'
GO_SOURCE = "func answer() int {\n\treturn 42\n}"
GoCode = dspy.Code["go"]
PythonCode = dspy.Code["python"]


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> None:
    """dspy.Code["go"] held to GO_STANDIN (signatures are defined after this, so no cache is stale)."""
    monkeypatch.setattr(fields, "_code_grammar", lambda language: GO_STANDIN if language == "go" else None)


def _signature() -> type[dspy.Signature]:
    class Release(dspy.Signature):
        """Describe a release."""

        notes: str = dspy.InputField()
        version: Annotated[str, lift_dspy.Regex(VERSION)] = dspy.OutputField()
        total: Annotated[str, lift_dspy.Grammar(SUM)] = dspy.OutputField()
        code: GoCode = dspy.OutputField()
        summary: str = dspy.OutputField()

    return Release


def _answer(version: str = "1.2.3", total: str = "1+2", code: str = GO_SOURCE, summary: str = "ok") -> str:
    return (
        f"[[ ## version ## ]]\n{version}\n\n[[ ## total ## ]]\n{total}\n\n[[ ## code ## ]]\n{code}"
        f"\n\n[[ ## summary ## ]]\n{summary}\n\n[[ ## completed ## ]]"
    )


# -- what is sent ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("standin")
def test_chat_grammar_embeds_each_grammar_raw_and_forces_the_next_header() -> None:
    lark = lift_dspy.constraint_for(_signature())["grammar"]
    expected = (
        'start: "[[ ## version ## ]]\\n" v0 v1 "\\n\\n[[ ## code ## ]]\\n" v2 '
        '"\\n\\n[[ ## summary ## ]]\\n" v3 "\\n"?\n'
        "TEXT_0: /(?:(?:[0-9]+\\.[0-9]+\\.[0-9]+))/ & /(?:\\S(?s:.*)\\S|\\S)?/ & SAFE_TEXT\n"
        'v0[suffix="\\n\\n[[ ## total ## ]]\\n"]: TEXT_0\n'
        f"v1: %lark {{\n{SUM.strip()}\n}}\n"
        f"v2: %lark {{\n{GO_STANDIN.strip()}\n}}\n"
        'v3[suffix="\\n\\n[[ ## completed ## ]]"]: SAFE_TEXT\n'
        f"SAFE_TEXT: /{SAFE_TEXT_REGEX}/\n"
    )
    assert lark == expected


@pytest.mark.usefixtures("standin")
def test_json_layout_regex_is_an_anchored_pattern() -> None:
    class Tagged(dspy.Signature):
        notes: str = dspy.InputField()
        version: Annotated[str, lift_dspy.Regex("^" + VERSION + "$")] = dspy.OutputField()
        other: PythonCode = dspy.OutputField()

    schema = lift_dspy.constraint_for(Tagged, dspy.JSONAdapter())["json"]
    assert schema["properties"]["version"] == {
        "pattern": f"^(?:{VERSION})$",
        "title": "Version",
        "type": "string",
    }
    # Other languages keep DSPy's own JSON form of a Code value.
    assert schema["$defs"]["Code_python"]["properties"]["code"]["type"] == "string"


@pytest.mark.usefixtures("standin")
@pytest.mark.parametrize("field", ["total", "code"])
def test_json_layout_refuses_a_lark_grammar_naming_the_field(field: str) -> None:
    class One(dspy.Signature):
        notes: str = dspy.InputField()
        total: Annotated[str, lift_dspy.Grammar(SUM)] = dspy.OutputField()
        code: GoCode = dspy.OutputField()

    signature = One.delete("code" if field == "total" else "total")
    with pytest.raises(lift_dspy.UnsupportedSchemaError, match="chat layout") as info:
        lift_dspy.constraint_for(signature, dspy.JSONAdapter())
    assert info.value.field == field
    assert info.value.keyword == "grammar"


@pytest.mark.usefixtures("standin")
def test_payload_through_fake_vllm_and_typed_values_back() -> None:
    signature = _signature()
    fake = FakeVLLM([_answer()])
    dspy.configure(lm=fake.lm())
    prediction = dspy.Predict(signature)(notes="bug fixes")
    (payload,) = fake.payloads
    assert payload["structured_outputs"] == lift_dspy.constraint_for(signature)
    assert prediction.version == "1.2.3"
    assert prediction.total == "1+2"
    assert isinstance(prediction.code, dspy.Code)
    assert prediction.code.code == GO_SOURCE
    assert prediction.summary == "ok"


@pytest.mark.usefixtures("standin")
def test_an_answer_outside_the_grammar_is_a_typed_violation() -> None:
    fake = FakeVLLM([_answer(code="func answer() int {\n\treturn x\n}")])
    dspy.configure(lm=fake.lm())
    with pytest.raises(lift_dspy.ConstraintViolationError) as info:
        dspy.Predict(_signature())(notes="bug fixes")
    assert info.value.field == "code"


# -- answers: accepted and rejected ---------------------------------------------------------------


@pytest.mark.usefixtures("standin")
@pytest.mark.parametrize(
    "answer",
    [
        _answer(),
        _answer(version="10.0.12", total="7", summary="multi\nline [[ #x"),
        _answer(total="1+22+333") + "\n",
    ],
)
def test_accepted_and_validated(answer: str) -> None:
    constraint = compile_constraint(_signature(), "chat")
    assert constraint.matcher.mismatch(answer) is None
    values = constraint.validate(answer)
    assert values["code"] == GO_SOURCE  # model_dump: DSPy's serializer writes the source


@pytest.mark.usefixtures("standin")
@pytest.mark.parametrize(
    ("answer", "field"),
    [
        (_answer(version="1.2"), "version"),
        (_answer(version=" 1.2.3x"), "version"),
        (_answer(total="1+"), "total"),
        (_answer(total="1 + 2"), "total"),
        (_answer(total='"1+2"'), "total"),  # raw, never JSON-quoted
        (_answer(code="```go\n" + GO_SOURCE + "\n```"), "code"),
        (_answer(code=GO_SOURCE + "\nfunc more() int {\n\treturn 1\n}"), "code"),
        (_answer(summary="a [[ ## completed ## ]]"), "summary"),
    ],
)
def test_rejected_by_the_grammar_sent(answer: str, field: str) -> None:
    constraint = compile_constraint(_signature(), "chat")
    assert constraint.matcher.mismatch(answer) is not None
    with pytest.raises(lift_dspy.ConstraintViolationError) as info:
        constraint.validate(answer)
    assert info.value.field == field


@pytest.mark.usefixtures("standin")
def test_rendered_answers_are_sentences_and_dspy_parses_the_code_back() -> None:
    signature = _signature()
    constraint = compile_constraint(signature, "chat")
    code_type = signature.output_fields["code"].annotation  # dspy.Code["go"] makes a new class per call
    values = {"version": "2.0.0", "total": "4+5", "code": code_type(code=GO_SOURCE), "summary": "s"}
    text = render_answer(constraint, values)
    assert text == _answer(version="2.0.0", total="4+5", summary="s")
    assert constraint.matcher.mismatch(text) is None
    parsed = dspy.ChatAdapter().parse(signature, text)
    assert isinstance(parsed["code"], dspy.Code)
    assert parsed["code"].code == GO_SOURCE
    assert parsed["total"] == "4+5"


# -- the output model validates with the same grammar ---------------------------------------------


@pytest.mark.usefixtures("standin")
@pytest.mark.parametrize(
    ("values", "ok"),
    [
        ({"total": "3+4"}, True),
        ({"total": "3+"}, False),
        ({"version": "1.2.3"}, True),
        ({"version": "1.2.3\n"}, False),
        ({"version": "v1.2.3"}, False),
        ({"code": GO_SOURCE}, True),
        ({"code": "func f() int {\n\treturn 1\n}"}, True),
        ({"code": "func f() int { return 1 }"}, False),
        ({"code": '"func f"'}, False),  # DSPy's parser would read a quoted text back differently
    ],
)
def test_output_model_validates_with_the_same_grammar(values: dict[str, Any], ok: bool) -> None:
    model = lift_dspy.output_model(_signature())
    full = {"version": "1.0.0", "total": "1", "code": GO_SOURCE, "summary": "s", **values}
    if ok:
        model.model_validate(full)
    else:
        with pytest.raises(pydantic.ValidationError):
            model.model_validate(full)


def test_other_code_languages_are_raw_free_text() -> None:
    class Script(dspy.Signature):
        task: str = dspy.InputField()
        script: PythonCode = dspy.OutputField()

    constraint = compile_constraint(Script, "chat")
    source = "def f(x):\n    return {'a': [x]}"
    text = f"[[ ## script ## ]]\n{source}\n\n[[ ## completed ## ]]"
    assert constraint.matcher.mismatch(text) is None
    assert constraint.validate(text)["script"] == source
    assert dspy.ChatAdapter().parse(Script, text)["script"].code == source


# -- typed errors ---------------------------------------------------------------------------------


def _with(annotation: Any) -> type[dspy.Signature]:
    fields_ = {"question": (str, dspy.InputField()), "answer": (annotation, dspy.OutputField())}
    return dspy.Signature(fields_, "Answer.")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("annotation", "match"),
    [
        (Annotated[str, lift_dspy.Grammar('start: "[[ ## x ## ]]"')], "header"),
        (Annotated[str, lift_dspy.Grammar("start: /(?s:.*)/")], "header"),
        (Annotated[str, lift_dspy.Grammar('start: ("[" | " " | "#")+')], "across lexemes"),
        (Annotated[str, lift_dspy.Grammar("start: missing_rule")], "cannot compile"),
        (Annotated[str, lift_dspy.Grammar("start: <|im_end|>")], "special tokens"),
        (Annotated[str, lift_dspy.Grammar(SUM), lift_dspy.Regex("[0-9]+")], "not both"),
        (Annotated[str, lift_dspy.Grammar(SUM), lift_dspy.Grammar(SUM)], "one lift_dspy.Grammar"),
        (Annotated[str, lift_dspy.Regex(r"\s+")], "no text matches"),
        (Annotated[str, lift_dspy.Regex(r"\[\[ ##.*")], "no text matches"),
        (Annotated[str, lift_dspy.Regex("[unclosed")], "cannot compile"),
        (Annotated[int, lift_dspy.Grammar(SUM)], "applies to str"),
        (Annotated[int, lift_dspy.Regex("[0-9]+")], "applies to str"),
    ],
)
def test_chat_layout_refuses_with_the_field_named(annotation: Any, match: str) -> None:
    with pytest.raises(lift_dspy.UnsupportedSchemaError, match=match) as info:
        lift_dspy.constraint_for(_with(annotation))
    assert info.value.field == "answer"


def test_an_empty_grammar_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        lift_dspy.Grammar("")


def test_xml_layout_refuses_a_grammar_field() -> None:
    with pytest.raises(lift_dspy.UnsupportedSchemaError, match="chat layout") as info:
        lift_dspy.constraint_for(_with(Annotated[str, lift_dspy.Grammar(SUM)]), dspy.XMLAdapter())
    assert info.value.field == "answer"


# -- the header check ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lark",
    [
        SUM,
        'start: "SELECT " COLS " FROM " NAME\nCOLS: NAME (", " NAME)*\nNAME: /[a-z_]+/',
        'start: "[" ("[" | " " | "x" | "]")* "]"',  # nested brackets, never "##"
        'start: "[" "#"',
        "start: T\nT: /(?s:.*)/",  # a terminal is narrowed, not refused
        "start: NUM+\nNUM: /[0-9]+/\n%ignore /[ \\t\\n]+|\\/\\/[^\\n]*/",
        'start: "x" b\nb: %lark {\nstart: T\nT: /[a-z]+/\n}',
        'start: "x" b\nb: %lark {\nstart: T\nT: /[a-z\\[ #]+/\n}',  # narrowed: no "[[ #" end either
    ],
)
def test_safe_grammars(lark: str) -> None:
    assert grammar_problem(lark) is None


@pytest.mark.parametrize(
    "lark",
    [
        'start: "[[ " "##"',
        'start: "a" "[[ ##"',
        "start: /a[[ ##b/",
        'start: %json {"type": "string"}',
    ],
)
def test_unsafe_grammars(lark: str) -> None:
    assert grammar_problem(lark) is not None


def test_narrowed_terminals_cannot_write_a_header() -> None:
    narrowed, problem = chat_field_grammar("start: T\nT: /(?s:.*)/\n%ignore /#[^\\n]*/")
    assert problem is None
    assert narrowed is not None
    matcher = fields._matcher(narrowed)
    assert matcher.mismatch("anything [[ # at all") is None
    assert matcher.mismatch("a [[ ## b") is not None
    assert matcher.mismatch("ends inside [[ #") is not None


@pytest.mark.parametrize(
    "language",
    [
        "go",
        "java",
        "typescript",
        "rust",
    ],
)
def test_the_real_code_grammars_embed_in_the_chat_layout(language: str) -> None:
    from lift_dspy.constraints.code import code_grammar

    assert grammar_problem(code_grammar(language)) is None


def test_regex_and_grammar_are_exported_and_hashable() -> None:
    assert {"Grammar", "Regex"} <= set(lift_dspy.__all__)
    assert hash(lift_dspy.Grammar(SUM)) == hash(lift_dspy.Grammar(SUM))
    assert lift_dspy.Regex("^a$").anchored == "^(?:a)$"
    assert json.dumps(lift_dspy.Regex("a").anchored) == '"^(?:a)$"'
