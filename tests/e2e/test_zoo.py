"""The signature zoo against a real vLLM server (guidance backend) with a random-weight model.

Random weights + constraint = valid output: with temperature 1.0 the tiny model samples freely
among whatever the grammar allows, so every answer parsing and validating is a true conformance
test of the grammar, the server and lift-dspy's validation together.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dspy
import pytest
from zoo import INPUTS, ZOO

import lift_dspy
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm

SAMPLES = 20
ADAPTERS = {"chat": None, "json": dspy.JSONAdapter()}
MODULES = {"Predict": dspy.Predict, "ChainOfThought": dspy.ChainOfThought}


def _lm(server: Server) -> lift_dspy.GuidanceLM:
    # rollout_id varies per sample so DSPy's cache never answers twice; 120-character text bound
    # so a random model's free text always terminates.
    return lift_dspy.GuidanceLM(
        server.model,
        api_base=server.api_base,
        temperature=1.0,
        max_tokens=1200,
        max_text_chars=120,
        cache=False,
        num_retries=0,
    )


def _check(signature: Any, prediction: dspy.Prediction) -> None:
    model = lift_dspy.output_model(signature)
    values = {name: prediction[name] for name in signature.output_fields}
    model.model_validate(values)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("module", sorted(MODULES))
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_sample_parses_and_validates(
    tiny_server: Server, name: str, adapter: str, module: str, mode: str
) -> None:
    signature, inputs = ZOO[name], INPUTS[name]
    lm = _lm(tiny_server)
    program = MODULES[module](signature)

    if mode == "sync":

        def one(i: int) -> dspy.Prediction:
            with dspy.context(lm=lm, adapter=ADAPTERS[adapter]):
                return program(**inputs, config={"rollout_id": i})

        with ThreadPoolExecutor(max_workers=10) as pool:
            predictions = list(pool.map(one, range(SAMPLES)))
    else:

        async def run() -> list[dspy.Prediction]:
            with dspy.context(lm=lm, adapter=ADAPTERS[adapter]):
                calls = [program.acall(**inputs, config={"rollout_id": i}) for i in range(SAMPLES)]
                return list(await asyncio.gather(*calls))

        predictions = asyncio.run(run())

    assert len(predictions) == SAMPLES
    for prediction in predictions:
        _check(signature, prediction)
    stats = lm.stats()["total"]
    assert stats["ok"] == SAMPLES, stats
