"""A small analysis-agent program for the optimizer tests, and the check that prompt and constraint agree.

Shared by the fast layer (``tests/core/test_optimizers_fast.py``, FakeVLLM) and the end-to-end
suite (``tests/e2e/test_optimizers.py``, a real vLLM server). The program has two predictors, a
ChainOfThought with a ``Literal``, a bounded list and a bounded int, and a Predict with a choice and
a nested model, so optimizers bootstrap demos of every kind of field the chat layout writes.

The property checked after every optimizer: each few-shot demo DSPy renders into the messages as
an assistant turn is a sentence of the constraint the engine sent with that request (a model can
only imitate demos the grammar lets it write), and the optimized instructions are in the system
prompt of a request that is still constrained.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, Literal

import dspy
import httpx
from pydantic import BaseModel, ConfigDict, Field

import lift_dspy
from lift_dspy.constraints import compile_constraint
from lift_dspy.constraints.check import GrammarMatcher, grammar_from_json_schema, grammar_from_lark
from lift_dspy.constraints.schema import Options

Intent = Literal["load_data", "describe_data", "visualize", "out_of_scope"]
Tool = Literal["load_table", "top_rows", "plot", "none"]

# Every free text of a random-weight model must end: the tests run with this bound.
MAX_TEXT_CHARS = 120


class Route(dspy.Signature):
    """Route the user's request to one skill of the data-analysis agent."""

    request: str = dspy.InputField(desc="The user's message.")
    context: str = dspy.InputField(desc="Known tables; may be empty.")
    intent: Intent = dspy.OutputField()
    columns: Annotated[list[Annotated[str, Field(max_length=20)]], Field(max_length=3)] = dspy.OutputField(
        desc="Column names the request mentions."
    )
    rows: Annotated[int, Field(ge=0, le=100)] = dspy.OutputField(desc="Rows to show; 0 if none.")


class ToolArgs(BaseModel):
    """Arguments of the chosen tool."""

    model_config = ConfigDict(extra="forbid")
    table: Annotated[str, Field(max_length=20)]
    n: Annotated[int, Field(ge=1, le=100)]


class PickTool(dspy.Signature):
    """Pick the agent tool that serves the request, with its arguments."""

    request: str = dspy.InputField(desc="The user's message.")
    intent: str = dspy.InputField(desc="What the user wants.")
    tool: Tool = dspy.OutputField()
    args: ToolArgs = dspy.OutputField()


class AnalysisAgent(dspy.Module):
    """Route a request, then pick a tool: two constrained steps."""

    def __init__(self) -> None:
        super().__init__()
        self.route = dspy.ChainOfThought(Route)
        self.act = dspy.Predict(PickTool)

    def forward(self, request: str, context: str) -> dspy.Prediction:
        routed = self.route(request=request, context=context)
        acted = self.act(request=request, intent=routed.intent)
        return dspy.Prediction(
            intent=routed.intent, columns=routed.columns, rows=routed.rows, tool=acted.tool, args=acted.args
        )


def _example(
    request: str, context: str, intent: str, columns: list[str], rows: int, tool: str, table: str, n: int
) -> dspy.Example:
    # Fully labeled: every output field of both predictors (see test_optimizers_fast for why).
    return dspy.Example(
        request=request,
        context=context,
        intent=intent,
        columns=columns,
        rows=rows,
        tool=tool,
        args={"table": table, "n": n},
    ).with_inputs("request", "context")


EXAMPLES: tuple[dspy.Example, ...] = (
    _example("Load the file sales.csv", "", "load_data", [], 0, "load_table", "sales", 1),
    _example(
        "Show me 10 rows of orders", "tables: orders", "describe_data", [], 10, "top_rows", "orders", 10
    ),
    _example(
        "Plot revenue by month", "tables: sales", "visualize", ["revenue", "month"], 0, "plot", "sales", 1
    ),
    _example("Book me a flight to Paris", "tables: sales", "out_of_scope", [], 0, "none", "sales", 1),
    _example(
        "Describe the price column", "tables: items", "describe_data", ["price"], 5, "top_rows", "items", 5
    ),
    _example("Draw a histogram of age", "tables: people", "visualize", ["age"], 0, "plot", "people", 1),
)


def score(gold: dspy.Example, pred: dspy.Prediction) -> float:
    """0.2 for a usable answer (always, under the constraint), plus 0.4 per right intent and tool.

    The floor makes every trace a candidate demo, so bootstrapping always has demos to render even
    with a random-weight model, whose intent and tool are arbitrary.
    """
    return 0.2 + 0.4 * (pred.intent == gold.intent) + 0.4 * (pred.tool == gold.tool)


def metric(gold: dspy.Example, pred: dspy.Prediction, trace: Any = None) -> float:
    """The optimizers' metric (DSPy's ``(gold, pred, trace)`` form)."""
    return score(gold, pred)


def feedback_metric(
    gold: dspy.Example,
    pred: dspy.Prediction,
    trace: Any = None,
    pred_name: str | None = None,
    pred_trace: Any = None,
) -> dspy.Prediction:
    """GEPA's metric: the score and a sentence of feedback for the reflection LM."""
    feedback = (
        f"Expected intent {gold.intent!r} and tool {gold.tool!r}; got intent {pred.intent!r} and tool "
        f"{pred.tool!r}."
    )
    return dspy.Prediction(score=score(gold, pred), feedback=feedback)


class RecordingTransport(httpx.BaseTransport):
    """An ``httpx`` transport that records every JSON request body, then forwards it (real HTTP)."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()
        self.payloads: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.payloads.append(json.loads(request.read()))
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@dataclass(frozen=True)
class Agreement:
    """What one payload's prompt showed and whether its constraint accepts it."""

    signature: str
    demos: int
    rejected: tuple[str, ...]


def _matcher(structured_outputs: dict[str, Any]) -> GrammarMatcher:
    if "grammar" in structured_outputs:
        return GrammarMatcher(grammar_from_lark(structured_outputs["grammar"]))
    return GrammarMatcher(grammar_from_json_schema(structured_outputs["json"]))


def check_agreement(
    payload: dict[str, Any], program: dspy.Module, *, adapter: Any = None, max_text_chars: int | None = None
) -> Agreement:
    """Check one request of ``program``: constrained, by its predictor's constraint, demos accepted.

    Raises:
        AssertionError: the request carries no constraint, or one that is not
            ``lift_dspy.constraint_for`` of any of the program's predictors.
    """
    sent = payload.get("structured_outputs")
    assert sent, f"request sent without a constraint: {json.dumps(payload)[:300]}"
    options = Options(max_text_chars=max_text_chars)
    fmt = "json" if "json" in sent else "chat"
    owners = [
        p.signature
        for p in program.predictors()
        if lift_dspy.constraint_for(p.signature, adapter, max_text_chars=max_text_chars) == sent
    ]
    assert owners, f"the constraint sent is not that of any predictor: {json.dumps(sent)[:300]}"
    constraint = compile_constraint(owners[0], fmt, None, options)
    matcher = _matcher(sent)
    rejected = []
    demos = [m["content"] for m in payload["messages"] if m["role"] == "assistant"]
    for text in demos:
        mismatch = matcher.mismatch(text)
        if mismatch is not None:
            rejected.append(f"{mismatch[1]} in demo {text!r}")
            continue
        try:
            constraint.validate(text)
        except lift_dspy.ConstraintViolationError as exc:
            rejected.append(f"{exc} in demo {text!r}")
    return Agreement(owners[0].__name__, len(demos), tuple(rejected))


def system_prompt(payload: dict[str, Any]) -> str:
    """The system message of a chat payload."""
    first = payload["messages"][0]
    assert first["role"] == "system", first
    text: str = first["content"]
    return text


def instructions_shown(instructions: str, payload: dict[str, Any]) -> bool:
    """Whether every line of ``instructions`` is in the payload's system prompt (DSPy indents them)."""
    system = system_prompt(payload)
    return all(line.strip() in system for line in instructions.splitlines() if line.strip())


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` (examples are scripts, not a package)."""
    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"lift_dspy_example_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
