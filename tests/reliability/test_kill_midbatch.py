"""A vLLM server killed (SIGKILL, whole process group) in the middle of a ``dspy.Parallel`` batch.

Nothing is lost: each of the 200 items ends as a valid result or a recorded, typed error, and a
rerun of only the failed items completes them once the server is back on the same port (with the
same LM object, whose pooled connections to the dead server are stale).

The server killed is the session's pooled tiny server; the pool restarts it on the same port, as it
does for any pooled server found dead, so the tests after this one are not affected and no extra
vLLM server (~3 GB, 0.5-5 min to start on this machine) is needed.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import dspy
import pytest
from figures import record
from servers import SERVER_FIXTURES, ServerPool
from zoo import Sentiment

import lift_dspy
from lift_dspy.server.process import Server

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

ITEMS = 200
KILL_AFTER = 60  # results completed before the kill


class CountingPredict(dspy.Module):
    """``dspy.Predict(Sentiment)`` that sets ``reached`` once ``limit`` calls have succeeded."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.predict = dspy.Predict(Sentiment)
        self.limit = limit
        self.succeeded = 0
        self.reached = threading.Event()
        self._lock = threading.Lock()

    def forward(self, text: str) -> dspy.Prediction:
        prediction = self.predict(text=text)
        with self._lock:
            self.succeeded += 1
            if self.succeeded >= self.limit:
                self.reached.set()
        return prediction


def _parallel() -> dspy.Parallel:
    # max_errors above the batch size: with DSPy's default (10) the batch is cancelled on the 10th
    # error and *every* result is discarded (it raises "Execution cancelled").
    return dspy.Parallel(
        num_threads=8, max_errors=ITEMS + 1, return_failed_examples=True, disable_progress_bar=True
    )


@pytest.mark.timeout(2400)
def test_killed_server_loses_no_item_and_failed_items_rerun(
    live_tiny_server: Server, server_pool: ServerPool
) -> None:
    server = live_tiny_server
    if server.pid == 0:
        pytest.skip("external tiny server (LIFT_DSPY_TINY_API_BASE): not ours to kill")
    figures: dict[str, Any] = {}
    try:
        lm = lift_dspy.GuidanceLM(
            server.model,
            api_base=server.api_base,
            temperature=1.0,
            max_tokens=64,
            max_text_chars=120,
            num_retries=1,
            cache=False,
            timeout=120,
        )
        program = CountingPredict(KILL_AFTER)
        examples = [
            dspy.Example(text=f"ticket #{i}: checkout fails").with_inputs("text") for i in range(ITEMS)
        ]

        def kill_when_reached() -> None:
            program.reached.wait()
            os.killpg(server.pid, signal.SIGKILL)  # the API server and its engine core, at once

        killer = threading.Thread(target=kill_when_reached, daemon=True)
        killer.start()
        with dspy.context(lm=lm):
            results, failed, errors = _parallel()([(program, example) for example in examples])
        killer.join(timeout=60)
        assert not killer.is_alive()

        # Every item is accounted for: a valid result or a recorded, typed error; never both, never neither.
        succeeded = {i for i, result in enumerate(results) if result is not None}
        failed_ids = {int(example.text.split("#")[1].split(":")[0]) for example in failed}
        assert len(failed) == len(errors) == len(failed_ids)
        assert succeeded.isdisjoint(failed_ids)
        assert succeeded | failed_ids == set(range(ITEMS))
        assert all(results[i].sentiment in ("positive", "negative", "neutral") for i in succeeded)
        assert all(isinstance(error, lift_dspy.BackendUnavailableError) for error in errors), {
            type(error).__name__ for error in errors
        }
        assert len(succeeded) >= KILL_AFTER
        assert failed_ids, "the kill happened after the batch: nothing was in flight"
        figures.update(
            succeeded=len(succeeded), failed=len(failed_ids), lost=ITEMS - len(succeeded | failed_ids)
        )

        # The pool finds the server dead and restarts it on the same port; rerun only the failed
        # items, with the same LM object (its pooled connections to the dead server are stale).
        started = time.monotonic()
        model, backend, options = SERVER_FIXTURES["tiny_server"]
        restarted = server_pool.get(model, backend=backend, options=options)
        figures["server restart on the same port (s)"] = round(time.monotonic() - started, 1)
        assert restarted.api_base == server.api_base
        assert restarted.pid != server.pid
        with dspy.context(lm=lm):
            rerun, still_failed, _ = _parallel()([(program, example) for example in failed])
        assert still_failed == []
        assert all(result.sentiment in ("positive", "negative", "neutral") for result in rerun)
        figures["rerun completed"] = len(rerun)
        figures["total completed"] = len(succeeded) + len(rerun)
        assert len(succeeded) + len(rerun) == ITEMS
    finally:
        record(f"server killed mid-batch ({ITEMS} items, dspy.Parallel)", figures)
