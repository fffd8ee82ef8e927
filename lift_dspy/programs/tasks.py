"""A fixed task suite: 25 IR-to-code tasks over the four languages and 8 analysis-agent tasks.

Each task carries a simple checker, so a benchmark can run any program over the suite::

    >>> from lift_dspy.programs.tasks import CODE_TASKS, AGENT_TASKS
    >>> len(CODE_TASKS) >= 21, sorted({t.language for t in CODE_TASKS})
    (True, ['go', 'java', 'rust', 'typescript'])

Code tasks run through :class:`~lift_dspy.programs.IRToCode` (``task.check(prediction)``); agent
tasks through ``dspy.Predict(task.signature)(**task.inputs)`` (``task.check(prediction)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import dspy

from lift_dspy.schemas import IntentClassification, Language, Plan
from lift_dspy.signatures.agent import (
    AdaptPlan,
    ClassifyIntent,
    ToolCallError,
    resolve_tool_call,
    tool_call_signature,
)

__all__ = ["AGENT_TASKS", "AGENT_TOOLS", "CODE_TASKS", "AgentTask", "CodeTask", "Verdict", "code_tasks"]


@dataclass(frozen=True)
class Verdict:
    """Whether one task's output passed, and why not."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class CodeTask:
    """Implement one function in one language; passes when it compiles with the IR's arity.

    Attributes:
        id: Stable identifier, ``"<language>/<name>"``.
        spec: The natural-language request.
        language: The target language.
        params: How many parameters the IR must have.
    """

    id: str
    spec: str
    language: Language
    params: int

    def check(self, prediction: dspy.Prediction) -> Verdict:
        """Check an :class:`IRToCode` prediction for this task."""
        result = prediction.results.get(self.language)
        if result is None:
            return Verdict(False, f"no result for {self.language}")
        if result.ok is not True:
            lines = [ln for ln in result.diagnostics.splitlines() if ln.strip() and not ln.startswith("# ")]
            first_line = lines[0] if lines else "not checked"
            return Verdict(False, f"does not compile: {result.error or first_line}")
        arity = len(prediction.ir.params)
        if arity != self.params:
            return Verdict(False, f"IR has {arity} parameters, expected {self.params}")
        return Verdict(True, f"compiles after {result.repairs} repair(s)")


_SPECS: tuple[tuple[str, str, int, tuple[Language, ...]], ...] = (
    (
        "clamp",
        "Clamp an integer value to the inclusive range [lo, hi].",
        3,
        ("typescript", "rust", "go", "java"),
    ),
    (
        "is_palindrome",
        "Return whether a string reads the same forwards and backwards.",
        1,
        ("typescript", "go"),
    ),
    ("sum_evens", "Return the sum of the even numbers in a list of integers.", 1, ("rust", "java")),
    (
        "fizzbuzz_word",
        'Return "Fizz", "Buzz", "FizzBuzz" or the number as text for an integer n.',
        1,
        ("go",),
    ),
    ("max_of_list", "Return the largest integer in a non-empty list of integers.", 1, ("typescript", "java")),
    ("count_vowels", "Count the vowels (a, e, i, o, u, either case) in a string.", 1, ("rust", "go")),
    ("gcd", "Return the greatest common divisor of two non-negative integers a and b.", 2, ("java", "rust")),
    ("celsius_to_f", "Convert a temperature from degrees Celsius to degrees Fahrenheit.", 1, ("typescript",)),
    ("word_count", "Count the words in a sentence, where words are separated by spaces.", 1, ("go", "java")),
    (
        "reverse_words",
        "Reverse the order of the words in a sentence separated by single spaces.",
        1,
        ("rust",),
    ),
    ("factorial", "Return n factorial for a non-negative integer n.", 1, ("typescript", "go")),
    ("average", "Return the mean of a non-empty list of floating-point numbers.", 1, ("java", "rust")),
    ("is_leap_year", "Return whether a year is a leap year in the Gregorian calendar.", 1, ("typescript",)),
    (
        "word_frequency",
        "Count how often each word occurs in a list of words, as a map from word to count.",
        1,
        ("go",),
    ),
)


def code_tasks() -> tuple[CodeTask, ...]:
    """The IR-to-code tasks in a stable order (by spec, then language)."""
    return tuple(
        CodeTask(id=f"{lang}/{name}", spec=spec, language=lang, params=params)
        for name, spec, params, langs in _SPECS
        for lang in langs
    )


CODE_TASKS: tuple[CodeTask, ...] = code_tasks()

AGENT_TOOLS: dict[str, dict[str, Any]] = {
    "load_table": {
        "description": "Load a CSV or Parquet file as a named table.",
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "description": "File path, e.g. sales.csv"},
                "name": {"type": "string", "description": "Table name; defaults to the file stem"},
            },
        },
    },
    "top_rows": {
        "description": "Show the first rows of a table.",
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["table"],
            "properties": {
                "table": {"type": "string"},
                "n": {"type": "integer", "minimum": 1, "maximum": 100, "default": 5},
            },
        },
    },
    "plot": {
        "description": "Plot one column of a table.",
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["table", "column", "kind"],
            "properties": {
                "table": {"type": "string"},
                "column": {"type": "string"},
                "kind": {"enum": ["line", "bar", "hist"]},
            },
        },
    },
}

AgentKind = Literal["intent", "plan", "tool_call"]


@dataclass(frozen=True)
class AgentTask:
    """One analysis-agent call with its checker.

    Attributes:
        id: Stable identifier, ``"<kind>/<name>"``.
        kind: Which agent skill it exercises.
        signature: The DSPy signature to predict with.
        inputs: Keyword arguments for ``dspy.Predict(signature)``.
        checker: ``prediction -> Verdict``.
    """

    id: str
    kind: AgentKind
    signature: type[dspy.Signature]
    inputs: Mapping[str, Any]
    checker: Callable[[dspy.Prediction], Verdict] = field(repr=False)

    def check(self, prediction: dspy.Prediction) -> Verdict:
        """Apply this task's checker."""
        return self.checker(prediction)


def _intent_is(expected: str) -> Callable[[dspy.Prediction], Verdict]:
    def check(prediction: dspy.Prediction) -> Verdict:
        got: IntentClassification = prediction.classification
        return Verdict(got.intent == expected, f"intent {got.intent!r}, expected {expected!r}")

    return check


def _tool_call_is(
    tool: str, expected: Mapping[str, Any], context: Mapping[str, Any]
) -> Callable[[dspy.Prediction], Verdict]:
    def check(prediction: dspy.Prediction) -> Verdict:
        try:
            call = resolve_tool_call(prediction.call, AGENT_TOOLS, context)
        except ToolCallError as exc:
            return Verdict(False, f"does not resolve: {exc}")
        if call.name != tool:
            return Verdict(False, f"called {call.name!r}, expected {tool!r}")
        wrong = {k: call.arguments.get(k) for k, v in expected.items() if call.arguments.get(k) != v}
        return Verdict(not wrong, f"wrong arguments: {wrong}" if wrong else "resolved")

    return check


_FAILED_PLAN = Plan.model_validate(
    {
        "goal": "Plot monthly revenue",
        "steps": [
            {
                "id": 1,
                "action": "load sales data",
                "tool": "load_table",
                "depends_on": [],
                "status": "failed",
            },
            {"id": 2, "action": "plot revenue", "tool": "plot", "depends_on": [1], "status": "pending"},
        ],
        "rationale": "Load the data, then plot it.",
    }
)


def _plan_is_coherent(prediction: dspy.Prediction) -> Verdict:
    plan: Plan = prediction.adapted
    ids = [s.id for s in plan.steps]
    if len(set(ids)) != len(ids):
        return Verdict(False, f"duplicate step ids {ids}")
    dangling = [d for s in plan.steps for d in s.depends_on if d not in ids]
    if dangling:
        return Verdict(False, f"depends on missing steps {dangling}")
    unknown = [s.tool for s in plan.steps if s.tool not in (*AGENT_TOOLS, "none")]
    if unknown:
        return Verdict(False, f"unknown tools {unknown}")
    if not any(s.tool == "plot" and s.status == "pending" for s in plan.steps):
        return Verdict(False, "the plot step was dropped")
    return Verdict(True, "coherent")


def _agent_tasks() -> tuple[AgentTask, ...]:
    call_sig = tool_call_signature(AGENT_TOOLS)
    ctx = {"table": "sales"}
    return (
        AgentTask(
            "intent/visualize",
            "intent",
            ClassifyIntent,
            {"request": "Draw a line chart of monthly revenue", "context": "tables: sales"},
            _intent_is("visualize"),
        ),
        AgentTask(
            "intent/load",
            "intent",
            ClassifyIntent,
            {"request": "Please load the file customers.csv", "context": ""},
            _intent_is("load_data"),
        ),
        AgentTask(
            "intent/out_of_scope",
            "intent",
            ClassifyIntent,
            {"request": "Book me a flight to Paris", "context": "tables: sales"},
            _intent_is("out_of_scope"),
        ),
        AgentTask(
            "plan/replace_failed_load",
            "plan",
            AdaptPlan,
            {
                "plan": _FAILED_PLAN,
                "observation": "Step 1 failed: sales.csv not found; sales.parquet exists.",
                "tools": list(AGENT_TOOLS),
            },
            _plan_is_coherent,
        ),
        AgentTask(
            "tool_call/top_rows_n",
            "tool_call",
            call_sig,
            {"task": "Show the first 10 rows of the sales table", "context": "current table: sales"},
            _tool_call_is("top_rows", {"table": "sales", "n": 10}, ctx),
        ),
        AgentTask(
            "tool_call/top_rows_default",
            "tool_call",
            call_sig,
            {"task": "Show me a few rows of the current table", "context": "current table: sales"},
            _tool_call_is("top_rows", {"table": "sales"}, ctx),
        ),
        AgentTask(
            "tool_call/histogram",
            "tool_call",
            call_sig,
            {"task": "Draw a histogram of the price column", "context": "current table: sales"},
            _tool_call_is("plot", {"column": "price", "kind": "hist"}, ctx),
        ),
        AgentTask(
            "tool_call/load",
            "tool_call",
            call_sig,
            {"task": "Load orders.parquet", "context": ""},
            _tool_call_is("load_table", {"path": "orders.parquet"}, {}),
        ),
    )


AGENT_TASKS: tuple[AgentTask, ...] = _agent_tasks()
