"""Reliability and safety tests: faults, lying servers, bad input, load, secrets.

The real-server tests reuse the session's pooled vLLM servers (``tiny_server``, ...) and are marked
``vllm``; the one test that kills a server starts its own. Figures measured along the way are printed
in a "reliability figures" section at the end of the run (see RELIABILITY.md).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy, Policy
from figures import FIGURES
from servers import *  # noqa: F403
from servers import SERVER_FIXTURES, ServerPool

from lift_dspy.server.process import Server

# With LIFT_DSPY_REQUIRE_VLLM=1 (CI, scripts/test.sh) no server test may skip: a missing vLLM fails,
# and external servers are not used (the tests that need the server's process would skip).
REQUIRE_VLLM = os.environ.get("LIFT_DSPY_REQUIRE_VLLM") == "1"

# Otherwise, reuse servers that are already running (``lift-dspy serve --model tiny [--backend
# xgrammar]``) instead of starting them: LIFT_DSPY_TINY_API_BASE / LIFT_DSPY_XGRAMMAR_API_BASE=
# http://127.0.0.1:PORT/v1. Tests that need the server's process skip then.
_EXTERNAL = {
    "tiny_server": None if REQUIRE_VLLM else os.environ.get("LIFT_DSPY_TINY_API_BASE"),
    "xgrammar_tiny_server": None if REQUIRE_VLLM else os.environ.get("LIFT_DSPY_XGRAMMAR_API_BASE"),
}


def _server(pool: ServerPool, fixture: str) -> Server:
    if importlib.util.find_spec("vllm") is None:
        message = "vLLM is not installed (pip install 'lift-dspy[cpu]')"
        if REQUIRE_VLLM:
            pytest.fail(message)
        pytest.skip(message)
    model, backend, options = SERVER_FIXTURES[fixture]
    external = _EXTERNAL.get(fixture)
    if external:
        return Server(external.rstrip("/"), model, Path(os.devnull), 0, backend)
    return pool.get(model, backend=backend, options=options)


@pytest.fixture(scope="session")  # type: ignore[no-redef]
def tiny_server(server_pool: ServerPool) -> Server:
    """The session's tiny vLLM server (guidance backend), or $LIFT_DSPY_TINY_API_BASE."""
    return _server(server_pool, "tiny_server")


@pytest.fixture
def live_tiny_server(tiny_server: Server, server_pool: ServerPool) -> Server:
    """The tiny server as it runs now: after a restart (test_kill_midbatch) its pid is new."""
    return tiny_server if tiny_server.pid == 0 else _server(server_pool, "tiny_server")


@pytest.fixture(scope="session")  # type: ignore[no-redef]
def xgrammar_tiny_server(server_pool: ServerPool) -> Server:
    """The session's tiny vLLM server on xgrammar, or $LIFT_DSPY_XGRAMMAR_API_BASE."""
    return _server(server_pool, "xgrammar_tiny_server")


@pytest.fixture(autouse=True)  # type: ignore[no-redef]
def vllm_servers_alive(request: pytest.FixtureRequest, server_pool: ServerPool) -> None:
    """As tests/servers.py's: restart pooled servers this test uses (not external ones)."""
    for name in SERVER_FIXTURES:
        if name in request.fixturenames and not _EXTERNAL.get(name):
            _server(server_pool, name)


@pytest.fixture
def fault_proxy(tiny_server: Server) -> Iterator[Callable[[Policy], FaultProxy]]:
    """Start fault proxies in front of the tiny server; every one is closed after the test."""
    opened: list[FaultProxy] = []

    def start(policy: Policy) -> FaultProxy:
        proxy = FaultProxy(tiny_server.api_base, policy).start()
        opened.append(proxy)
        return proxy

    yield start
    for proxy in opened:
        proxy.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name in sorted(FIGURES):
        terminalreporter.write_line(f"{name}: {FIGURES[name]}")
