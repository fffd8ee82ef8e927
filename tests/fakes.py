"""An HTTP-level fake of vLLM's chat endpoint (httpx.MockTransport) for the fast test layers.

It answers only what a test scripted; anything else is an HTTP 500 naming the problem, never a
default answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

import lift_dspy

Reply = str | tuple[str, str] | httpx.Response | Callable[[dict[str, Any]], Any]


@dataclass
class FakeVLLM:
    """Scripted answers, in order; records every payload it receives."""

    replies: list[Reply] = field(default_factory=list)
    payloads: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/chat/completions":
            return httpx.Response(404, json={"error": {"message": f"unexpected path {request.url.path}"}})
        payload = json.loads(request.content)
        self.payloads.append(payload)
        if not self.replies:
            return httpx.Response(500, json={"error": {"message": "FakeVLLM: no scripted answer left"}})
        reply = self.replies.pop(0)
        if callable(reply):
            reply = reply(payload)
        if isinstance(reply, httpx.Response):
            return reply
        text, finish = reply if isinstance(reply, tuple) else (reply, "stop")
        if payload.get("stream"):
            return httpx.Response(200, text=_sse(text, finish, payload["model"]))
        return httpx.Response(
            200,
            json={
                "id": f"chatcmpl-{len(self.payloads)}",
                "object": "chat.completion",
                "model": payload["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                ],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            },
        )

    def lm(self, **kwargs: Any) -> lift_dspy.GuidanceLM:
        """A GuidanceLM wired to this fake (cache off unless asked)."""
        transport = httpx.MockTransport(self.handle)
        kwargs.setdefault("cache", False)
        kwargs.setdefault("num_retries", 0)
        return lift_dspy.GuidanceLM(
            "test-model",
            api_base="http://vllm.test/v1",
            transport=transport,
            async_transport=transport,
            **kwargs,
        )


def _sse(text: str, finish: str, model: str) -> str:
    """The text as vLLM streams it: a few deltas, the finish reason, usage, then [DONE]."""
    step = max(1, len(text) // 4)
    chunks = [text[i : i + step] for i in range(0, len(text), step)]
    lines = []
    for index, piece in enumerate(chunks):
        reason = finish if index == len(chunks) - 1 else None
        choice = {"index": 0, "delta": {"content": piece}, "finish_reason": reason}
        lines.append({"id": "chatcmpl-s", "model": model, "choices": [choice]})
    lines.append(
        {
            "id": "chatcmpl-s",
            "model": model,
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5},
        }
    )
    return "".join(f"data: {json.dumps(line)}\n\n" for line in lines) + "data: [DONE]\n\n"


def forget_detected() -> None:
    """Drop lift-dspy's remembered backend detections (tests reuse one URL for several backends)."""
    from lift_dspy import backends

    with backends._detect_lock:
        backends._detected.clear()
