"""Several vLLM replicas behind vLLM's own router (``vllm-router``) on one endpoint.

`start_replicas` starts N workers, one at a time (two vLLM start-ups side by side on a busy CPU can
stall each other), each on its own port with its own log, then ``vllm-router`` in front of them.
Clients use the router's ``api_base`` exactly like a single server: it forwards
``structured_outputs`` untouched, retries a failed request on another worker, opens a circuit
breaker on a failing worker and marks a worker that fails its ``/health`` checks unhealthy.
`start_router` puts a router in front of workers that already run (e.g. to compare policies on the
same replicas). Everything runs in its own process group and is stopped by ``stop()``, on Ctrl-C,
on SIGTERM inside `lift_dspy.server.serve`, and when a start fails half-way.

The router comes with ``pip install 'lift-dspy[scale]'``.

Example:
    >>> from lift_dspy.server import serve
    >>> with serve("tiny", replicas=2, router_policy="cache_aware") as fleet:  # doctest: +SKIP
    ...     fleet.api_base, [w.api_base for w in fleet.workers], fleet.router.pid
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit

import httpx

from lift_dspy.errors import ServerStartError
from lift_dspy.server.models import cache_root
from lift_dspy.server.process import ManagedServer, Server, start_server
from lift_dspy.server.procgroup import ManagedChild, spawn_logged
from lift_dspy.server.procgroup import free_port as _free_port
from lift_dspy.server.procgroup import port_free as _port_free

__all__ = [
    "ROUTER_POLICIES",
    "ManagedReplicas",
    "ManagedRouter",
    "Replicas",
    "Router",
    "RouterPolicy",
    "build_router_command",
    "start_replicas",
    "start_router",
]

logger = logging.getLogger(__name__)

RouterPolicy = Literal["cache_aware", "round_robin", "power_of_two", "consistent_hash", "random"]
ROUTER_POLICIES: tuple[str, ...] = ("cache_aware", "round_robin", "power_of_two", "consistent_hash", "random")
SCALE_HINT = "pip install 'lift-dspy[scale]' (vllm-router)"
# A worker that stops answering /health is out of rotation after about 2 x 5 s.
HEALTH_ARGS = ("--health-check-interval-secs", "5", "--health-failure-threshold", "2")


@dataclass(frozen=True)
class Router:
    """A running ``vllm-router``.

    Attributes:
        api_base: The OpenAI-style base URL clients use, ending in ``/v1``.
        pid: Process id (also its process-group id).
        log_path: The router's output.
        policy: The routing policy, e.g. ``"cache_aware"``.
        metrics_url: The router's Prometheus endpoint (requests, retries, worker health).
        worker_urls: The workers it routes to (without ``/v1``).
    """

    api_base: str
    pid: int
    log_path: Path
    policy: str
    metrics_url: str
    worker_urls: tuple[str, ...]

    @property
    def url(self) -> str:
        """The router's root URL (its ``/workers``, ``/health`` and ``/readiness`` live there)."""
        return self.api_base.removesuffix("/v1")


@dataclass(frozen=True)
class Replicas:
    """N vLLM workers behind one router; ``api_base`` is the router's.

    Attributes:
        api_base: The router's base URL: point `lift_dspy.GuidanceLM` here.
        model: The served model name.
        backend: The workers' structured-output backend.
        workers: One `Server` per worker (``api_base``, ``pid``, ``log_path``).
        router: The `Router` in front of them.
    """

    api_base: str
    model: str
    backend: str
    workers: tuple[Server, ...]
    router: Router

    @property
    def pid(self) -> int:
        """The router's process id."""
        return self.router.pid

    @property
    def log_path(self) -> Path:
        """The router's log (each worker has its own, see ``workers``)."""
        return self.router.log_path

    @property
    def port(self) -> int:
        """The router's port on 127.0.0.1."""
        return int(urlsplit(self.api_base).port or 0)


class ManagedRouter(ManagedChild):
    """A ``vllm-router`` child process owned by this process; `stop` ends its process group."""

    kind = "vllm-router"
    grace = 10.0

    def __init__(self, router: Router, process: subprocess.Popen[bytes], log_file: IO[bytes]) -> None:
        super().__init__(process, log_file, router.log_path, router.api_base)
        self.router = router

    def __enter__(self) -> Router:
        return self.router

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ManagedReplicas:
    """Workers and router owned by this process; `stop` stops the router, then every worker."""

    def __init__(self, server: Replicas, workers: Sequence[ManagedServer], router: ManagedRouter) -> None:
        self.server = server
        self.workers = tuple(workers)
        self.router = router

    @property
    def running(self) -> bool:
        """True while the router and at least one worker run."""
        return self.router.running and any(w.running for w in self.workers)

    @property
    def returncode(self) -> int | None:
        """The router's exit code if it exited, else a dead worker's when none is left, else None."""
        if self.router.returncode is not None:
            return self.router.returncode
        codes = [w.returncode for w in self.workers]
        return codes[0] if all(code is not None for code in codes) else None

    def dead_workers(self) -> list[Server]:
        """The workers whose process has exited."""
        return [w.server for w in self.workers if w.returncode is not None]

    def stop(self, *, grace: float = 15.0) -> None:
        """Stop the router first (no new requests), then the workers."""
        self.router.stop()
        for worker in self.workers:
            worker.stop(grace=grace)

    def log_tail(self, chars: int = 4000) -> str:
        """The router log's end, then each exited worker's."""
        parts = [f"== router {self.server.router.log_path}\n{self.router.log_tail(chars)}"]
        for worker in self.workers:
            if worker.returncode is not None:
                parts.append(f"== worker {worker.server.log_path}\n{worker.log_tail(chars)}")
        return "\n".join(parts)

    def __enter__(self) -> Replicas:
        return self.server

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_router_command(
    worker_urls: Sequence[str],
    *,
    port: int,
    policy: str,
    metrics_port: int,
    python: str | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """Return the argv that starts ``vllm-router`` on 127.0.0.1:``port`` in front of ``worker_urls``."""
    _check_policy(policy)
    urls = [_root(url) for url in worker_urls]
    cmd = [python or sys.executable, "-m", "vllm_router.launch_router", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--worker-urls", *urls, "--policy", policy]
    cmd += ["--prometheus-host", "127.0.0.1", "--prometheus-port", str(metrics_port), *HEALTH_ARGS]
    return [*cmd, *extra_args]


def start_router(
    worker_urls: Sequence[str],
    *,
    model: str,
    policy: str = "cache_aware",
    port: int | None = None,
    log_path: str | os.PathLike[str] | None = None,
    startup_timeout: float = 120.0,
    python: str | None = None,
    extra_args: Sequence[str] = (),
    progress: bool | None = None,
) -> ManagedRouter:
    """Start ``vllm-router`` in front of running workers; return once it serves ``model``.

    Args:
        worker_urls: The workers' base URLs (``/v1`` is dropped: the router wants roots).
        model: A model the workers serve; the router is ready when its ``/v1/models`` lists it.
        policy: One of `ROUTER_POLICIES`; ``cache_aware`` sends a prompt to the worker that
            already holds its longest prefix (KV and compiled-grammar caches stay warm).
        port: Port on 127.0.0.1; a free one by default.
        log_path: Router output; default ``<cache>/logs/vllm-router-<port>.log``.
        startup_timeout: Seconds to wait for it to answer.
        python: Interpreter that has ``vllm_router``; default this one.
        extra_args: More ``vllm-router`` arguments (appended last, so they win), e.g.
            ``["--retry-max-retries", "3"]``.
        progress: Show what is waited for on stderr (see `lift_dspy.server.progress`).

    Raises:
        ServerStartError: ``vllm-router`` is not installed, exited or did not answer in time.
    """
    python = python or sys.executable
    if python == sys.executable and importlib.util.find_spec("vllm_router") is None:
        raise ServerStartError(f"vllm-router is not installed for {python}: {SCALE_HINT}")
    if port is not None and not _port_free(port):
        raise ServerStartError(f"port {port} on 127.0.0.1 is already in use; pass another or omit it")
    chosen = port if port is not None else _free_port()
    metrics_port = _free_port()
    cmd = build_router_command(
        worker_urls, port=chosen, policy=policy, metrics_port=metrics_port, python=python,
        extra_args=extra_args,
    )  # fmt: skip
    path = Path(log_path) if log_path else cache_root() / "logs" / f"vllm-router-{chosen}.log"
    process, log_file = spawn_logged(cmd, path, {**os.environ, "NO_COLOR": "1"})
    router = Router(
        api_base=f"http://127.0.0.1:{chosen}/v1",
        pid=process.pid,
        log_path=path,
        policy=policy,
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        worker_urls=tuple(_root(url) for url in worker_urls),
    )
    managed = ManagedRouter(router, process, log_file)
    count = f"{len(worker_urls)} worker{'s' if len(worker_urls) != 1 else ''}"
    what = f"starting vllm-router ({policy}, {count}) at {router.api_base}"
    managed.start_up(
        what, lambda: _wait_router(managed, model, len(worker_urls), startup_timeout), progress=progress
    )
    logger.info("vllm-router (%s) ready at %s for %s", policy, router.api_base, ", ".join(router.worker_urls))
    return managed


def start_replicas(
    model: str = "smollm2",
    *,
    replicas: int = 2,
    router_policy: str = "cache_aware",
    backend: str = "guidance",
    port: int | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    startup_timeout: float = 600.0,
    router_args: Sequence[str] = (),
    progress: bool | None = None,
    worker_env: Sequence[Mapping[str, str]] | None = None,
    **worker_options: Any,
) -> ManagedReplicas:
    """Start ``replicas`` vLLM workers one after another, then ``vllm-router`` in front of them.

    Args:
        model: As for `lift_dspy.server.start_server`.
        replicas: Number of workers (>= 1; one worker behind a router is allowed).
        router_policy: One of `ROUTER_POLICIES`.
        backend: Structured-output backend of every worker.
        port: The router's port on 127.0.0.1 (workers get free ports).
        log_dir: Directory for ``worker-<i>-<port>.log`` and ``router-<port>.log``;
            default ``<cache>/logs``.
        startup_timeout: Seconds allowed for each worker (and the router) to answer.
        router_args: More ``vllm-router`` arguments.
        progress: Show what is prepared or waited for on stderr.
        worker_env: One mapping of extra environment variables per worker. On a CPU host vLLM
            pins each engine to cores it picks alone (every worker picked core 0 here), so give
            each replica its own cores, e.g. ``[{"VLLM_CPU_OMP_THREADS_BIND": "0"},
            {"VLLM_CPU_OMP_THREADS_BIND": "1"}]``.
        **worker_options: Passed to every `start_server` call (``extra_args``, ``max_model_len``,
            ``structured_outputs``, ``device``, ``python``, ``launcher``, ...).

    Raises:
        ValueError: ``replicas < 1`` or an unknown policy.
        ServerStartError: a worker or the router did not come up; whatever started is stopped.
    """
    if replicas < 1:
        raise ValueError(f"replicas must be >= 1, got {replicas}")
    if worker_env is not None and len(worker_env) != replicas:
        raise ValueError(f"worker_env has {len(worker_env)} entries for {replicas} replicas")
    _check_policy(router_policy)
    if importlib.util.find_spec("vllm_router") is None:
        raise ServerStartError(f"replicas need vLLM's router, which is not installed: {SCALE_HINT}")
    if port is not None and not _port_free(port):
        raise ServerStartError(f"port {port} on 127.0.0.1 is already in use; pass another or omit it")
    logs = Path(log_dir) if log_dir else cache_root() / "logs"
    workers: list[ManagedServer] = []
    try:
        for index in range(replicas):
            worker_port = _free_port()
            logger.info("Starting worker %d/%d on port %d", index + 1, replicas, worker_port)
            workers.append(
                start_server(
                    model,
                    backend=backend,
                    port=worker_port,
                    log_path=logs / f"worker-{index}-{worker_port}.log",
                    startup_timeout=startup_timeout,
                    progress=progress,
                    env=worker_env[index] if worker_env is not None else None,
                    **worker_options,
                )
            )
        router_port = port if port is not None else _free_port()
        router = start_router(
            [w.server.api_base for w in workers],
            model=workers[0].server.model,
            policy=router_policy,
            port=router_port,
            log_path=logs / f"router-{router_port}.log",
            startup_timeout=min(startup_timeout, 300.0),
            extra_args=router_args,
            progress=progress,
        )
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    fleet = Replicas(
        api_base=router.router.api_base,
        model=workers[0].server.model,
        backend=backend,
        workers=tuple(w.server for w in workers),
        router=router.router,
    )
    return ManagedReplicas(fleet, workers, router)


def _wait_router(managed: ManagedRouter, model: str, workers: int, timeout: float) -> None:
    router = managed.router

    def routes_to_every_worker(client: httpx.Client) -> bool:
        ready = client.get(f"{router.url}/readiness")
        models = client.get(f"{router.api_base}/models")
        healthy = ready.status_code == 200 and ready.json().get("healthy_workers", 0) >= workers
        return healthy and models.status_code == 200 and _serves(models, model)

    managed.wait_ready(
        routes_to_every_worker,
        name="vllm-router",
        waiting_for=f"become ready at {router.api_base}",
        timeout=timeout,
        poll=0.3,
        request_timeout=3.0,
    )


def _serves(resp: httpx.Response, model: str) -> bool:
    try:
        return any(item.get("id") == model for item in resp.json().get("data", []))
    except (ValueError, AttributeError):
        return False


def _root(url: str) -> str:
    return url.rstrip("/").removesuffix("/v1")


def _check_policy(policy: str) -> None:
    if policy not in ROUTER_POLICIES:
        raise ValueError(f"unknown router policy {policy!r}: choose one of {', '.join(ROUTER_POLICIES)}")
