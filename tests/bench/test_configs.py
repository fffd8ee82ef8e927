"""The `lift-dspy bench` configurations send what they claim (a local HTTP capture, no vLLM).

``lift-free`` must send exactly what ``dspy-chat`` (stock DSPy) sends; ``dspy-json-schema`` must
send the strict ``json_schema`` that stock DSPy's JSONAdapter sends once the provider is declared
with response-schema support; ``dspy-json`` sends none.
"""

from __future__ import annotations

import contextlib
from typing import Any

import dspy
import pytest

from lift_dspy.bench.configs import (
    CONFIGS,
    DESCRIPTIONS,
    SERVER_BACKEND,
    UNCONSTRAINED,
    Endpoint,
    Session,
    Settings,
    code_form_of,
)
from lift_dspy.programs.tasks import AgentTask, Verdict


class QA(dspy.Signature):
    question: str = dspy.InputField()
    answer: str = dspy.OutputField()


TASK = AgentTask("qa/one", "intent", QA, {"question": "q"}, lambda p: Verdict(True, ""))
# the bodies' token-limit key differs between DSPy's and lift-dspy's clients; the rest must not
LIMIT_KEYS = ("max_completion_tokens", "max_tokens")


def _bodies(config: str, capture: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    base, bodies = capture
    bodies.clear()
    session = Session(config, Endpoint(base, "m", "guidance"), Settings(max_tokens=50))  # type: ignore[arg-type]
    with contextlib.suppress(Exception):  # the canned answer need not parse
        session.agent(TASK)
    session.finish()
    return list(bodies)


def _shape(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in LIMIT_KEYS}


def test_every_configuration_is_described_and_placed() -> None:
    assert set(DESCRIPTIONS) == set(CONFIGS) == set(SERVER_BACKEND)
    assert {"lift-free", "dspy-json-schema"} <= set(CONFIGS)
    assert set(CONFIGS) >= UNCONSTRAINED
    # the grammar-code form needs a constraint: only lift-guidance writes raw source
    assert [c for c in CONFIGS if code_form_of(c) == "grammar-code"] == ["lift-guidance"]


def test_lift_free_sends_exactly_what_stock_dspy_sends(capture: tuple[str, list[dict[str, Any]]]) -> None:
    stock = _bodies("dspy-chat", capture)
    free = _bodies("lift-free", capture)
    assert stock
    assert [_shape(b) for b in free] == [_shape(b) for b in stock]
    assert all(k not in b for b in free for k in ("response_format", "structured_outputs"))
    assert all(b.get(k) == 50 for b in free for k in LIMIT_KEYS if k in b)


def test_lift_guidance_sends_a_constraint(capture: tuple[str, list[dict[str, Any]]]) -> None:
    (body,) = _bodies("lift-guidance", capture)[:1]
    assert "structured_outputs" in body or "response_format" in body


@pytest.mark.parametrize(("config", "strict"), [("dspy-json", False), ("dspy-json-schema", True)])
def test_stock_json_adapter_with_and_without_declared_schema_support(
    capture: tuple[str, list[dict[str, Any]]], config: str, strict: bool
) -> None:
    body = _bodies(config, capture)[0]
    if not strict:
        assert "response_format" not in body
        return
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["required"] == ["answer"]
