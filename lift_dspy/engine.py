"""The DSPy engine: one constrained chat completion per call, sync and async.

DSPy owns caching, retries, ``n`` fan-out, history and callbacks; an engine does one attempt.
``complete`` and its async twin are thin shells over the same two pure steps:

* :meth:`_EngineCore.plan` -- the constraint of the signature being run (:mod:`lift_dspy.active`),
  the server's backend, and the exact payload.
* :meth:`_EngineCore.finish` -- HTTP status and body -> a validated ``dspy.lm15.Response``, or a
  typed error. Third-party exceptions are converted here and in :func:`_transport_error` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import dspy
import httpx
from dspy.lm15 import Request, Response, StreamEndEvent, Usage
from dspy.utils.exceptions import ContextWindowExceededError

from lift_dspy.active import OnUnconstrained, active_constraint, mark_engine_ran
from lift_dspy.backends import (
    JSON_ONLY,
    Backend,
    BackendChoice,
    detect_backend,
    remembered,
    response_format_for,
)
from lift_dspy.constraints import Constraint
from lift_dspy.constraints.native_tools import assistant_message
from lift_dspy.constraints.schema import Options
from lift_dspy.errors import (
    BackendAuthError,
    BackendError,
    BackendRateLimitError,
    BackendServerError,
    BackendUnavailableError,
    JSONModeRequiredError,
    TruncatedOutputError,
)
from lift_dspy.request import build_payload, response_logprobs
from lift_dspy.stats import Stats
from lift_dspy.streaming import SSEAccumulator, stream_payload
from lift_dspy.trim import trim_messages

__all__ = ["AsyncGuidanceEngine", "EngineConfig", "GuidanceEngine"]

logger = logging.getLogger(__name__)

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_call", "content_filter": "content_filter"}
_CONTEXT_MARKERS = ("maximum context length", "context length", "max_model_len", "too long")


@dataclass(frozen=True)
class EngineConfig:
    """Connection and constraint settings shared by the sync and async engines.

    Attributes:
        api_base: The server's OpenAI-compatible base URL (``http://host:8000/v1``), or None to
            use lift-dspy's embedded local server (started on first use).
        api_key: Bearer token, if the server wants one. Never logged, dumped or saved.
        timeout: Seconds to wait for a response (connect is bounded separately to 10 s).
        options: How constraints are built (``lenient``, ``max_text_chars``, ``derive_bounds``).
        constrain: False sends no constraint at all (a baseline; answers are not validated).
        backend: The server's structured-output backend (see :mod:`lift_dspy.backends`).
            ``guidance`` takes every constraint and is checked byte for byte; ``xgrammar`` (vLLM's
            other backends) and ``openai`` (any OpenAI-compatible provider, ``response_format``)
            take JSON Schemas only, so chat-layout calls run in JSON mode and answers are checked
            by value; ``auto`` asks the server on first use.
        on_unconstrained: A module call that cannot be constrained: ``raise`` (default, before
            anything is sent), ``warn`` or ``allow`` (sent unconstrained). See GuidanceLM.
        trim_prompt: Send the system message without DSPy's JSON Schema notes on output fields
            (the grammar forces that structure; :mod:`lift_dspy.trim`).
    """

    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 600.0
    options: Options = field(default_factory=Options)
    constrain: bool = True
    backend: BackendChoice = "guidance"
    on_unconstrained: OnUnconstrained = "raise"
    trim_prompt: bool = False

    def public_state(self) -> dict[str, Any]:
        """The settings that can be saved (everything but the key)."""
        return {
            "api_base": self.api_base,
            "timeout": self.timeout,
            "lenient": self.options.lenient,
            "max_text_chars": self.options.max_text_chars,
            "derive_bounds": self.options.derive_bounds,
            "constrain": self.constrain,
            "backend": self.backend,
            "on_unconstrained": self.on_unconstrained,
            "trim_prompt": self.trim_prompt,
        }


def _transport_error(exc: Exception, url: str) -> BackendUnavailableError:
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnavailableError(f"no answer in time ({type(exc).__name__})", url=url)
    return BackendUnavailableError(f"cannot reach the server ({type(exc).__name__}: {exc})", url=url)


@dataclass
class _Plan:
    url: str
    payload: dict[str, Any]
    constraint: Constraint | None
    started: float
    backend: Backend = "guidance"


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

    def _unavailable(self, plan: _Plan, exc: Exception) -> BackendUnavailableError:
        self.stats.record_error(
            plan.constraint, "BackendUnavailableError", time.perf_counter() - plan.started
        )
        return _transport_error(exc, plan.url)

    def _fallback_request(self, plan: _Plan, request: Request, error: BackendUnavailableError) -> Request:
        """The same request for the fallback LM; a JSON call carries our closed schema, not DSPy's."""
        logger.warning("%s; answering with the fallback LM %s", error.message, self.fallback.model)
        request = dataclasses.replace(request, model=self.fallback.model)
        if plan.constraint is not None and plan.constraint.format == "json":
            nested = response_format_for(plan.constraint)["json_schema"]
            config = dataclasses.replace(request.config, response_format={"type": "json_schema", **nested})
            request = dataclasses.replace(request, config=config)
        return request

    def _from_fallback(self, plan: _Plan, response: Response, error: BackendUnavailableError) -> Response:
        """Check the fallback's answer like any other and say where it came from.

        The answer is kept out of DSPy's cache entry for this (primary) call: the fallback LM
        caches it under its own key, and the primary answers the same call itself once it is back.
        """
        _keep_out_of_primary_cache()
        if plan.constraint is not None:
            plan.constraint.validate(response.message.text or "", model_name=self.fallback.model, exact=False)
        data = {"lift_dspy": {"fallback": self.fallback.model, "primary_error": error.message[:300]}}
        return dataclasses.replace(response, provider_data=data)

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

    # -- the two pure steps --------------------------------------------------------------------
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
        timeout = httpx.Timeout(self.config.timeout, connect=min(10.0, self.config.timeout))
        try:
            with httpx.Client(timeout=timeout, transport=self._sync_transport) as client:
                return detect_backend(client, self.config.api_base, model, self.headers())
        except BackendUnavailableError as exc:
            # Not remembered: the call itself will meet the same outage, and its error (or the
            # fallback LM) handles it; the next call asks again.
            logger.debug("backend detection skipped: %s", exc.message)
            return "guidance"

    def plan(self, request: Request) -> _Plan:
        """Resolve the constraint and build the payload for one request."""
        mark_engine_ran()
        constraint = (
            active_constraint(
                request, self.config.options.for_call(request.config.max_tokens), self.config.on_unconstrained
            )
            if self.config.constrain
            else None
        )
        backend = self.backend(request.model)
        if constraint is not None and constraint.format != "json" and backend in JSON_ONLY:
            stack = dspy.settings.caller_modules or []
            raise JSONModeRequiredError(backend=backend, signature=getattr(stack[-1], "signature", None))
        base, model = self._base_and_model(request)
        if backend == "openai":
            payload = build_payload(
                request,
                model=model,
                structured_outputs=None,
                response_format=response_format_for(constraint) if constraint else None,
            )
        else:
            payload = build_payload(
                request, model=model, structured_outputs=constraint.structured_outputs if constraint else None
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
        return _Plan(f"{base}/chat/completions", payload, constraint, time.perf_counter(), backend)

    def _feed(self, plan: _Plan, sse: SSEAccumulator, line: str) -> list[Any]:
        try:
            return sse.feed(line)
        except (ValueError, TypeError, AttributeError) as exc:
            raise BackendError(f"malformed stream line: {line[:200]!r}", url=plan.url, status=200) from exc

    def _end(self, plan: _Plan, sse: SSEAccumulator) -> StreamEndEvent:
        """Validate the streamed answer exactly like a non-streamed one."""
        response = self.finish(plan, 200, sse.body())
        return StreamEndEvent(finish_reason=response.finish_reason, usage=response.usage)

    def headers(self) -> dict[str, str]:
        """Request headers (the bearer token only when configured)."""
        headers = {"Content-Type": "application/json", "User-Agent": "lift-dspy"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def finish(self, plan: _Plan, status: int, body: bytes) -> Response:
        """Turn the server's answer into a validated Response, or raise a typed error."""
        try:
            return self._finish(plan, status, body)
        except Exception as exc:
            self.stats.record_error(plan.constraint, type(exc).__name__, time.perf_counter() - plan.started)
            raise

    def _finish(self, plan: _Plan, status: int, body: bytes) -> Response:
        text_body = body.decode("utf-8", "replace")
        model = plan.payload["model"]
        if status >= 400:
            _raise_http_error(status, text_body, plan.url, model)
        try:
            data = _json(body)
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            reason = choice.get("finish_reason") or "stop"
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BackendError(
                f"malformed chat completion body: {text_body[:200]!r}", url=plan.url, status=status
            ) from exc
        if reason not in _FINISH:
            raise BackendError(f"generation ended with finish_reason={reason!r}", url=plan.url, status=status)
        usage = data.get("usage") or {}
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
            id=data.get("id"),
            model=data.get("model") or model,
            message=message,
            finish_reason="tool_call" if called else _FINISH[reason],
            usage=Usage(
                input_tokens=usage.get("prompt_tokens"),
                output_tokens=usage.get("completion_tokens"),
                total_tokens=usage.get("total_tokens"),
            ),
            logprobs=response_logprobs(choice),
        )


def _json(body: bytes) -> Any:
    import json

    return json.loads(body)


def _raise_http_error(status: int, text: str, url: str, model: str) -> None:
    message = text
    with contextlib.suppress(ValueError, AttributeError):
        message = _json(text.encode()).get("error", {}).get("message", text) or text
    if status == 400 and any(marker in message.lower() for marker in _CONTEXT_MARKERS):
        raise ContextWindowExceededError(model=model, message=f"{message[:300]} (POST {url})")
    if status in (401, 403):
        raise BackendAuthError(
            f"HTTP {status}: the server refused the credentials ({message[:300]}). Set api_key= or "
            "$LIFT_DSPY_API_KEY to a key it accepts",
            url=url,
            status=status,
            body=text[:2000],
        )
    if status == 429:
        raise BackendRateLimitError(
            f"HTTP 429: rate limited ({message[:300]}); DSPy retries with backoff (num_retries)",
            url=url,
            status=status,
            body=text[:2000],
        )
    if status >= 500:
        raise BackendServerError(
            f"server error {status}: {message[:300]}", url=url, status=status, body=text[:2000]
        )
    raise BackendError(f"HTTP {status}: {message[:500]}", url=url, status=status, body=text[:2000])


def _keep_out_of_primary_cache() -> None:
    """Stop DSPy from storing the answer of the LM call being executed (a fallback answered it).

    DSPy decides to store a result in its cache after the engine returns, from the ``cache``
    flag of the call it is executing; that call object is a local of DSPy's ``execute`` (or
    ``aexecute``) frame, on this stack (a running coroutine chain is on the stack too).
    """
    from dspy.clients.execution import PreparedCall

    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in ("execute", "aexecute"):
            call = frame.f_locals.get("call")
            if isinstance(call, PreparedCall):
                call.cache = False
                return
        frame = frame.f_back
    logger.debug("fallback answer: DSPy's executing call not found; its cache entry may hold it")


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
                timeout = httpx.Timeout(self.config.timeout, connect=min(10.0, self.config.timeout))
                limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
                self._client = httpx.Client(timeout=timeout, limits=limits, transport=self._transport)
            return self._client

    def complete(self, request: Request) -> Response:
        """Run one constrained completion."""
        plan = self.plan(request)
        try:
            reply = self._http().post(plan.url, json=plan.payload, headers=self.headers())
        except httpx.HTTPError as exc:
            error = self._unavailable(plan, exc)
            if self.fallback is None:
                raise error from exc
            response = self.fallback(self._fallback_request(plan, request, error))
            return self._from_fallback(plan, response, error)
        return self.finish(plan, reply.status_code, reply.content)

    def stream(self, request: Request) -> Iterator[Any]:
        """Stream text deltas as they are generated; validate the whole answer at the end."""
        plan = self.plan(request)
        sse = SSEAccumulator()
        try:
            with self._http().stream(
                "POST", plan.url, json=stream_payload(plan.payload), headers=self.headers()
            ) as reply:
                if reply.status_code >= 400:
                    self.finish(plan, reply.status_code, reply.read())
                yield sse.start()
                for line in reply.iter_lines():
                    yield from self._feed(plan, sse, line)
        except httpx.HTTPError as exc:
            raise self._unavailable(plan, exc) from exc
        yield self._end(plan, sse)

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
            limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
            timeout = httpx.Timeout(self.config.timeout, connect=min(10.0, self.config.timeout))
            client = httpx.AsyncClient(timeout=timeout, limits=limits, transport=self._transport)
            self._clients[loop] = client
        return client

    async def complete(self, request: Request) -> Response:
        """Run one constrained completion."""
        if self.config.api_base is None or self.config.backend == "auto":
            # The first call may start the embedded server or ask the server for its backend:
            # keep the event loop free meanwhile.
            plan = await asyncio.to_thread(self.plan, request)
        else:
            plan = self.plan(request)
        try:
            reply = await self._http().post(plan.url, json=plan.payload, headers=self.headers())
        except httpx.HTTPError as exc:
            error = self._unavailable(plan, exc)
            if self.fallback is None:
                raise error from exc
            response = await self.fallback.acall(self._fallback_request(plan, request, error))
            return self._from_fallback(plan, response, error)
        return self.finish(plan, reply.status_code, reply.content)

    async def stream(self, request: Request) -> AsyncIterator[Any]:
        """Stream text deltas as they are generated; validate the whole answer at the end."""
        plan = self.plan(request)
        sse = SSEAccumulator()
        try:
            async with self._http().stream(
                "POST", plan.url, json=stream_payload(plan.payload), headers=self.headers()
            ) as reply:
                if reply.status_code >= 400:
                    self.finish(plan, reply.status_code, await reply.aread())
                yield sse.start()
                async for line in reply.aiter_lines():
                    for event in self._feed(plan, sse, line):
                        yield event
        except httpx.HTTPError as exc:
            raise self._unavailable(plan, exc) from exc
        yield self._end(plan, sse)

    async def aclose(self) -> None:
        """Close this loop's connection pool."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
