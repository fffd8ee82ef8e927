"""The benchmark suite: enough tasks per language, and checkers that pass and fail the right answers."""

from __future__ import annotations

from collections import Counter
from typing import Any

import dspy
import pytest
from lift_dspy.schemas import FunctionIR, IntentClassification, Plan

from lift_dspy.programs.ir_to_code import LanguageResult
from lift_dspy.programs.tasks import AGENT_TASKS, AGENT_TOOLS, CODE_TASKS, AgentTask, CodeTask


def test_code_suite_covers_four_languages_with_21_or_more_tasks() -> None:
    assert len(CODE_TASKS) >= 21
    per_language = Counter(t.language for t in CODE_TASKS)
    assert set(per_language) == {"typescript", "rust", "go", "java"}
    assert min(per_language.values()) >= 5
    assert len({t.id for t in CODE_TASKS}) == len(CODE_TASKS)
    assert all(0 < len(t.spec) <= 120 for t in CODE_TASKS)


def _ir(params: int) -> FunctionIR:
    return FunctionIR.model_validate(
        {
            "name": "f",
            "purpose": "p",
            "params": [{"name": f"p{i}", "type": "int", "description": "d"} for i in range(params)],
            "returns": {"type": "int", "description": "r"},
            "effects": ["pure"],
            "preconditions": [],
            "postconditions": [],
            "examples": [],
        }
    )


def _prediction(task: CodeTask, ok: bool | None, params: int, diagnostics: str = "") -> dspy.Prediction:
    result = LanguageResult(language=task.language, ok=ok, diagnostics=diagnostics, repairs=1)
    return dspy.Prediction(ir=_ir(params), results={task.language: result}, ok=ok)


def test_code_checker() -> None:
    task = next(t for t in CODE_TASKS if t.id == "rust/clamp")
    assert task.check(_prediction(task, True, 3)).ok
    wrong_arity = task.check(_prediction(task, True, 2))
    assert not wrong_arity.ok
    assert "expected 3" in wrong_arity.detail
    failed = task.check(_prediction(task, False, 3, "lib.rs:2:5: error\nmore"))
    assert (failed.ok, failed.detail) == (False, "does not compile: lib.rs:2:5: error")
    assert not task.check(dspy.Prediction(ir=_ir(3), results={}, ok=False)).ok


def _agent(task_id: str) -> AgentTask:
    return next(t for t in AGENT_TASKS if t.id == task_id)


def _intent(name: str) -> dspy.Prediction:
    value = IntentClassification.model_validate(
        {"intent": name, "confidence": "high", "entities": [], "needs_clarification": False,
         "clarification_question": ""}
    )  # fmt: skip
    return dspy.Prediction(classification=value)


def test_intent_checkers() -> None:
    assert _agent("intent/visualize").check(_intent("visualize")).ok
    assert not _agent("intent/visualize").check(_intent("aggregate")).ok


def _plan(steps: list[dict[str, Any]]) -> dspy.Prediction:
    return dspy.Prediction(adapted=Plan.model_validate({"goal": "g", "steps": steps, "rationale": ""}))


def _step(i: int, tool: str, status: str = "pending", deps: list[int] | None = None) -> dict[str, Any]:
    return {"id": i, "action": "a", "tool": tool, "depends_on": deps or [], "status": status}


def test_plan_checker() -> None:
    check = _agent("plan/replace_failed_load").check
    assert check(
        _plan([_step(1, "load_table", "failed"), _step(3, "load_table"), _step(2, "plot", deps=[3])])
    ).ok
    assert not check(_plan([_step(1, "load_table"), _step(1, "plot")])).ok  # duplicate ids
    assert not check(_plan([_step(1, "load_table"), _step(2, "plot", deps=[7])])).ok  # dangling
    assert not check(_plan([_step(1, "load_table"), _step(2, "chart")])).ok  # unknown tool
    assert not check(_plan([_step(1, "load_table")])).ok  # plot dropped


def test_tool_call_checkers_resolve_before_judging() -> None:
    check = _agent("tool_call/top_rows_n").check
    ok = dspy.Prediction(call={"name": "top_rows", "arguments": {"table": "auto", "n": 10}})
    assert check(ok).ok
    default_n = dspy.Prediction(call={"name": "top_rows", "arguments": {"table": "auto", "n": "auto"}})
    assert not check(default_n).ok  # resolves to n=5
    assert not check(dspy.Prediction(call={"name": "plot", "arguments": {}})).ok
    unresolvable = _agent("tool_call/load").check(
        dspy.Prediction(call={"name": "load_table", "arguments": {}})
    )
    assert not unresolvable.ok
    assert "path" in unresolvable.detail


@pytest.mark.parametrize("task", AGENT_TASKS, ids=lambda t: t.id)
def test_agent_task_inputs_match_the_signature(task: AgentTask) -> None:
    assert set(task.inputs) == set(task.signature.input_fields)
    assert task.kind in task.id


def test_agent_tools_have_closed_parameter_schemas() -> None:
    for spec in AGENT_TOOLS.values():
        assert spec["parameters"]["additionalProperties"] is False
