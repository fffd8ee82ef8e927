"""What DSPy users rely on keeps working, constrained: state, copies, callbacks, batching, fallback."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback
from fakes import FakeVLLM
from zoo import Count

import lift_dspy

ANSWER = "[[ ## count ## ]]\n{n}\n\n[[ ## completed ## ]]"


def test_dump_and_load_state_round_trip_without_secrets() -> None:
    fake = FakeVLLM()
    lm = fake.lm(api_key="sk-do-not-save", temperature=0.3, max_text_chars=77, lenient=True)
    state = lm.dump_state()
    assert "sk-do-not-save" not in json.dumps(state)
    loaded = lift_dspy.GuidanceLM.load_state(state)
    assert isinstance(loaded, lift_dspy.GuidanceLM)
    assert loaded.model == lm.model
    assert loaded.config.api_base == lm.config.api_base
    assert loaded.config.options == lm.config.options
    assert loaded.kwargs["temperature"] == 0.3


def test_program_save_and_load_keeps_the_lm(tmp_path: Path) -> None:
    fake = FakeVLLM([ANSWER.format(n=2)])
    program = dspy.Predict(Count)
    program.set_lm(fake.lm(api_key="sk-secret"))
    path = tmp_path / "program.json"
    program.save(path)
    assert "sk-secret" not in path.read_text()
    restored = dspy.Predict(Count)
    restored.load(path, allow_unsafe_lm_state=True)
    assert isinstance(restored.lm, lift_dspy.GuidanceLM)


def test_copy_shares_settings_not_connections() -> None:
    fake = FakeVLLM([ANSWER.format(n=1), ANSWER.format(n=2)])
    lm = fake.lm()
    other = lm.copy(temperature=0.9)
    assert other.kwargs["temperature"] == 0.9
    assert other.config == lm.config
    dspy.configure(lm=lm)
    assert dspy.Predict(Count)(text="a").count == 1
    with dspy.context(lm=other):
        assert dspy.Predict(Count)(text="a").count == 2
    assert fake.payloads[1]["temperature"] == 0.9


def test_callbacks_fire_and_history_records_usage() -> None:
    events: list[str] = []

    class Recorder(BaseCallback):
        def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
            events.append("start")

        def on_lm_end(self, call_id: str, outputs: Any, exception: Exception | None = None) -> None:
            events.append("end")

    fake = FakeVLLM([ANSWER.format(n=4)])
    lm = fake.lm(callbacks=[Recorder()])
    dspy.configure(lm=lm)
    assert dspy.Predict(Count)(text="a").count == 4
    assert events == ["start", "end"]
    usage = lm.history[-1]["usage"]
    assert usage.get("completion_tokens") == 7 or usage.get("output_tokens") == 7


def test_parallel_batch_and_asyncify_are_constrained() -> None:
    fake = FakeVLLM([ANSWER.format(n=i) for i in range(6)])
    dspy.configure(lm=fake.lm())
    program = dspy.Predict(Count)
    examples = [dspy.Example(text=f"t{i}").with_inputs("text") for i in range(4)]
    results = program.batch(examples, num_threads=2)
    assert sorted(r.count for r in results) == [0, 1, 2, 3]
    assert asyncio.run(dspy.asyncify(program)(text="x")).count in (4, 5)
    assert all("structured_outputs" in p for p in fake.payloads)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_fallback_answers_when_the_primary_is_down_and_says_so() -> None:
    backup = FakeVLLM([ANSWER.format(n=9)])
    lm = lift_dspy.GuidanceLM(
        "m",
        api_base=f"http://127.0.0.1:{_closed_port()}/v1",
        fallback=backup.lm(),
        cache=False,
        num_retries=0,
    )
    dspy.configure(lm=lm)
    assert dspy.Predict(Count)(text="a").count == 9
    # The fallback (a GuidanceLM too) was constrained by the same signature.
    assert backup.payloads[0]["structured_outputs"] == lift_dspy.constraint_for(Count)
    assert lm.stats()["Count/chat"]["errors"] == {"BackendUnavailableError": 1}
    assert lm.history[-1]["response"].provider_data["lift_dspy"]["fallback"] == "test-model"


def test_a_guidance_lm_pickles_without_its_key() -> None:
    import pickle

    lm = FakeVLLM().lm(api_key="sk-not-in-pickle")
    data = pickle.dumps(lm.stats_collector) + pickle.dumps(lm._engine_spec)
    assert b"sk-not-in-pickle" not in data
    assert pickle.loads(pickle.dumps(lm.stats_collector)).summary()["total"]["calls"] == 0
