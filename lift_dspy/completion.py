"""vLLM's chat-completions endpoint on the wire: the one body parser, timeout and HTTP error map.

Every reader of a chat-completion body (the engine, the backend probe, ``lift-dspy doctor``) goes
through :func:`parse_completion`; every client is built with :func:`http_timeout`. Pure but for
the ``httpx`` types.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from dspy.utils.exceptions import ContextWindowExceededError

from lift_dspy.errors import (
    BackendAuthError,
    BackendError,
    BackendRateLimitError,
    BackendServerError,
    BackendUnavailableError,
)

__all__ = [
    "ChatChoice",
    "ChatCompletion",
    "http_error",
    "http_timeout",
    "parse_completion",
    "transport_error",
]

_CONNECT_SECONDS = 10.0
_CONTEXT_MARKERS = ("maximum context length", "context length", "max_model_len", "too long")


def http_timeout(seconds: float) -> httpx.Timeout:
    """``seconds`` for a response; connecting is bounded separately to 10 s (or less)."""
    return httpx.Timeout(seconds, connect=min(_CONNECT_SECONDS, seconds))


@dataclass(frozen=True)
class ChatChoice:
    """One choice: its text (``""`` for a null content), finish reason, and the raw mapping."""

    text: str
    finish_reason: str | None
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class ChatCompletion:
    """A parsed ``chat.completion`` body."""

    id: str | None
    model: str | None
    choices: tuple[ChatChoice, ...]
    usage: Mapping[str, Any]


def parse_completion(body: bytes | str) -> ChatCompletion:
    """Parse a chat-completion body.

    Raises:
        ValueError: the body is not a chat completion (not JSON, no ``choices``, a choice without
            a message); callers turn it into their own typed error or report line.
    """
    try:
        data = json.loads(body)
        choices = tuple(
            ChatChoice(str(raw["message"].get("content") or ""), raw.get("finish_reason"), raw)
            for raw in data["choices"]
        )
        usage = data.get("usage") or {}
        if not isinstance(usage, Mapping):
            raise TypeError("usage is not an object")
        return ChatCompletion(data.get("id"), data.get("model"), choices, usage)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a chat completion ({type(exc).__name__}: {exc})") from exc


def transport_error(exc: Exception, url: str) -> BackendUnavailableError:
    """An ``httpx`` transport failure (no HTTP status) as lift-dspy's error."""
    if isinstance(exc, httpx.TimeoutException):
        return BackendUnavailableError(f"no answer in time ({type(exc).__name__})", url=url)
    return BackendUnavailableError(f"cannot reach the server ({type(exc).__name__}: {exc})", url=url)


def http_error(status: int, text: str, url: str, model: str) -> Exception:
    """The typed error for an HTTP error status of a completion request (``status >= 400``)."""
    message = text
    with contextlib.suppress(ValueError, AttributeError):
        message = json.loads(text).get("error", {}).get("message", text) or text
    if status == 400 and any(marker in message.lower() for marker in _CONTEXT_MARKERS):
        return ContextWindowExceededError(model=model, message=f"{message[:300]} (POST {url})")
    if status in (401, 403):
        return BackendAuthError(
            f"HTTP {status}: the server refused the credentials ({message[:300]}). Set api_key= or "
            "$LIFT_DSPY_API_KEY to a key it accepts",
            url=url,
            status=status,
            body=text[:2000],
        )
    if status == 429:
        return BackendRateLimitError(
            f"HTTP 429: rate limited ({message[:300]}); DSPy retries with backoff (num_retries)",
            url=url,
            status=status,
            body=text[:2000],
        )
    if status >= 500:
        return BackendServerError(
            f"server error {status}: {message[:300]}", url=url, status=status, body=text[:2000]
        )
    return BackendError(f"HTTP {status}: {message[:500]}", url=url, status=status, body=text[:2000])
