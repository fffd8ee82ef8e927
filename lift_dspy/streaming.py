"""Server-sent events from vLLM's chat endpoint -> DSPy stream events, validated at the end.

Deltas are forwarded as they arrive (``dspy.streamify`` shows field values while they are being
generated); when the stream ends, the whole text goes through the same check as a non-streamed
answer, so a stream either ends with a validated ``StreamEndEvent`` or raises a typed error.
"""

from __future__ import annotations

import json
from typing import Any

from dspy.lm15 import StreamDeltaEvent, StreamStartEvent, TextDelta

__all__ = ["SSEAccumulator", "stream_payload"]


def stream_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The same payload, asking for a stream that ends with token usage."""
    return {**payload, "stream": True, "stream_options": {"include_usage": True}}


class SSEAccumulator:
    """Reads ``data:`` lines, yields DSPy events, and rebuilds the final chat-completion body."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.started = False
        self.done = False

    def start(self) -> StreamStartEvent:
        """The leading event DSPy's stream guard expects."""
        self.started = True
        return StreamStartEvent(id=self.id, model=self.model)

    def feed(self, line: str) -> list[Any]:
        """Events for one SSE line (empty for comments, keep-alives and usage-only chunks).

        Raises:
            ValueError: the line is not JSON (the caller turns it into a BackendError).
        """
        if not line.startswith("data:"):
            return []
        data = line[5:].strip()
        if data == "[DONE]":
            self.done = True
            return []
        chunk = json.loads(data)
        self.id = self.id or chunk.get("id")
        self.model = self.model or chunk.get("model")
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        events: list[Any] = []
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                self.parts.append(text)
                events.append(StreamDeltaEvent(delta=TextDelta(text=text, part_index=0)))
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return events

    def body(self) -> bytes:
        """The equivalent non-streamed response body, for the shared validation step."""
        message = {"role": "assistant", "content": "".join(self.parts)}
        body = {
            "id": self.id,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": self.usage or {},
        }
        return json.dumps(body).encode()
