"""The fair-arms benchmark's baselines send what they claim to send (a local HTTP capture, no vLLM)."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import dspy
import pytest

import lift_dspy
from lift_dspy.bench.stock import declared_lm

ROOT = Path(__file__).resolve().parents[2]


class QA(dspy.Signature):
    question: str = dspy.InputField()
    answer: str = dspy.OutputField()


def _fair_arms() -> Any:
    sys.path.insert(0, str(ROOT / "tests"))
    spec = importlib.util.spec_from_file_location("fair_arms", ROOT / "benchmarks" / "fair_arms.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(lm: Any, adapter: dspy.Adapter) -> None:
    # the canned answer need not parse; the payloads are what is checked
    with dspy.context(lm=lm, adapter=adapter), contextlib.suppress(Exception):
        dspy.Predict(QA)(question="q")


COMMON: dict[str, Any] = {"cache": False, "max_tokens": 50, "temperature": 0.0}


@pytest.mark.parametrize("adapter", [dspy.ChatAdapter(), dspy.JSONAdapter()], ids=["chat", "json"])
def test_unconstrained_guidance_lm_sends_no_response_format_like_stock_dspy(
    capture: tuple[str, list[dict[str, Any]]], adapter: dspy.Adapter
) -> None:
    base, bodies = capture
    _run(dspy.LM("openai/m", api_base=base, api_key="x", num_retries=0, **COMMON), adapter)
    stock = [sorted(k for k in b if k not in ("max_completion_tokens", "max_tokens")) for b in bodies]
    bodies.clear()
    _run(lift_dspy.GuidanceLM("m", api_base=base, constrain=False, **COMMON), adapter)
    free = [sorted(k for k in b if k not in ("max_completion_tokens", "max_tokens")) for b in bodies]
    assert free == stock
    assert all("response_format" not in b and "structured_outputs" not in b for b in bodies)


def test_declared_provider_makes_stock_json_adapter_send_a_strict_json_schema(
    capture: tuple[str, list[dict[str, Any]]],
) -> None:
    base, bodies = capture
    lm = declared_lm("m", base, num_retries=0, **COMMON)
    _run(lm, dspy.JSONAdapter())
    response_format = bodies[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["required"] == ["answer"]


def test_fair_arms_uses_the_shared_declared_lm() -> None:
    # one definition, shared with `lift-dspy bench`'s dspy-json-schema configuration
    assert _fair_arms().declared_lm is declared_lm


def test_summary_has_intervals_and_significance() -> None:
    fair = _fair_arms()
    rows = [
        {
            "arm": arm,
            "task": "t",
            "sample": i,
            "temperature": 0.0 if i == 0 else 0.7,
            "ok": ok,
            "error": None if ok else "E",
            "seconds": s,
            "output_tokens": 10,
            "prompt_tokens": 100,
            "lm_calls": 1,
        }
        for arm, ok, s in [("lift-guidance", True, 1.0), ("dspy-chat", False, 5.0)]
        for i in range(20)
    ]
    summary = fair.summarize(rows, ["lift-guidance", "dspy-chat"])
    assert summary["arms"]["lift-guidance"]["valid"]["ci95"][0] > 0.8
    assert summary["arms"]["dspy-chat"]["valid"]["ci95"][1] < 0.2
    versus = summary["vs_lift-guidance"]["dspy-chat"]
    assert versus["valid_difference_vs_headline"]["significant"] is True
    assert versus["latency_per_valid_ratio_headline_over_arm"]["ratio"] == 0.0
