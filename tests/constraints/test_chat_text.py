"""Free text in the chat layout: never a field header, checked by llguidance on the byte tokenizer."""

from __future__ import annotations

import json
import re

import dspy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lift_dspy
from lift_dspy.constraints import compile_constraint
from lift_dspy.constraints.chat import SAFE_TEXT_REGEX

SAFE = re.compile(SAFE_TEXT_REGEX, re.DOTALL)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="[ #a\n]", max_size=14))
def test_safe_text_regex_is_exactly_text_without_a_header_opener(text: str) -> None:
    assert bool(SAFE.fullmatch(text)) == ("[[ ##" not in text)


ESSAY = dspy.Signature("topic -> essay, verdict: Literal['good', 'bad']")


@pytest.mark.parametrize(
    "text",
    [
        "[[ ## essay ## ]]\nplain text\n\n[[ ## verdict ## ]]\ngood\n\n[[ ## completed ## ]]",
        "[[ ## essay ## ]]\nnested [[1, 2], [3]] and a[[0]] and [[ #x"
        "\n\n[[ ## verdict ## ]]\nbad\n\n[[ ## completed ## ]]",
        "[[ ## essay ## ]]\nends with a bracket [\n\n[[ ## verdict ## ]]\nbad\n\n[[ ## completed ## ]]\n",
    ],
)
def test_accepted(text: str) -> None:
    assert compile_constraint(ESSAY, "chat").matcher.mismatch(text) is None


@pytest.mark.parametrize(
    "text",
    [
        # injection: a header inside free text
        "[[ ## essay ## ]]\nx\n[[ ## verdict ## ]]\ngood"
        "\n\n[[ ## verdict ## ]]\ngood\n\n[[ ## completed ## ]]",
        "[[ ## essay ## ]]\nx [[ ## completed ## ]]\n\n[[ ## verdict ## ]]\ngood\n\n[[ ## completed ## ]]",
        # choice outside the Literal, or quoted
        "[[ ## essay ## ]]\nx\n\n[[ ## verdict ## ]]\nfine\n\n[[ ## completed ## ]]",
        '[[ ## essay ## ]]\nx\n\n[[ ## verdict ## ]]\n"good"\n\n[[ ## completed ## ]]',
        # missing the end marker, text after it
        "[[ ## essay ## ]]\nx\n\n[[ ## verdict ## ]]\ngood",
        "[[ ## essay ## ]]\nx\n\n[[ ## verdict ## ]]\ngood\n\n[[ ## completed ## ]]\nmore",
    ],
)
def test_rejected(text: str) -> None:
    assert compile_constraint(ESSAY, "chat").matcher.mismatch(text) is not None


def test_unfinished_answer_says_the_server_stopped_early() -> None:
    constraint = compile_constraint(ESSAY, "chat")
    with pytest.raises(lift_dspy.ConstraintViolationError, match="stopped the generation early"):
        constraint.validate("[[ ## essay ## ]]\nhalf an ess")


@pytest.mark.parametrize(
    ("signature", "good", "bad"),
    [
        (
            "q -> n: int",
            "[[ ## n ## ]]\n-12\n\n[[ ## completed ## ]]",
            "[[ ## n ## ]]\n1.5\n\n[[ ## completed ## ]]",
        ),
        (
            "q -> xs: list[int]",
            "[[ ## xs ## ]]\n[1, 2, 3]\n\n[[ ## completed ## ]]",
            "[[ ## xs ## ]]\n[1,2]\n\n[[ ## completed ## ]]",
        ),
        (
            "q -> m: dict[str, bool]",
            '[[ ## m ## ]]\n{"a": true}\n\n[[ ## completed ## ]]',
            '[[ ## m ## ]]\n{"a": 1}\n\n[[ ## completed ## ]]',
        ),
        (
            "q -> ok: bool",
            "[[ ## ok ## ]]\nfalse\n\n[[ ## completed ## ]]",
            "[[ ## ok ## ]]\nFALSE\n\n[[ ## completed ## ]]",
        ),
    ],
)
def test_typed_fields_are_json_in_dspy_separators(signature: str, good: str, bad: str) -> None:
    constraint = compile_constraint(dspy.Signature(signature), "chat")
    assert constraint.matcher.mismatch(good) is None
    assert constraint.matcher.mismatch(bad) is not None


@pytest.mark.parametrize(
    ("signature", "spelled", "value"),
    [
        ("q -> ok: bool", "True", True),
        ("q -> ok: bool", "false", False),
        ("q -> ok: int | None", "None", None),
        ("q -> ok: int | None", "null", None),
        ("q -> ok: datetime.date", "2025-03-03", "2025-03-03"),
        ("q -> ok: datetime.date", '"2025-03-03"', "2025-03-03"),
        (
            "q -> ok: uuid.UUID",
            "00000000-0000-0000-0000-000000000005",
            "00000000-0000-0000-0000-000000000005",
        ),
    ],
)
def test_top_level_scalars_also_take_dspys_own_spelling(signature: str, spelled: str, value: object) -> None:
    """DSPy writes demo values with str() (True, None, unquoted dates): demos must be sentences too."""
    import datetime
    import uuid

    sig = dspy.Signature(signature, custom_types={"datetime": datetime, "uuid": uuid})
    constraint = compile_constraint(sig, "chat")
    text = f"[[ ## ok ## ]]\n{spelled}\n\n[[ ## completed ## ]]"
    assert constraint.matcher.mismatch(text) is None
    assert str(constraint.validate(text)["ok"]) == str(value)
    assert constraint.matcher.mismatch(text.replace(spelled, "Maybe")) is not None


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029"])
def test_unicode_line_separators_validate_in_text_and_never_enter_json_strings(separator: str) -> None:
    """U+0085/U+2028/U+2029 are line breaks to str.splitlines(), which DSPy's ChatAdapter uses.

    Found by the optimizer e2e tests (tiny model): free text keeps them and validates (our parser
    splits on "\n" only); inside a JSON value DSPy would silently turn them into "\n", so the chat
    grammar does not let a JSON string hold them (raw or escaped).
    """
    constraint = compile_constraint(dspy.Signature("q -> notes, tags: list[str]"), "chat")
    text = f'[[ ## notes ## ]]\na{separator}b\n\n[[ ## tags ## ]]\n["xy"]\n\n[[ ## completed ## ]]'
    assert constraint.matcher.mismatch(text) is None
    assert constraint.validate(text) == {"notes": f"a{separator}b", "tags": ["xy"]}
    for spelled in (separator, json.dumps(separator)[1:-1]):
        inside = text.replace('["xy"]', f'["x{spelled}y"]')
        assert constraint.matcher.mismatch(inside) is not None
