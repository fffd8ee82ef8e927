"""Process groups and local ports: the plumbing under every managed server and router.

A managed child runs in its own session (``start_new_session=True``), so its pid is also its
process-group id and `terminate_group` reaches every process it spawned (vLLM's engine core).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, ClassVar

import httpx

from lift_dspy.errors import ServerStartError
from lift_dspy.server.progress import Progress

__all__ = ["ManagedChild", "free_port", "group_alive", "port_free", "spawn_logged", "tail", "terminate_group"]

logger = logging.getLogger(__name__)


def terminate_group(process: subprocess.Popen[bytes], *, grace: float = 15.0) -> None:
    """SIGTERM the process group led by ``process``, wait up to ``grace`` s, then SIGKILL what is left."""
    pgid = process.pid
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if process.poll() is None or group_alive(pgid):
        logger.warning("vLLM process group %d ignored SIGTERM for %.0f s; killing it", pgid, grace)
        _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        end = time.monotonic() + 5
        while group_alive(pgid) and time.monotonic() < end:
            time.sleep(0.1)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """True if a live (non-zombie) process of group ``pgid`` remains."""
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - non-Linux
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, pgrp, ...
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like vLLM's own listener: connections in TIME_WAIT from a previous run do not block it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def spawn_logged(
    cmd: list[str], log_path: Path, env: Mapping[str, str]
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """Start ``cmd`` in its own session, its stdout and stderr going to ``log_path`` after a first
    line that records the command; return the process and the open log file.

    Raises:
        ServerStartError: the program could not be run (missing or not executable).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("wb")
    log_file.write(f"# lift-dspy: {shlex.join(cmd)}\n".encode())
    log_file.flush()
    try:
        process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=dict(env),
            start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        log_file.close()
        raise ServerStartError(f"could not run {cmd[0]!r}: {exc}", log_path=str(log_path)) from exc
    return process, log_file


def tail(path: Path, chars: int) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - chars))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"


class ManagedChild:
    """A child process in its own process group, owned by this process, with its open log file.

    `stop` ends the whole group once (SIGTERM, then SIGKILL after a grace period) and closes the log;
    subclasses name what they run (``kind``) and may clean up more in `_cleanup`.
    """

    kind: ClassVar[str] = "process"
    grace: ClassVar[float] = 15.0

    def __init__(
        self, process: subprocess.Popen[bytes], log_file: IO[bytes], log_path: Path, url: str
    ) -> None:
        self._process = process
        self._log_file = log_file
        self._log_path = Path(log_path)
        self._url = url
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def running(self) -> bool:
        """True while the process is alive and not stopped."""
        return not self._stopped and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The process's exit code, or None while it runs."""
        return self._process.poll()

    def stop(self, *, grace: float | None = None) -> None:
        """SIGTERM the process group, then SIGKILL after ``grace`` seconds (the class default if None)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            terminate_group(self._process, grace=self.grace if grace is None else grace)
            self._log_file.close()
            self._cleanup()
        logger.info("Stopped %s %s (pid %d)", self.kind, self._url, self._process.pid)

    def log_tail(self, chars: int = 4000) -> str:
        """Return the end of the log."""
        return tail(self._log_path, chars)

    def wait_ready(
        self,
        is_ready: Callable[[httpx.Client], bool],
        *,
        name: str,
        waiting_for: str,
        timeout: float,
        poll: float,
        request_timeout: float,
    ) -> None:
        """Poll ``is_ready`` until it is true; typed errors with the log tail if the process exits or
        ``timeout`` passes (``{name} did not {waiting_for} within ...``). Transport errors and
        unreadable answers mean "not yet"."""
        deadline = time.monotonic() + timeout
        # trust_env=False: a proxy configured in the environment must not intercept 127.0.0.1.
        with httpx.Client(timeout=request_timeout, trust_env=False) as client:
            while True:
                code = self.returncode
                if code is not None:
                    raise ServerStartError(
                        f"{name} exited with code {code} during start-up. Log {self._log_path} ends with:\n"
                        f"{self.log_tail()}",
                        log_path=str(self._log_path),
                    )
                try:
                    if is_ready(client):
                        return
                except (httpx.TransportError, ValueError, AttributeError):
                    pass
                if time.monotonic() > deadline:
                    raise ServerStartError(
                        f"{name} did not {waiting_for} within {timeout:.0f} s. "
                        f"Log {self._log_path} ends with:\n{self.log_tail()}",
                        log_path=str(self._log_path),
                    )
                time.sleep(poll)

    def start_up(
        self, what: str, wait: Callable[[], None], *, detail: str = "", progress: bool | None
    ) -> None:
        """Run ``wait`` (a `wait_ready` call) under a progress line on stderr; if it fails or is
        interrupted, stop the process group before the error propagates."""
        try:
            with Progress(what, detail=detail, enabled=progress):
                wait()
        except BaseException:
            self.stop()
            raise

    def _cleanup(self) -> None:
        """Called once, under the lock, after the group is gone."""
