"""pytest fixtures that provide real vLLM servers, at most two alive at a time.

Each vLLM start costs ~30 s and ~3 GB of RAM, so servers are session-wide and shared through one
`ServerPool` per process. When a third server is needed, the least recently used one is stopped;
it is restarted on its old port (so ``api_base`` values handed out earlier stay valid) the next
time a test asks for it. Test code, not part of the package (it imports pytest). Use from a ``conftest.py``
(``tests/`` is on pytest's ``pythonpath``)::

    from servers import *  # noqa: F403

Tests using these fixtures should be marked ``@pytest.mark.vllm``. They are skipped when vLLM is
not installed. A single test must not request more than `ServerPool.max_live` servers.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lift_dspy.server.process import ManagedServer, Server, start_server

__all__ = [
    "SERVER_FIXTURES",
    "ServerPool",
    "server_pool",
    "smollm2_server",
    "tiny_server",
    "vllm_servers_alive",
    "xgrammar_tiny_server",
]

logger = logging.getLogger(__name__)

_Key = tuple[str, str, tuple[tuple[str, Any], ...]]

# xgrammar ignores llguidance's per-schema `x-guidance` whitespace setting: without this a random
# model pads JSON with whitespace until max_tokens.
XGRAMMAR_OPTIONS = (("disable_any_whitespace", True),)

# fixture name -> (model, backend, extra --structured-outputs-config options)
SERVER_FIXTURES: dict[str, tuple[str, str, tuple[tuple[str, Any], ...]]] = {
    "tiny_server": ("tiny", "guidance", ()),
    "smollm2_server": ("smollm2", "guidance", ()),
    "xgrammar_tiny_server": ("tiny", "xgrammar", XGRAMMAR_OPTIONS),
}


@dataclass
class ServerPool:
    """Managed servers keyed by (model, backend); at most ``max_live`` run at once."""

    max_live: int = 2
    # Generous: on a 2-core machine shared with other vLLM servers a start took up to 390 s.
    startup_timeout: float = 900.0
    _live: dict[_Key, ManagedServer] = field(default_factory=dict)
    _ports: dict[_Key, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(
        self, model: str, *, backend: str = "guidance", options: tuple[tuple[str, Any], ...] = ()
    ) -> Server:
        """Return a running server for (model, backend, options), starting or restarting it if needed.

        ``options`` are extra ``--structured-outputs-config`` entries, as sorted (key, value) pairs.
        """
        key = (model, backend, options)
        with self._lock:
            managed = self._live.pop(key, None)
            if managed is not None and not managed.running:
                logger.warning("vLLM server %s died; restarting. Log: %s", key, managed.server.log_path)
                managed.stop()
                managed = None
            if managed is None:
                while len(self._live) >= self.max_live:
                    lru_key = next(iter(self._live))
                    logger.info("Stopping vLLM server %s to stay within %d servers", lru_key, self.max_live)
                    self._live.pop(lru_key).stop()
                managed = start_server(
                    model,
                    backend=backend,
                    port=self._ports.get(key),
                    startup_timeout=self.startup_timeout,
                    structured_outputs=dict(options),
                )
                self._ports[key] = managed.server.port
            self._live[key] = managed  # re-inserted last: most recently used
            return managed.server

    def stop(
        self, model: str, *, backend: str = "guidance", options: tuple[tuple[str, Any], ...] = ()
    ) -> None:
        """Stop one server now; a later `get` restarts it on the same port."""
        with self._lock:
            managed = self._live.pop((model, backend, options), None)
        if managed is not None:
            managed.stop()

    def make_room(self, count: int = 1) -> None:
        """Stop least recently used servers so that ``count`` more can run within ``max_live``."""
        with self._lock:
            while self._live and len(self._live) > self.max_live - count:
                lru_key = next(iter(self._live))
                logger.info("Stopping vLLM server %s to make room", lru_key)
                self._live.pop(lru_key).stop()

    def close(self) -> None:
        """Stop every server of the pool."""
        with self._lock:
            while self._live:
                self._live.popitem()[1].stop()


_pool = ServerPool()
atexit.register(_pool.close)


def _acquire(pool: ServerPool, fixture: str) -> Server:
    model, backend, options = SERVER_FIXTURES[fixture]
    return pool.get(model, backend=backend, options=options)


def _require_vllm() -> None:
    if importlib.util.find_spec("vllm") is None:
        message = "vLLM is not installed (pip install 'lift-dspy[cpu]')"
        if os.environ.get("LIFT_DSPY_REQUIRE_VLLM") == "1":
            # CI and scripts/test.sh: a broken server install must fail, not skip, the e2e suite.
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def server_pool() -> Iterator[ServerPool]:
    """The process-wide pool; its servers are stopped at the end of the session."""
    yield _pool
    _pool.close()


@pytest.fixture(scope="session")
def tiny_server(server_pool: ServerPool) -> Server:
    """A vLLM server with the random-weight ``tiny`` model on the guidance backend."""
    _require_vllm()
    return _acquire(server_pool, "tiny_server")


@pytest.fixture(scope="session")
def smollm2_server(server_pool: ServerPool) -> Server:
    """A vLLM server with SmolLM2-135M-Instruct on the guidance backend."""
    _require_vllm()
    return _acquire(server_pool, "smollm2_server")


@pytest.fixture(scope="session")
def xgrammar_tiny_server(server_pool: ServerPool) -> Server:
    """A vLLM server with the ``tiny`` model on the xgrammar backend (the rollback path).

    Started with ``"disable_any_whitespace": true``: xgrammar ignores per-schema ``x-guidance``.
    """
    _require_vllm()
    return _acquire(server_pool, "xgrammar_tiny_server")


@pytest.fixture(autouse=True)
def vllm_servers_alive(request: pytest.FixtureRequest) -> None:
    """Restart (on the same port) any pool server this test uses that was stopped to save memory."""
    for name in SERVER_FIXTURES:
        if name in request.fixturenames:
            _acquire(_pool, name)
