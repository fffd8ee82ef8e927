"""ReAct with two tools, n > 1, the cache and the JSON-only backends against real vLLM servers."""

from __future__ import annotations

import uuid

import dspy
import pytest
from fakes import forget_detected
from zoo import Count, Sentiment

import lift_dspy
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm

CALLS: list[tuple[str, dict]] = []


def lookup(city: str) -> str:
    """Look up the weather in a city."""
    CALLS.append(("lookup", {"city": city}))
    return f"sunny in {city}"


def convert(celsius: int, unit: str = "F") -> str:
    """Convert a temperature."""
    CALLS.append(("convert", {"celsius": celsius, "unit": unit}))
    return f"{celsius * 9 // 5 + 32} {unit}"


def _lm(server: Server, **kwargs: object) -> lift_dspy.GuidanceLM:
    return lift_dspy.GuidanceLM(
        server.model,
        api_base=server.api_base,
        temperature=1.0,
        max_tokens=1200,
        max_text_chars=120,
        num_retries=0,
        **kwargs,  # type: ignore[arg-type]
    )


def _react_runs(
    lm: lift_dspy.GuidanceLM, adapter: object, rounds: int, *, tolerate: str | None = None
) -> int:
    """Run ReAct ``rounds`` times; return how many answers were rejected for the ``tolerate`` reason."""
    CALLS.clear()
    dspy.configure(lm=lm, adapter=adapter)
    react = dspy.ReAct("question -> answer: int", tools=[lookup, convert], max_iters=4)
    rejected = 0
    for i in range(rounds):
        try:
            prediction = react(question="What is 20 C in F in Paris?", config={"rollout_id": i})
        except lift_dspy.ConstraintViolationError as exc:
            if tolerate is None or tolerate not in exc.reason:
                raise
            rejected += 1
            continue
        assert isinstance(prediction.answer, int)
        for step in range(4):
            name = prediction.trajectory.get(f"tool_name_{step}")
            if name is None:
                break
            assert name in {"lookup", "convert", "finish"}
            observation = prediction.trajectory[f"observation_{step}"]
            assert "Execution error" not in str(observation), observation
    # The tools were called with arguments of the right shape (never the other tool's).
    for name, args in CALLS:
        assert set(args) <= {"city"} if name == "lookup" else set(args) <= {"celsius", "unit"}
    return rejected


@pytest.mark.parametrize("adapter", [None, dspy.JSONAdapter()], ids=["chat", "json"])
def test_react_two_tools_every_step_is_a_valid_tool_call(tiny_server: Server, adapter: object) -> None:
    _react_runs(_lm(tiny_server, cache=False), adapter, rounds=5)


def test_react_unchanged_on_xgrammar(xgrammar_tiny_server: Server) -> None:
    """The same ReAct program on a JSON-only backend: every step in JSON mode, tool calls still typed."""
    lm = _lm(xgrammar_tiny_server, cache=False, backend="xgrammar")
    # vLLM 0.32's xgrammar lets raw control characters (U+0000-U+001F) into JSON strings, which is
    # not JSON: lift-dspy rejects those answers (checked by value) instead of passing them on.
    rejected = _react_runs(lm, None, rounds=4, tolerate="Invalid control character")
    assert lm.stats()["total"]["violations"] == rejected


def test_n_samples_are_all_valid(tiny_server: Server) -> None:
    dspy.configure(lm=_lm(tiny_server, cache=False))
    prediction = dspy.Predict(Sentiment, n=5)(text="fine")
    assert len(prediction.completions) == 5
    assert all(c.sentiment in {"positive", "negative", "neutral"} for c in prediction.completions)


def test_cache_answers_identical_calls(tiny_server: Server) -> None:
    lm = _lm(tiny_server, cache=True)
    dspy.configure(lm=lm)
    text = f"cache me {uuid.uuid4()}"  # DSPy's disk cache outlives the test run
    first = dspy.Predict(Count)(text=text)
    second = dspy.Predict(Count)(text=text)
    assert first.count == second.count
    assert lm.stats()["total"]["calls"] == 1


def test_xgrammar_backend_detected_and_run_in_json_mode(xgrammar_tiny_server: Server) -> None:
    """The rollback path: the same program, unchanged, on xgrammar (detected; JSON-schema mode)."""
    forget_detected()
    lm = _lm(xgrammar_tiny_server, cache=False, backend="auto")
    dspy.configure(lm=lm)  # the default ChatAdapter: each call switches to JSON mode by itself
    for i in range(3):
        assert isinstance(dspy.Predict(Count)(text="a b", config={"rollout_id": i}).count, int)
    assert lm.history[-1]["lift_dspy"]["backend"] == "xgrammar"
    assert lm.history[-1]["lift_dspy"]["format"] == "json"
    with dspy.context(adapter=dspy.JSONAdapter()):
        assert isinstance(dspy.Predict(Sentiment)(text="fine").sentiment, str)
    with (
        dspy.context(adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)),
        pytest.raises(lift_dspy.JSONModeRequiredError, match="JSONAdapter"),
    ):
        dspy.Predict(Count)(text="a b")
    assert lm.stats()["total"]["violations"] == 0


def test_guidance_backend_detected(tiny_server: Server) -> None:
    forget_detected()
    lm = _lm(tiny_server, cache=False, backend="auto")
    dspy.configure(lm=lm)
    assert isinstance(dspy.Predict(Count)(text="a b").count, int)
    assert lm.history[-1]["lift_dspy"]["backend"] == "guidance"
    assert lm.history[-1]["lift_dspy"]["format"] == "chat"


def test_openai_provider_mode_uses_only_the_standard_response_format(tiny_server: Server) -> None:
    """What a non-vLLM OpenAI-compatible provider gets: `response_format` json_schema, nothing else."""
    lm = _lm(tiny_server, cache=False, backend="openai")
    dspy.configure(lm=lm)
    for i in range(3):
        prediction = dspy.Predict(Sentiment)(text="fine", config={"rollout_id": i})
        assert prediction.sentiment in {"positive", "negative", "neutral"}
    assert lm.history[-1]["lift_dspy"]["backend"] == "openai"
    assert lm.stats()["total"]["ok"] == 3


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("adapter", [None, dspy.JSONAdapter()], ids=["chat", "json"])
def test_fallback_through_dspy_litellm_to_an_openai_compatible_server(
    tiny_server: Server, adapter: object
) -> None:
    """Primary down: a stock dspy.LM (DSPy's LiteLLM engine) answers; its answer is still validated."""
    backup = dspy.LM(
        f"openai/{tiny_server.model}",
        api_base=tiny_server.api_base,
        api_key="none",
        engine="litellm",
        cache=False,
        num_retries=0,
        temperature=1.0,
        max_tokens=300,
    )
    lm = lift_dspy.GuidanceLM(
        "primary",
        api_base=f"http://127.0.0.1:{_closed_port()}/v1",
        fallback=backup,
        cache=False,
        num_retries=0,
    )
    dspy.configure(lm=lm, adapter=adapter)
    answers = 0
    refused: list[lift_dspy.ConstraintViolationError] = []
    for i in range(3):
        try:
            prediction = dspy.Predict(Sentiment)(text="fine", config={"rollout_id": i})
        except lift_dspy.ConstraintViolationError as exc:
            refused.append(exc)
            continue
        assert prediction.sentiment in {"positive", "negative", "neutral"}
        assert lm.history[-1]["response"].provider_data["lift_dspy"]["fallback"] == backup.model
        answers += 1
    assert answers + len(refused) == 3  # every call was answered by the backup, then accepted or refused
    # Chat layout only: nothing constrains the backup's random model. Each refused answer reached
    # lift-dspy and was checked: the refusal names the backup and carries what it wrote.
    assert not refused or adapter is None, refused
    assert all(exc.model == backup.model and exc.raw_text for exc in refused), refused
    if adapter is not None:
        # JSON layout: the backup got our closed schema as response_format, so every answer is valid.
        assert answers == 3
    assert lm.stats()["total"]["errors"]["BackendUnavailableError"] == 3
