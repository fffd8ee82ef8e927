"""A loopback HTTP/1.1 proxy that injects faults in front of a real vLLM server (test helper).

Each request the proxy reads is given to a *policy* (``(index, method, path, body) -> Fault``) that
decides what happens to it: relayed as is, relayed with ``structured_outputs`` stripped (vLLM then
answers unconstrained), answered with an HTTP error or a malformed body, cut with a TCP reset, or
left hanging until the proxy is closed (a stall). The proxy runs its own asyncio loop in a thread,
so synchronous tests, ``dspy.Parallel`` and asyncio code can all use it::

    with FaultProxy(server.api_base, always(Fault.status(503))) as proxy:
        lm = GuidanceLM(model, api_base=proxy.api_base)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

__all__ = ["Fault", "FaultProxy", "Policy", "always", "first_then"]

FaultKind = Literal["pass", "strip", "status", "body", "cut", "reset", "stall"]


@dataclass(frozen=True)
class Fault:
    """What the proxy does with one request."""

    kind: FaultKind
    status: int = 200
    body: bytes = b""

    @classmethod
    def relay(cls) -> Fault:
        """Forward the request and its answer unchanged."""
        return cls("pass")

    @classmethod
    def strip(cls) -> Fault:
        """Forward the request without ``structured_outputs``/``response_format`` (a lying server)."""
        return cls("strip")

    @classmethod
    def http_status(cls, status: int, message: str = "injected fault") -> Fault:
        """Answer with ``status`` and an OpenAI-style error body, without reaching the server."""
        return cls("status", status, json.dumps({"error": {"message": message}}).encode())

    @classmethod
    def malformed(cls, body: bytes, status: int = 200) -> Fault:
        """Answer ``status`` with ``body`` (HTML, truncated JSON, an empty body, ...)."""
        return cls("body", status, body)

    @classmethod
    def cut(cls) -> Fault:
        """Relay the answer's status line and the first bytes of its body, then close the connection."""
        return cls("cut")

    @classmethod
    def reset(cls) -> Fault:
        """Read the request, then close the connection with a TCP RST."""
        return cls("reset")

    @classmethod
    def stall(cls) -> Fault:
        """Read the request and never answer (until the proxy closes)."""
        return cls("stall")


Policy = Callable[[int, str, str, bytes], Fault]


def always(fault: Fault) -> Policy:
    """The same fault for every chat completion; other requests (``/models``) are relayed."""
    return lambda _index, _method, path, _body: fault if path.endswith("/chat/completions") else Fault.relay()


def first_then(count: int, fault: Fault, then: Fault | None = None) -> Policy:
    """``fault`` for the first ``count`` chat completions, then ``then`` (relay by default)."""
    seen = [0]
    lock = threading.Lock()

    def policy(_index: int, _method: str, path: str, _body: bytes) -> Fault:
        if not path.endswith("/chat/completions"):
            return Fault.relay()
        with lock:
            seen[0] += 1
            return fault if seen[0] <= count else (then or Fault.relay())

    return policy


@dataclass
class Counters:
    """What the proxy saw (read them after the calls that produced them have returned)."""

    requests: int = 0
    completions: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    open_connections: int = 0
    authorization: list[str] = field(default_factory=list)
    stripped_payloads: list[dict[str, object]] = field(default_factory=list)
    answers: list[bytes] = field(default_factory=list)


class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of ``upstream`` (an ``http://host:port/v1`` URL)."""

    def __init__(self, upstream: str, policy: Policy) -> None:
        parts = urlsplit(upstream)
        self._upstream = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.rstrip("/")
        self._policy = policy
        self.counters = Counters()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._closing: asyncio.Event | None = None
        self._client: httpx.AsyncClient | None = None
        self._connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self.port = 0

    @property
    def api_base(self) -> str:
        """The proxy's ``/v1`` base URL."""
        return f"http://127.0.0.1:{self.port}{self._prefix}"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        """Start listening; returns once the port is bound."""
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("the fault proxy did not start")
        return self

    def close(self) -> None:
        """Release stalled requests, close every connection and stop the loop."""
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
        self._thread.join(timeout=30)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._closing = asyncio.Event()
        self._client = httpx.AsyncClient(
            base_url=self._upstream, timeout=httpx.Timeout(600.0, connect=10.0), trust_env=False
        )
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        await self._closing.wait()
        self._server.close()
        # Closing a connection ends its handler (EOF on read); stalled handlers woke on _closing.
        for writer in list(self._connections.values()):
            writer.close()
        if self._connections:
            _, stuck = await asyncio.wait(list(self._connections), timeout=10)
            for task in stuck:
                task.cancel()
        await self._server.wait_closed()
        await self._client.aclose()

    async def _shutdown(self) -> None:
        if self._closing is not None:
            self._closing.set()

    # -- one client connection (keep-alive: many requests) ------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        with self._lock:
            self.counters.open_connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                method, path, headers, body = request
                with self._lock:
                    if "authorization" in headers:
                        self.counters.authorization.append(headers["authorization"])
                    index = self.counters.requests
                    self.counters.requests += 1
                    if path.endswith("/chat/completions"):
                        self.counters.completions += 1
                fault = self._policy(index, method, path, body)
                with self._lock:
                    self.counters.by_kind[fault.kind] = self.counters.by_kind.get(fault.kind, 0) + 1
                if fault.kind == "reset":
                    _abort(writer)
                    return
                if fault.kind == "stall":
                    assert self._closing is not None
                    await self._closing.wait()
                    return
                if fault.kind in ("status", "body"):
                    await _respond(writer, fault.status, fault.body, "application/json")
                    continue
                if fault.kind == "strip" and body:
                    payload = json.loads(body)
                    payload.pop("structured_outputs", None)
                    payload.pop("response_format", None)
                    with self._lock:
                        self.counters.stripped_payloads.append(payload)
                    body = json.dumps(payload).encode()
                status, content, kind = await self._forward(method, path, body)
                if path.endswith("/chat/completions"):
                    with self._lock:
                        self.counters.answers.append(content)
                if fault.kind == "cut":
                    await _respond(writer, status, content, kind, send=len(content) // 3)
                    writer.close()
                    return
                await _respond(writer, status, content, kind)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with self._lock:
                self.counters.open_connections -= 1
            self._connections.pop(task, None)
            with contextlib.suppress(Exception):
                writer.close()

    async def _forward(self, method: str, path: str, body: bytes) -> tuple[int, bytes, str]:
        assert self._client is not None
        headers = {"Content-Type": "application/json"} if body else {}
        try:
            reply = await self._client.request(method, path, content=body or None, headers=headers)
        except httpx.HTTPError as exc:
            message = json.dumps({"error": {"message": f"upstream unreachable: {exc!r}"}}).encode()
            return 502, message, "application/json"
        return reply.status_code, reply.content, reply.headers.get("content-type", "application/json")


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip():
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return method, path, headers, body


async def _respond(
    writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str, *, send: int | None = None
) -> None:
    """Write one response; ``send`` bytes of the body only, if given (Content-Length stays whole)."""
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + (body if send is None else body[:send]))
    await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: SO_LINGER with a zero timeout."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


_REASONS = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 502: "Bad Gateway"}
_REASONS |= {503: "Service Unavailable", 504: "Gateway Timeout"}
