"""Derived list bounds against a real vLLM server (the random-weight tiny model).

Greedy, the tiny model keeps adding items to an unbounded list until ``max_tokens`` cuts it off.
With the bound derived from ``max_tokens`` (the default) the grammar closes the list in time and
the answer ends valid; ``derive_bounds=False`` shows the loop.
"""

from __future__ import annotations

from typing import Any, Literal

import dspy
import pytest

import lift_dspy
from lift_dspy.errors import TruncatedOutputError
from lift_dspy.server.process import Server

pytestmark = pytest.mark.vllm

MAX_TOKENS = 120
LIMIT = MAX_TOKENS // (2 * 1 * 3)  # one collection; shortest item '"ok"' + separator: 1 + 2 tokens


class Flags(dspy.Signature):
    """Flag every step."""

    steps: str = dspy.InputField()
    flags: list[Literal["ok", "bad"]] = dspy.OutputField()


def _lm(server: Server, **kwargs: Any) -> lift_dspy.GuidanceLM:
    return lift_dspy.GuidanceLM(
        server.model, api_base=server.api_base, max_tokens=MAX_TOKENS, temperature=0.0, cache=False, **kwargs
    )


@pytest.mark.parametrize("adapter", [dspy.ChatAdapter(), dspy.JSONAdapter()], ids=["chat", "json"])
def test_a_looping_list_ends_valid_within_max_tokens(tiny_server: Server, adapter: Any) -> None:
    lm = _lm(tiny_server)
    with dspy.context(lm=lm, adapter=adapter):
        for steps in ("a, b, c", "one two three four"):
            flags = dspy.Predict(Flags)(steps=steps).flags
            assert len(flags) <= LIMIT
            assert set(flags) <= {"ok", "bad"}
            assert lm.history[-1]["usage"]["completion_tokens"] < MAX_TOKENS
    assert f'"maxItems": {LIMIT}' in str(lm.history[-1]["lift_dspy"]["structured_outputs"]).replace("'", '"')
    if isinstance(adapter, dspy.ChatAdapter):  # the same call without the derived bound loops
        with dspy.context(lm=_lm(tiny_server, derive_bounds=False)), pytest.raises(TruncatedOutputError):
            dspy.Predict(Flags)(steps="a, b, c")
