"""A deep copy of a GuidanceLM (``program.deepcopy()``, which every optimizer does) behaves like the LM.

Found while writing docs/guides/state.md: the copy kept a frozen snapshot of the statistics while
its engines recorded into the original's, and the copied engines dropped a custom ``transport=``.
"""

from __future__ import annotations

import copy

import dspy
from fakes import FakeVLLM
from zoo import Count

ANSWER = "[[ ## count ## ]]\n{n}\n\n[[ ## completed ## ]]"


def test_a_deep_copy_reports_the_calls_its_engine_records() -> None:
    fake = FakeVLLM([ANSWER.format(n=1)])
    lm = fake.lm()
    copied = copy.deepcopy(lm)
    assert copied.stats_collector is copied._engine_spec.stats
    assert copied.stats_collector is copied._async_engine_spec.stats
    with dspy.context(lm=copied):
        dspy.Predict(Count)(text="a")
    # Copies share their statistics with the original (as their engines always did).
    assert copied.stats()["total"]["calls"] == lm.stats()["total"]["calls"] == 1


def test_an_unpickled_lm_counts_sync_and_async_calls_together() -> None:
    import pickle

    restored = pickle.loads(pickle.dumps(FakeVLLM().lm()))
    assert restored._async_engine_spec.stats is restored._engine_spec.stats is restored.stats_collector


def test_a_deep_copy_keeps_the_custom_transport() -> None:
    fake = FakeVLLM([ANSWER.format(n=3)])
    program = dspy.Predict(Count)
    program.set_lm(fake.lm())
    copied = program.deepcopy()
    assert copied.lm._engine_spec._transport is program.lm._engine_spec._transport
    assert copied.lm._async_engine_spec._transport is program.lm._async_engine_spec._transport
