"""Fail closed: every non-conforming or failed answer is a typed, actionable error."""

from __future__ import annotations

import socket

import dspy
import httpx
import pydantic
import pytest
from dspy.utils.exceptions import ContextWindowExceededError, LMError
from fakes import FakeVLLM
from zoo import Count, Sentiment, TicketCode

import lift_dspy
from lift_dspy.errors import BackendServerError


def test_server_that_ignored_the_constraint_is_caught() -> None:
    fake = FakeVLLM(["The answer is three."])
    dspy.configure(lm=fake.lm())
    with pytest.raises(lift_dspy.ConstraintViolationError) as info:
        dspy.Predict(Count)(text="a b c")
    assert info.value.raw_text == "The answer is three."
    assert "doctor" in str(info.value)


def test_violation_names_the_failing_field() -> None:
    fake = FakeVLLM(["[[ ## sentiment ## ]]\necstatic\n\n[[ ## completed ## ]]"])
    dspy.configure(lm=fake.lm())
    with pytest.raises(lift_dspy.ConstraintViolationError) as info:
        dspy.Predict(Sentiment)(text="wow")
    assert info.value.field == "sentiment"
    assert "positive, negative, neutral" in str(info.value)


def test_pattern_violation_in_json_mode() -> None:
    fake = FakeVLLM(['{"code": "abc-123"}'])
    dspy.configure(lm=fake.lm(), adapter=dspy.JSONAdapter())
    with pytest.raises(lift_dspy.ConstraintViolationError) as info:
        dspy.Predict(TicketCode)(title="x")
    assert info.value.field == "code"


def test_truncation_says_raise_max_tokens() -> None:
    fake = FakeVLLM([("[[ ## count ## ]]\n12", "length")])
    dspy.configure(lm=fake.lm(max_tokens=8))
    with pytest.raises(lift_dspy.TruncatedOutputError) as info:
        dspy.Predict(Count)(text="a")
    assert info.value.max_tokens == 8
    assert "max_tokens" in str(info.value)
    assert isinstance(info.value, lift_dspy.ConstraintViolationError)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_names_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    lm = lift_dspy.GuidanceLM("m", api_base=url, num_retries=0, cache=False)
    dspy.configure(lm=lm)
    with pytest.raises(lift_dspy.BackendUnavailableError) as info:
        dspy.Predict(Count)(text="a")
    assert info.value.url == f"{url}/chat/completions"
    assert "lift-dspy serve" in str(info.value)


def test_5xx_is_retryable_server_error() -> None:
    fake = FakeVLLM([httpx.Response(503, json={"error": {"message": "overloaded"}})])
    dspy.configure(lm=fake.lm())
    with pytest.raises(BackendServerError) as info:
        dspy.Predict(Count)(text="a")
    assert info.value.status == 503


def test_5xx_then_success_with_dspy_retries() -> None:
    fake = FakeVLLM(
        [httpx.Response(502, text="bad gateway"), "[[ ## count ## ]]\n1\n\n[[ ## completed ## ]]"]
    )
    dspy.configure(lm=fake.lm(num_retries=2))
    assert dspy.Predict(Count)(text="a").count == 1


def test_grammar_error_400_is_a_backend_error_with_the_message() -> None:
    fake = FakeVLLM([httpx.Response(400, json={"error": {"message": "Grammar error: bad lark"}})])
    dspy.configure(lm=fake.lm())
    with pytest.raises(lift_dspy.BackendError, match="Grammar error"):
        dspy.Predict(Count)(text="a")


def test_context_window_is_dspy_own_error() -> None:
    message = "This model's maximum context length is 2048 tokens. However, you requested 4000 tokens."
    fake = FakeVLLM([httpx.Response(400, json={"error": {"message": message}})])
    dspy.configure(lm=fake.lm())
    with pytest.raises(ContextWindowExceededError):
        dspy.Predict(Count)(text="a")


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, text="<html>proxy</html>"), httpx.Response(200, json={"choices": []})],
)
def test_malformed_bodies(response: httpx.Response) -> None:
    fake = FakeVLLM([response])
    dspy.configure(lm=fake.lm())
    with pytest.raises(lift_dspy.BackendError, match="malformed"):
        dspy.Predict(Count)(text="a")


def test_every_error_is_a_dspy_lm_error_and_a_lift_error() -> None:
    for cls in (
        lift_dspy.UnsupportedSchemaError,
        lift_dspy.ConstraintViolationError,
        lift_dspy.TruncatedOutputError,
        lift_dspy.BackendError,
        lift_dspy.BackendUnavailableError,
        lift_dspy.ServerStartError,
    ):
        assert issubclass(cls, lift_dspy.LiftDSPyError)
        assert issubclass(cls, LMError)


def test_unsupported_keyword_names_field_and_keyword() -> None:
    sig = dspy.Signature("q -> tags: set[str]")
    with pytest.raises(lift_dspy.UnsupportedSchemaError) as info:
        lift_dspy.constraint_for(sig)
    assert info.value.field == "tags"
    assert info.value.keyword == "uniqueItems"
    assert "list[" in str(info.value)
    assert "lenient=True" in str(info.value)
    relaxed = lift_dspy.constraint_for(sig, lenient=True)
    assert "lenient" in relaxed["grammar"]


class _Inner(pydantic.BaseModel):
    tags: set[str]


class _Outer(pydantic.BaseModel):
    inner: list[_Inner]
    parent: _Outer | None = None  # recursive: the path search must not loop


@pytest.mark.parametrize("adapter", [None, dspy.JSONAdapter()], ids=["chat", "json"])
def test_unsupported_keyword_path_runs_from_the_output_field_in_both_layouts(adapter: object) -> None:
    sig = dspy.Signature({"q": dspy.InputField(), "out": dspy.OutputField()}).with_updated_fields(
        "out", type_=_Outer
    )
    with pytest.raises(lift_dspy.UnsupportedSchemaError) as info:
        lift_dspy.constraint_for(sig, adapter)
    assert info.value.field == "out.inner[].tags"  # not the $defs name of the nested model


def test_api_base_must_be_a_url() -> None:
    with pytest.raises(ValueError, match="http"):
        lift_dspy.GuidanceLM("m", api_base="localhost:8000")


def test_api_base_without_model_says_what_to_pass() -> None:
    with pytest.raises(ValueError, match="served model name"):
        lift_dspy.GuidanceLM(api_base="http://localhost:8000/v1")


def test_max_text_chars_bounds_free_text_and_json_strings() -> None:
    chat = lift_dspy.constraint_for(dspy.Signature("q -> essay, title"), max_text_chars=50)["grammar"]
    assert "/(?s:.){0,50}/ & " in chat
    schema = lift_dspy.constraint_for(dspy.Signature("q -> essay"), dspy.JSONAdapter(), max_text_chars=50)[
        "json"
    ]
    assert schema["properties"]["essay"]["maxLength"] == 50
    with pytest.raises(ValueError, match="positive"):
        lift_dspy.constraint_for(dspy.Signature("q -> essay"), max_text_chars=0)


def test_xgrammar_backend_runs_chat_signatures_in_json_mode_and_checks_values_only() -> None:
    fake = FakeVLLM(['{"count":7}', '{"count":8}'])
    dspy.configure(lm=fake.lm(backend="xgrammar"))
    # DSPy's ChatAdapter meets JSONModeRequiredError (an AdapterParseError) before anything is sent
    # and retries through JSONAdapter; xgrammar writes its own whitespace: values are checked.
    assert dspy.Predict(Count)(text="a").count == 7
    assert len(fake.payloads) == 1
    assert "json" in fake.payloads[0]["structured_outputs"]
    with dspy.context(adapter=dspy.JSONAdapter()):
        assert dspy.Predict(Count)(text="a").count == 8
    with (
        dspy.context(adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)),
        pytest.raises(lift_dspy.JSONModeRequiredError, match="JSONAdapter"),
    ):
        dspy.Predict(Count)(text="a")
    assert len(fake.payloads) == 2
    with pytest.raises(ValueError, match="backend"):
        FakeVLLM().lm(backend="outlines")


def test_a_schema_too_large_names_the_enum_and_does_not_suggest_lenient() -> None:
    from typing import Literal

    values = tuple(f"value_{i}" for i in range(50_000))
    sig = dspy.Signature({"q": dspy.InputField(), "x": dspy.OutputField()}).with_updated_fields(
        "x", type_=Literal[values]
    )
    with pytest.raises(lift_dspy.UnsupportedSchemaError) as info:
        lift_dspy.constraint_for(sig, dspy.JSONAdapter())
    assert info.value.field == "x"
    assert info.value.keyword == "enum"
    assert "chat layout" in str(info.value)
    assert "lenient" not in str(info.value)  # lenient relaxes keywords; it makes nothing smaller
    assert lift_dspy.constraint_for(sig)["grammar"]  # the chat layout takes it
