"""Per-sample accounting of LM calls: seconds, tokens and errors, whatever the configuration.

Three sources feed one :class:`CallLog`:

* :class:`CallRecorder`, a DSPy callback: the time and error of every ``dspy.LM`` call and every
  adapter parse error (stock DSPy and GuidanceLM alike);
* :class:`UsageTransport`, an ``httpx`` transport around GuidanceLM's own: the ``usage`` of every
  completion, including answers lift-dspy then rejects (DSPy keeps no history for those);
* the hand-rolled baseline, which writes to the log directly.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from dspy.utils.callback import BaseCallback

__all__ = ["Call", "CallLog", "CallRecorder", "UsageTransport"]

_ENCODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class Call:
    """One LM call (``output_tokens`` None when the server reported no usage)."""

    seconds: float
    output_tokens: int | None = None
    prompt_tokens: int | None = None
    error: str | None = None


@dataclass
class CallLog:
    """Thread-safe list of the calls of one sample, plus the adapter parse errors."""

    calls: list[Call] = field(default_factory=list)
    parse_errors: Counter[str] = field(default_factory=Counter)
    usage: list[tuple[int, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self,
        seconds: float,
        *,
        output_tokens: int | None = None,
        prompt_tokens: int | None = None,
        error: str | None = None,
    ) -> None:
        """Record one call."""
        with self._lock:
            self.calls.append(Call(seconds, output_tokens, prompt_tokens, error))

    def add_usage(self, output_tokens: int, prompt_tokens: int) -> None:
        """Record the usage of one completion seen on the wire (may come without a timed call)."""
        with self._lock:
            self.usage.append((output_tokens, prompt_tokens))

    def add_parse_error(self, error: str) -> None:
        """Record an adapter that could not parse an answer."""
        with self._lock:
            self.parse_errors[error] += 1

    def totals(self) -> dict[str, Any]:
        """``lm_calls``, ``lm_seconds``, ``output_tokens``, ``prompt_tokens``, ``call_errors``."""
        with self._lock:
            errors: Counter[str] = Counter(c.error for c in self.calls if c.error)
            errors.update(self.parse_errors)
            if self.usage:  # the wire is the most complete source when there is one
                output = sum(o for o, _ in self.usage)
                prompt = sum(p for _, p in self.usage)
            else:
                output = sum(c.output_tokens or 0 for c in self.calls)
                prompt = sum(c.prompt_tokens or 0 for c in self.calls)
            return {
                "lm_calls": len(self.calls),
                "lm_seconds": sum(c.seconds for c in self.calls),
                "output_tokens": output,
                "prompt_tokens": prompt,
                "call_errors": dict(errors),
            }


class CallRecorder(BaseCallback):
    """A DSPy callback that times LM calls and counts LM and adapter-parse errors into a log."""

    def __init__(self, log: CallLog) -> None:
        self.log = log
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        """Remember when the call started."""
        with self._lock:
            self._started[call_id] = time.perf_counter()

    def on_lm_end(self, call_id: str, outputs: Any | None, exception: BaseException | None = None) -> None:
        """Log the call's duration and error type."""
        with self._lock:
            started = self._started.pop(call_id, None)
        if started is not None:
            error = type(exception).__name__ if exception is not None else None
            self.log.add(time.perf_counter() - started, error=error)

    def on_adapter_parse_end(
        self, call_id: str, outputs: dict[str, Any] | None, exception: BaseException | None = None
    ) -> None:
        """Count answers the adapter could not parse."""
        if exception is not None:
            self.log.add_parse_error(type(exception).__name__)


class UsageTransport(httpx.BaseTransport):
    """Wrap a transport and log the ``usage`` of every chat completion that passes through it."""

    def __init__(self, log: CallLog, inner: httpx.BaseTransport | None = None) -> None:
        self.log = log
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward the request; read the body's usage."""
        response = self.inner.handle_request(request)
        body = response.read()
        try:
            usage = json.loads(body).get("usage") or {}
            self.log.add_usage(int(usage.get("completion_tokens") or 0), int(usage.get("prompt_tokens") or 0))
        except (ValueError, AttributeError, TypeError):
            pass
        # The body is already decoded: drop the headers that describe the encoded one.
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _ENCODED]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()
