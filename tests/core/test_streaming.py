"""dspy.streamify: field values stream as they are generated; the final answer is validated."""

from __future__ import annotations

import asyncio

import dspy
import pytest
from dspy.streaming import StreamListener, StreamResponse
from fakes import FakeVLLM
from zoo import Count, Essay

import lift_dspy


def _run(program: object, **inputs: object) -> tuple[list[object], list[object]]:
    async def collect() -> tuple[list[object], list[object]]:
        chunks, predictions = [], []
        async for item in program(**inputs):  # type: ignore[operator]
            (predictions if isinstance(item, dspy.Prediction) else chunks).append(item)
        return chunks, predictions

    return asyncio.run(collect())


def test_streamed_field_values_and_validated_prediction() -> None:
    text = "[[ ## essay ## ]]\nTests catch regressions early and document intent.\n\n[[ ## completed ## ]]"
    fake = FakeVLLM([text])
    dspy.configure(lm=fake.lm())
    program = dspy.streamify(
        dspy.Predict(Essay), stream_listeners=[StreamListener(signature_field_name="essay")]
    )
    chunks, predictions = _run(program, topic="tests")
    assert fake.payloads[0]["stream"] is True
    assert "structured_outputs" in fake.payloads[0]
    streamed = "".join(c.chunk for c in chunks if isinstance(c, StreamResponse))
    assert "regressions" in streamed
    assert predictions[-1].essay == "Tests catch regressions early and document intent."


def test_a_stream_that_breaks_the_constraint_raises_at_the_end() -> None:
    fake = FakeVLLM(["[[ ## count ## ]]\nmany\n\n[[ ## completed ## ]]"])
    dspy.configure(lm=fake.lm())
    program = dspy.streamify(dspy.Predict(Count))
    with pytest.raises(lift_dspy.ConstraintViolationError):
        _run(program, text="a b")
