"""Servers that lie: HTTP 200 with an answer that was never constrained is never a silent success.

Two liars: a proxy that strips ``structured_outputs`` (vLLM then samples freely), and a real vLLM on
the xgrammar backend when lift-dspy is configured for guidance. Validation catches every answer that
does not really conform (``ConstraintViolationError``; a grammar the server refuses is a
``BackendError``), and ``lift-dspy doctor`` flags both servers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dspy
import pytest
from faultproxy import Fault, FaultProxy, Policy, always
from figures import record
from zoo import Count, Essay, Sentiment, SpecToIR, YesNo

import lift_dspy
from lift_dspy.constraints import compile_constraint
from lift_dspy.server.doctor import doctor
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm

StartProxy = Callable[[Policy], FaultProxy]
CALLS = 40
SIGNATURES: list[Any] = [Sentiment, Count, SpecToIR, YesNo]


def _lm(api_base: str, model: str = "tiny", **kwargs: Any) -> lift_dspy.GuidanceLM:
    settings: dict[str, Any] = {"temperature": 1.0, "max_tokens": 48, "cache": False, "num_retries": 0}
    return lift_dspy.GuidanceLM(model, api_base=api_base, max_text_chars=120, **(settings | kwargs))


def test_stripped_constraints_never_pass_as_valid(fault_proxy: StartProxy) -> None:
    proxy = fault_proxy(always(Fault.strip()))
    # Stop strings end some free-running answers early (finish_reason "stop"), so they reach the
    # validator instead of the max_tokens check.
    plain, stopping = _lm(proxy.api_base), _lm(proxy.api_base, stop=["e", "."])
    outcomes: dict[str, int] = {}
    accepted = 0
    for index in range(CALLS):
        signature = SIGNATURES[index % len(SIGNATURES)]
        layout = "json" if index % 3 == 0 else "chat"
        lm = stopping if index % 2 else plain
        adapter = dspy.JSONAdapter() if layout == "json" else dspy.ChatAdapter()
        inputs = {name: f"input {index}" for name in signature.input_fields}
        try:
            with dspy.context(lm=lm, adapter=adapter):
                dspy.Predict(signature)(**inputs)
        except lift_dspy.ConstraintViolationError as exc:
            kind = type(exc).__name__
        else:
            # Accepted: only if the unconstrained text really is a sentence of the grammar.
            text = json.loads(proxy.counters.answers[-1])["choices"][0]["message"]["content"]
            compile_constraint(signature, layout).validate(text)
            accepted += 1
            kind = "accepted (really valid)"
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert proxy.counters.completions == CALLS
    assert all("structured_outputs" not in payload for payload in proxy.counters.stripped_payloads)
    assert sum(outcomes.values()) == CALLS
    record(f"stripping proxy: {CALLS} calls", dict(sorted(outcomes.items())))
    assert outcomes.get("ConstraintViolationError", 0) > 0  # the validator itself was exercised
    assert accepted <= CALLS // 4, "a random model writing valid answers unconstrained: check the proxy"


def test_doctor_flags_the_stripping_proxy(fault_proxy: StartProxy, tiny_server: Server) -> None:
    honest = doctor(tiny_server.api_base, samples=2)
    assert honest.ok, honest.render()
    assert honest.backend == "guidance"
    proxy = fault_proxy(always(Fault.strip()))
    report = doctor(proxy.api_base, samples=2)
    assert not report.ok, report.render()
    assert report.exit_code == 1
    assert report.backend == "none"
    failed = {check.name for check in report.checks if check.status == "FAIL"}
    assert "JSON constraint" in failed
    assert "NOT enforced" in report.render()


def test_other_backend_than_configured_is_caught(xgrammar_tiny_server: Server) -> None:
    """lift-dspy configured for guidance (the default), the server on xgrammar.

    xgrammar runs some of lift-dspy's Lark grammars (vLLM converts simple Lark to EBNF) and rejects
    others (free-text lexemes, some JSON Schemas: HTTP 400); its JSON separators differ from the ones
    the guidance grammar fixes. Whatever it does, an answer is accepted only if it really is a
    sentence of the grammar lift-dspy sent: re-checked here on the raw text the proxy relayed.
    """
    outcomes: dict[str, int] = {}
    with FaultProxy(xgrammar_tiny_server.api_base, always(Fault.relay())) as proxy:
        lm = _lm(proxy.api_base, xgrammar_tiny_server.model, max_tokens=200)
        for signature in (Sentiment, Count, SpecToIR, YesNo, Essay):
            for layout, adapter in (("chat", dspy.ChatAdapter()), ("json", dspy.JSONAdapter())):
                inputs = {name: "some input" for name in signature.input_fields}
                try:
                    with dspy.context(lm=lm, adapter=adapter):
                        dspy.Predict(signature)(**inputs)
                except (lift_dspy.ConstraintViolationError, lift_dspy.BackendError) as exc:
                    kind = type(exc).__name__
                else:
                    raw = json.loads(proxy.counters.answers[-1])["choices"][0]["message"]["content"]
                    compile_constraint(signature, layout).validate(raw)  # really a sentence of it
                    kind = "accepted (really valid)"
                outcomes[f"{layout}: {kind}"] = outcomes.get(f"{layout}: {kind}", 0) + 1
    record("guidance-configured LM against an xgrammar server (5 signatures x 2 layouts)", outcomes)
    # Every JSON answer is caught: xgrammar writes {"a":1}, the guidance grammar fixes {"a": 1}.
    assert outcomes.get("json: accepted (really valid)", 0) == 0

    report = doctor(xgrammar_tiny_server.api_base, samples=2)
    assert not report.ok, report.render()
    assert report.backend == "xgrammar-or-other"
    assert "guidance" in {check.name: check.detail for check in report.checks}["backend"]
