"""Fail closed against a real vLLM (tiny random model, guidance backend): the paths that used to go
out unconstrained -- a ChatAdapter subclass, XMLAdapter, a per-call signature override, Refine's
retries through its WrapperAdapter -- are constrained and checked; another layout is refused
before anything is sent. A random model writes valid answers only if the grammar was enforced.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import dspy
import pytest
from zoo import Count, Sentiment

import lift_dspy
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm


class Report(dspy.Signature):
    """Report on the text."""

    text: str = dspy.InputField()
    summary: str = dspy.OutputField()
    count: int = dspy.OutputField()
    tags: list[Literal["a", "b"]] = dspy.OutputField()
    sentiment: Literal["positive", "negative"] = dspy.OutputField()


class MyChat(dspy.ChatAdapter):
    """A user's adapter that keeps DSPy's chat layout."""


class Bulleted(dspy.ChatAdapter):
    """A user's adapter with a layout of its own."""

    def format_field_structure(self, signature: Any) -> str:
        return "Answer with one bullet per output field."


def _lm(server: Server, **kwargs: Any) -> lift_dspy.GuidanceLM:
    settings: dict[str, Any] = {
        "temperature": 1.0,
        "max_tokens": 600,
        "max_text_chars": 60,
        "num_retries": 0,
        "cache": False,
        **kwargs,
    }
    return lift_dspy.GuidanceLM(server.model, api_base=server.api_base, **settings)


def _constrained(lm: lift_dspy.GuidanceLM) -> list[dict[str, Any]]:
    """The lift_dspy record of every history entry (KeyError: an unconstrained call)."""
    return [entry["lift_dspy"] for entry in lm.history]


def test_subclassed_chat_adapter_xml_and_override_are_constrained(tiny_server: Server) -> None:
    lm = _lm(tiny_server)
    dspy.configure(lm=lm, adapter=MyChat())
    assert isinstance(dspy.Predict(Count)(text="one two").count, int)
    # A per-call override: the grammar is the rendered signature's, sync and async.
    override = dspy.Predict(Count)(signature=Sentiment, text="fine")
    assert override.sentiment in {"positive", "negative", "neutral"}
    labelled = asyncio.run(dspy.ChainOfThought(Count).acall(signature=Sentiment, text="ok"))
    assert labelled.sentiment in {"positive", "negative", "neutral"}

    dspy.configure(adapter=dspy.XMLAdapter())
    report = dspy.Predict(Report)(text="a short text")
    assert isinstance(report.summary, str)
    assert isinstance(report.count, int)
    assert set(report.tags) <= {"a", "b"}
    assert report.sentiment in {"positive", "negative"}

    records = _constrained(lm)
    assert [(r["signature"], r["format"]) for r in records] == [
        ("Count", "chat"),
        ("Sentiment", "chat"),
        ("Sentiment", "chat"),
        ("Report", "xml"),
    ]

    dspy.configure(adapter=Bulleted())
    before = len(lm.history)
    with pytest.raises(lift_dspy.UnconstrainedCallError, match="Bulleted"):
        dspy.Predict(Count)(text="one")
    assert len(lm.history) == before  # nothing was sent


class Counter(dspy.Module):
    """A small program: Refine puts its source in the feedback prompt (the tiny model has 2k tokens)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = dspy.Predict(Count)

    def forward(self, text: str) -> dspy.Prediction:
        return self.count(text=text)


def never(args: Any, pred: Any) -> float:
    return 0.0


def test_refine_retries_are_constrained(tiny_server: Server) -> None:
    from dspy.clients.base_lm import GLOBAL_HISTORY

    lm = _lm(tiny_server, max_tokens=400, max_text_chars=40)
    dspy.configure(lm=lm)
    refine = dspy.Refine(module=Counter(), N=2, reward_fn=never, threshold=1.0)
    before = {id(entry) for entry in GLOBAL_HISTORY}
    result = refine(text="one two three")
    assert isinstance(result.count, int)
    # Refine runs the module on copies of the LM: read every LM's history.
    entries = [entry for entry in GLOBAL_HISTORY if id(entry) not in before]
    records = [entry["lift_dspy"] for entry in entries]  # KeyError: an unconstrained call
    # The module, Refine's OfferFeedback, then the retry through Refine's WrapperAdapter: its
    # signature is Count plus a hint_ input (DSPy names appended signatures StringSignature).
    assert [r["signature"] for r in records[:2]] == ["Count", "OfferFeedback"]
    assert len(records) == 3
    assert records[2]["format"] == "chat"
    assert "hint_" in entries[2]["messages"][0]["content"]
