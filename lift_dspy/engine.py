"""The DSPy engine: one constrained chat completion per call, sync and async, written once.

DSPy owns caching, retries, ``n`` fan-out, history and callbacks; an engine does one attempt.
Each path (``complete``, ``stream``) is one flow in :class:`_EngineCore`: a generator that asks
its driver for I/O steps (:mod:`lift_dspy.steps`: plan, POST, open a stream, read a line, call
the fallback LM) and yields what the caller gets. The sync and async engines only perform them:

* plan -- the call's resolution (handed by the LM with the request, else resolved here through the
  same :mod:`lift_dspy.active` functions), the server's backend, and the exact payload. It may
  block (backend detection, the embedded server's start): the async engine then plans in a thread.
* one HTTP call -- the only place ``httpx`` is called.
* finish -- HTTP status and body -> a validated ``dspy.lm15.Response``, or a typed error
  (:mod:`lift_dspy.completion` parses bodies and maps HTTP errors).

A transport failure before any answer goes to the fallback LM, if any, for both paths
(:mod:`lift_dspy.fallback`; a stream replays its answer as one delta). A stream that breaks
after its first event is not retried: its deltas are already out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any

import dspy
import httpx
from dspy.lm15 import Request, Response, StreamEndEvent, Usage

from lift_dspy.active import (
    Resolution,
    active_constraint,
    handed,
    handing,
    mark_engine_ran,
    require_backend_takes,
)
from lift_dspy.backends import Backend, detect_backend, remembered, response_format_for
from lift_dspy.completion import http_error, http_timeout, parse_completion, transport_error
from lift_dspy.constraints.native_tools import assistant_message
from lift_dspy.constraints.schema import Options
from lift_dspy.engine_config import EngineConfig
from lift_dspy.errors import BackendError, BackendUnavailableError, TruncatedOutputError
from lift_dspy.fallback import fallback_request, from_fallback, replay
from lift_dspy.request import build_payload, response_logprobs
from lift_dspy.stats import Stats
from lift_dspy.steps import Flow, Plan, Step, adrive, drive
from lift_dspy.streaming import SSEAccumulator, stream_payload
from lift_dspy.trim import trim_messages

__all__ = ["AsyncGuidanceEngine", "EngineConfig", "GuidanceEngine"]

logger = logging.getLogger(__name__)

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_call", "content_filter": "content_filter"}


class _EngineCore:
    """Everything but the HTTP call, shared by both engines."""

    # Read by DSPy's adapters (dspy.clients.capabilities): JSONAdapter sends a response_format,
    # which tells the engine to use the JSON form of the signature's constraint.
    supports_response_schema = True
    # Native tool calls are written under the constraint and returned as tool calls (native_tools).
    supports_function_calling = True
    supports_reasoning = False
    supported_params = frozenset(
        {
            "temperature",
            "max_tokens",
            "top_p",
            "top_k",
            "stop",
            "seed",
            "response_format",
            "frequency_penalty",
            "presence_penalty",
            "logprobs",
            "top_logprobs",
        }
    )

    def __init__(self, config: EngineConfig | None = None, *, stats: Stats | None = None) -> None:
        self.config = config or EngineConfig()
        if not self.config.constrain:
            # The unconstrained baseline claims nothing, like a stock dspy.LM for an unknown model:
            # DSPy's adapters then send exactly what they send to it (no response_format at all).
            self.supports_response_schema = False
            self.supports_function_calling = False
            self.supported_params = frozenset({"temperature", "max_tokens", "top_p", "stop", "seed"})
        self.stats = stats or Stats()
        self._sync_transport: httpx.BaseTransport | None = None  # detection's transport (tests)
        # A dspy.LM that answers when this server cannot be reached (not saved by dump_state).
        self.fallback: Any = None

    # -- the flows: written once, performed by both engines ------------------------------------
    def _complete_flow(self, request: Request) -> Flow:
        plan = yield Step("plan", request)
        try:
            status, body = yield Step("post", plan)
        except httpx.HTTPError as exc:
            yield (yield from self._fail_over(plan, request, exc))
            return
        yield self.finish(plan, status, body)

    def _stream_flow(self, request: Request) -> Flow:
        """Text deltas as they are generated; the whole answer validated at the end."""
        plan = yield Step("plan", request)
        sse = SSEAccumulator()
        try:
            status = yield Step("open", plan)
            if status >= 400:
                self.finish(plan, status, (yield Step("read")))
            yield sse.start()
            while (line := (yield Step("line"))) is not None:
                yield from self._feed(plan, sse, line)
        except httpx.HTTPError as exc:
            if sse.started:  # deltas are out: neither DSPy's retries nor the fallback can take them back
                raise self._unavailable(plan, exc) from exc
            yield from replay((yield from self._fail_over(plan, request, exc)))
            return
        yield self._end(plan, sse)

    def _fail_over(
        self, plan: Plan, request: Request, exc: httpx.HTTPError
    ) -> Generator[Step, Any, Response]:
        """The server cannot be reached: the fallback LM's checked answer, or the typed error."""
        error = self._unavailable(plan, exc)
        if self.fallback is None:
            raise error from exc
        sent = fallback_request(self.fallback, plan.constraint, request, error)
        # A GuidanceLM fallback enforces this call's constraint (on its own backend); with
        # constrain=False nothing was resolved here, so it resolves the call itself.
        handed_on = Resolution(plan.constraint) if self.config.constrain else None
        response = yield Step("fallback", (sent, handed_on))
        return from_fallback(self.fallback, plan.constraint, response, error)

    def _unavailable(self, plan: Plan, exc: Exception) -> BackendUnavailableError:
        self.stats.record_error(
            plan.constraint, "BackendUnavailableError", time.perf_counter() - plan.started
        )
        return transport_error(exc, plan.url)

    # -- state (DSPy saves custom engines through these) --------------------------------------
    def dump_state(self) -> dict[str, Any]:
        """JSON-serializable settings without secrets (DSPy's custom-engine contract)."""
        return self.config.public_state()

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> _EngineCore:
        """Rebuild from :meth:`dump_state` (the API key comes from ``LIFT_DSPY_API_KEY``)."""
        import os

        state = dict(state)
        state.pop("served_model", None)  # in states saved before it was removed (it was never set)
        options = Options(
            lenient=state.pop("lenient", False),
            max_text_chars=state.pop("max_text_chars", None),
            derive_bounds=state.pop("derive_bounds", True),
        )
        return cls(EngineConfig(**state, options=options, api_key=os.environ.get("LIFT_DSPY_API_KEY")))

    def __deepcopy__(self, memo: dict[int, Any]) -> _EngineCore:
        # Copies share settings, statistics, transports and the fallback, never connection pools.
        copied = self._sibling()
        copied.fallback = self.fallback
        copied._sync_transport = self._sync_transport
        return copied

    def _sibling(self) -> _EngineCore:
        """A new engine with this one's settings, statistics and transport (no connections)."""
        return type(self)(self.config, stats=self.stats)

    def __getstate__(self) -> dict[str, Any]:
        # Never pickle the key: an unpickled engine reads it from LIFT_DSPY_API_KEY, like load_state.
        return {"config": dataclasses.replace(self.config, api_key=None), "fallback": self.fallback}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import os

        config = dataclasses.replace(state["config"], api_key=os.environ.get("LIFT_DSPY_API_KEY"))
        type(self).__init__(self, config)
        self.fallback = state.get("fallback")

    # -- the pure steps ------------------------------------------------------------------------
    def _base_and_model(self, request: Request) -> tuple[str, str]:
        if self.config.api_base is not None:
            return self.config.api_base.rstrip("/"), request.model
        from lift_dspy.server.default import default_server

        server = default_server()
        return server.api_base.rstrip("/"), server.model

    def known_backend(self, model: str) -> Backend | None:
        """The backend if it is known without asking the server (None: ``auto``, not asked yet)."""
        if self.config.backend != "auto":
            return self.config.backend
        if self.config.api_base is None:
            return "guidance"  # the embedded server
        return remembered(self.config.api_base, model)

    def backend(self, model: str) -> Backend:
        """The server's backend: as configured, or detected once per (URL, model) for ``auto``.

        Args:
            model: The LM's model string: the model the server serves.
        """
        known = self.known_backend(model)
        if known is not None:
            return known
        assert self.config.api_base is not None
        try:
            with httpx.Client(
                timeout=http_timeout(self.config.timeout), transport=self._sync_transport
            ) as client:
                return detect_backend(client, self.config.api_base, model, self.headers())
        except BackendUnavailableError as exc:
            # Not remembered: the call itself will meet the same outage, and its error (or the
            # fallback LM) handles it; the next call asks again.
            logger.debug("backend detection skipped: %s", exc.message)
            return "guidance"

    def _resolve(self, request: Request) -> Resolution:
        """The call's resolution: handed by the LM with the request, else resolved here. No I/O."""
        mark_engine_ran()
        if not self.config.constrain:
            return Resolution(None)
        known = handed()
        if known is not None:
            return known
        options = self.config.options.for_call(request.config.max_tokens)
        return Resolution(active_constraint(request, options, self.config.on_unconstrained))

    def _may_block(self, request: Request, resolution: Resolution) -> bool:
        """Planning may start the embedded server or ask the server for its backend."""
        return self.config.api_base is None or (
            resolution.backend is None and self.known_backend(request.model) is None
        )

    def plan(self, request: Request, resolution: Resolution | None = None) -> Plan:
        """The backend and the exact payload of one request (resolved here if not given)."""
        if resolution is None:
            resolution = self._resolve(request)
        constraint, backend = resolution.constraint, resolution.backend
        if backend is None:
            backend = self.backend(request.model)
            require_backend_takes(constraint, backend)
        base, model = self._base_and_model(request)
        openai = backend == "openai"  # the standard response_format; vLLM takes structured_outputs
        payload = build_payload(
            request,
            model=model,
            structured_outputs=constraint.structured_outputs if constraint and not openai else None,
            response_format=response_format_for(constraint) if constraint and openai else None,
        )
        if constraint is not None and self.config.trim_prompt:
            payload["messages"] = trim_messages(payload["messages"], constraint.model.model_fields)
        logger.debug(
            "POST %s/chat/completions model=%s backend=%s constraint=%s",
            base,
            model,
            backend,
            f"{constraint.signature_name}/{constraint.format}" if constraint else None,
        )
        return Plan(f"{base}/chat/completions", payload, constraint, time.perf_counter(), backend)

    def _feed(self, plan: Plan, sse: SSEAccumulator, line: str) -> list[Any]:
        try:
            return sse.feed(line)
        except (ValueError, TypeError, AttributeError) as exc:
            raise BackendError(f"malformed stream line: {line[:200]!r}", url=plan.url, status=200) from exc

    def _end(self, plan: Plan, sse: SSEAccumulator) -> StreamEndEvent:
        """Validate the streamed answer exactly like a non-streamed one."""
        response = self.finish(plan, 200, sse.body())
        return StreamEndEvent(finish_reason=response.finish_reason, usage=response.usage)

    def headers(self) -> dict[str, str]:
        """Request headers (the bearer token only when configured)."""
        headers = {"Content-Type": "application/json", "User-Agent": "lift-dspy"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def finish(self, plan: Plan, status: int, body: bytes) -> Response:
        """Turn the server's answer into a validated Response, or raise a typed error."""
        try:
            return self._finish(plan, status, body)
        except Exception as exc:
            self.stats.record_error(plan.constraint, type(exc).__name__, time.perf_counter() - plan.started)
            raise

    def _finish(self, plan: Plan, status: int, body: bytes) -> Response:
        model = plan.payload["model"]
        if status >= 400:
            raise http_error(status, body.decode("utf-8", "replace"), plan.url, model)
        try:
            data = parse_completion(body)
            choice = data.choices[0]
        except (ValueError, IndexError) as exc:
            shown = body.decode("utf-8", "replace")[:200]
            raise BackendError(
                f"malformed chat completion body: {shown!r}", url=plan.url, status=status
            ) from exc
        text, reason, usage = choice.text, choice.finish_reason or "stop", data.usage
        if reason not in _FINISH:
            raise BackendError(f"generation ended with finish_reason={reason!r}", url=plan.url, status=status)
        constraint = plan.constraint
        if constraint is not None:
            if reason == "length":
                raise TruncatedOutputError(
                    raw_text=text, max_tokens=plan.payload.get("max_tokens"), model=model
                )
            constraint.validate(text, model_name=model, exact=plan.backend == "guidance")
        message, called = assistant_message(constraint, text)
        self.stats.record_success(
            constraint, time.perf_counter() - plan.started, usage.get("completion_tokens")
        )
        return Response(
            id=data.id,
            model=data.model or model,
            message=message,
            finish_reason="tool_call" if called else _FINISH[reason],
            usage=Usage(
                input_tokens=usage.get("prompt_tokens"),
                output_tokens=usage.get("completion_tokens"),
                total_tokens=usage.get("total_tokens"),
            ),
            logprobs=response_logprobs(choice.raw),
        )


_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64)


class GuidanceEngine(_EngineCore):
    """Synchronous engine over one pooled ``httpx.Client``."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        stats: Stats | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(config, stats=stats)
        self._transport = transport
        self._sync_transport = transport
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    def _sibling(self) -> GuidanceEngine:
        return GuidanceEngine(self.config, stats=self.stats, transport=self._transport)

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                timeout = http_timeout(self.config.timeout)
                self._client = httpx.Client(timeout=timeout, limits=_LIMITS, transport=self._transport)
            return self._client

    def complete(self, request: Request) -> Response:
        """Run one constrained completion."""
        with contextlib.ExitStack() as scope:
            (response,) = drive(self._complete_flow(request), self._performer(scope))
        return response

    def stream(self, request: Request) -> Iterator[Any]:
        """Stream text deltas as they are generated; validate the whole answer at the end."""
        with contextlib.ExitStack() as scope:
            yield from drive(self._stream_flow(request), self._performer(scope))

    def _performer(self, scope: contextlib.ExitStack) -> Callable[[Step], Any]:
        reply: httpx.Response | None = None
        lines: Iterator[str] = iter(())

        def perform(step: Step) -> Any:
            nonlocal reply, lines
            if step.kind == "plan":
                return self.plan(step.arg)
            if step.kind == "post":
                answer = self._http().post(step.arg.url, json=step.arg.payload, headers=self.headers())
                return answer.status_code, answer.content
            if step.kind == "fallback":
                sent, handed_on = step.arg
                with handing(handed_on), dspy.context(send_stream=None):
                    return self.fallback(sent)
            if step.kind == "open":
                payload = stream_payload(step.arg.payload)
                opened = self._http().stream("POST", step.arg.url, json=payload, headers=self.headers())
                reply = scope.enter_context(opened)
                lines = reply.iter_lines()
                return reply.status_code
            if step.kind == "read":
                assert reply is not None
                return reply.read()
            return next(lines, None)

        return perform

    def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None


class AsyncGuidanceEngine(_EngineCore):
    """Asynchronous engine; one ``httpx.AsyncClient`` per event loop."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        stats: Stats | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(config, stats=stats)
        self._transport = transport
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def _sibling(self) -> AsyncGuidanceEngine:
        return AsyncGuidanceEngine(self.config, stats=self.stats, transport=self._transport)

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        # A client's connections reference its loop, so a finished loop is never collected on its
        # own: release the pools of closed loops (their sockets close when collected), as dspy.LM does.
        for finished in [known for known in self._clients if known.is_closed()]:
            self._clients.pop(finished, None)
        client = self._clients.get(loop)
        if client is None:
            timeout = http_timeout(self.config.timeout)
            client = httpx.AsyncClient(timeout=timeout, limits=_LIMITS, transport=self._transport)
            self._clients[loop] = client
        return client

    async def complete(self, request: Request) -> Response:
        """Run one constrained completion."""
        async with contextlib.AsyncExitStack() as scope:
            flow = adrive(self._complete_flow(request), self._performer(scope))
            (response,) = [item async for item in flow]
        return response

    async def stream(self, request: Request) -> AsyncIterator[Any]:
        """Stream text deltas as they are generated; validate the whole answer at the end."""
        async with contextlib.AsyncExitStack() as scope:
            async for event in adrive(self._stream_flow(request), self._performer(scope)):
                yield event

    def _performer(self, scope: contextlib.AsyncExitStack) -> Callable[[Step], Awaitable[Any]]:
        reply: httpx.Response | None = None
        lines: AsyncIterator[str] | None = None

        async def perform(step: Step) -> Any:
            nonlocal reply, lines
            if step.kind == "plan":
                # Resolved here (the adapter call is on this stack); what may block runs in a thread.
                resolution = self._resolve(step.arg)
                if self._may_block(step.arg, resolution):
                    return await asyncio.to_thread(self.plan, step.arg, resolution)
                return self.plan(step.arg, resolution)
            if step.kind == "post":
                answer = await self._http().post(step.arg.url, json=step.arg.payload, headers=self.headers())
                return answer.status_code, answer.content
            if step.kind == "fallback":
                sent, handed_on = step.arg
                with handing(handed_on), dspy.context(send_stream=None):
                    return await self.fallback.acall(sent)
            if step.kind == "open":
                payload = stream_payload(step.arg.payload)
                opened = self._http().stream("POST", step.arg.url, json=payload, headers=self.headers())
                reply = await scope.enter_async_context(opened)
                lines = reply.aiter_lines()
                return reply.status_code
            if step.kind == "read":
                assert reply is not None
                return await reply.aread()
            assert lines is not None
            return await anext(lines, None)

        return perform

    async def aclose(self) -> None:
        """Close this loop's connection pool."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
