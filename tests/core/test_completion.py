"""lift_dspy/completion.py: the one chat-completion body parser, timeout and HTTP error map."""

from __future__ import annotations

import json

import httpx
import pytest
from dspy.utils.exceptions import ContextWindowExceededError

import lift_dspy
from lift_dspy.completion import http_error, http_timeout, parse_completion, transport_error


def test_parse_reads_every_choice_and_the_usage() -> None:
    body = {
        "id": "c1",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"content": "a"}, "finish_reason": "stop", "logprobs": None},
            {"index": 1, "message": {"content": None}, "finish_reason": "length"},
        ],
        "usage": {"completion_tokens": 3},
    }
    parsed = parse_completion(json.dumps(body).encode())
    assert (parsed.id, parsed.model, dict(parsed.usage)) == ("c1", "m", {"completion_tokens": 3})
    assert [(c.text, c.finish_reason) for c in parsed.choices] == [("a", "stop"), ("", "length")]
    assert parsed.choices[0].raw["index"] == 0
    assert parse_completion('{"choices": []}').choices == ()


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"choices": 3}',
        '{"choices": [{"text": "no message"}]}',
        '{"choices": [], "usage": 3}',
    ],
)
def test_parse_refuses_what_is_not_a_chat_completion(body: str) -> None:
    with pytest.raises(ValueError, match="not a chat completion"):
        parse_completion(body)


def test_timeout_bounds_connecting_separately() -> None:
    assert http_timeout(600.0) == httpx.Timeout(600.0, connect=10.0)
    assert http_timeout(2.0) == httpx.Timeout(2.0, connect=2.0)


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "maximum context length is 8", ContextWindowExceededError),
        (400, "bad field", lift_dspy.BackendError),
        (401, "no", lift_dspy.BackendAuthError),
        (403, "no", lift_dspy.BackendAuthError),
        (429, "slow", lift_dspy.BackendRateLimitError),
        (503, "down", lift_dspy.BackendServerError),
    ],
)
def test_http_errors_are_typed(status: int, message: str, error: type[Exception]) -> None:
    got = http_error(status, json.dumps({"error": {"message": message}}), "http://x/v1/chat/completions", "m")
    assert type(got) is error
    assert message in str(got)


def test_transport_errors_say_whether_it_was_time_or_reachability() -> None:
    assert "no answer in time" in str(transport_error(httpx.ReadTimeout("t"), "u"))
    assert "cannot reach the server" in str(transport_error(httpx.ConnectError("refused"), "u"))
