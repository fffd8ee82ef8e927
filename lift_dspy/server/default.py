"""The process-wide embedded vLLM server that ``GuidanceLM()`` uses when given no server.

It is started lazily by the first `default_server` call (never at import), shared by every caller
in the process and stopped when the interpreter exits. ``LIFT_DSPY_DEFAULT_MODEL`` picks the model
(default ``"smollm2"``; ``"tiny"`` is handy in tests).

Example:
    >>> from lift_dspy.server.default import default_server
    >>> default_server().api_base  # doctest: +SKIP
    'http://127.0.0.1:40123/v1'
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from lift_dspy.server.process import ManagedServer, Server, start_server

__all__ = ["DEFAULT_BACKEND", "DEFAULT_MODEL", "default_server", "stop_default_server"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2"
DEFAULT_BACKEND = "guidance"

_lock = threading.Lock()
_managed: ManagedServer | None = None
_owner_pid: int | None = None
_atexit_registered = False


def default_server() -> Server:
    """Return the shared embedded server, starting it on first use (thread-safe).

    The first call builds the model if needed and waits for vLLM (~30-60 s on a CPU). If the
    server has died since, a new one is started. A forked child reuses its parent's server.

    Raises:
        ServerStartError: vLLM is not installed or did not come up (the message has the log tail).
    """
    global _managed, _owner_pid, _atexit_registered
    with _lock:
        if _managed is not None:
            if _owner_pid != os.getpid():
                return _managed.server
            if _managed.running:
                return _managed.server
            logger.warning(
                "The default vLLM server (pid %d) exited with code %s; starting a new one. Old log: %s",
                _managed.server.pid,
                _managed.returncode,
                _managed.server.log_path,
            )
            _managed.stop()
            _managed = None
        model = os.environ.get("LIFT_DSPY_DEFAULT_MODEL") or DEFAULT_MODEL
        managed = start_server(model, backend=DEFAULT_BACKEND)
        _managed, _owner_pid = managed, os.getpid()
        if not _atexit_registered:
            atexit.register(stop_default_server)
            _atexit_registered = True
        logger.info(
            "lift-dspy started its default vLLM server (model %s) at %s; log: %s. "
            "It stops when this process exits; set LIFT_DSPY_API_BASE to use your own server.",
            managed.server.model,
            managed.server.api_base,
            managed.server.log_path,
        )
        return managed.server


def stop_default_server() -> None:
    """Stop the shared server if this process started it (a no-op otherwise)."""
    global _managed
    with _lock:
        managed, _managed = _managed, None
        if managed is not None and _owner_pid == os.getpid():
            managed.stop()
