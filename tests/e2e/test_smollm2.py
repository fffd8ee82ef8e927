"""SmolLM2-135M-Instruct on the real server: answers that make sense, not only the right shape."""

from __future__ import annotations

from typing import Literal

import dspy
import pytest
from zoo import INPUTS, ZOO

import lift_dspy
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm


class Review(dspy.Signature):
    """Classify the sentiment of the review."""

    review: str = dspy.InputField()
    sentiment: Literal["positive", "negative"] = dspy.OutputField()


class Capital(dspy.Signature):
    """Answer with the name of the capital city."""

    country: str = dspy.InputField()
    capital: str = dspy.OutputField()


def _lm(server: Server) -> lift_dspy.GuidanceLM:
    return lift_dspy.GuidanceLM(
        server.model,
        api_base=server.api_base,
        temperature=0.0,
        max_tokens=400,
        max_text_chars=300,
        cache=False,
    )


def test_answers_make_sense(smollm2_server: Server) -> None:
    dspy.configure(lm=_lm(smollm2_server), adapter=dspy.JSONAdapter())
    checks = [
        (
            dspy.Predict(Review)(review="I love it. Wonderful, amazing, the best purchase ever!").sentiment,
            "positive",
        ),
        (dspy.ChainOfThought(Review)(review="I love it. Wonderful, amazing!").sentiment, "positive"),
        (
            dspy.ChainOfThought(Review)(review="Terrible. It broke after one day, I hate it.").sentiment,
            "negative",
        ),
        (dspy.Predict(Capital)(country="France").capital, "Paris"),
        (dspy.ChainOfThought(Capital)(country="France").capital, "Paris"),
        (dspy.ChainOfThought(Capital)(country="Japan").capital, "Tokyo"),
    ]
    sensible = [want.lower() in str(got).lower() for got, want in checks]
    # A 135M model is not an oracle: most, not all, answers must be right.
    assert sum(sensible) >= 4, checks


@pytest.mark.parametrize("adapter", [None, dspy.JSONAdapter()], ids=["chat", "json"])
def test_zoo_shapes_on_a_real_model(smollm2_server: Server, adapter: object) -> None:
    lm = _lm(smollm2_server)
    dspy.configure(lm=lm, adapter=adapter)
    for name in sorted(ZOO):
        prediction = dspy.Predict(ZOO[name])(**INPUTS[name])
        lift_dspy.output_model(ZOO[name]).model_validate({k: prediction[k] for k in ZOO[name].output_fields})
    assert lm.stats()["total"]["ok"] == len(ZOO)
