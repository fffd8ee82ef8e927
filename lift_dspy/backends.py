"""Which structured-output backend a server runs, and how each one is sent a constraint.

* ``guidance`` -- vLLM with ``--structured-outputs-config '{"backend":"guidance"}'``: every
  constraint (Lark grammars for DSPy's chat layout, JSON Schemas) goes in ``structured_outputs``
  and every answer is checked byte for byte against it.
* ``xgrammar`` -- vLLM with another backend (xgrammar, outlines, ...): JSON Schemas only, in
  ``structured_outputs``; answers are checked by value (the backend writes its own whitespace).
* ``openai`` -- any other OpenAI-compatible provider: JSON Schemas only, as the standard
  ``response_format: {"type": "json_schema", ...}``; answers are checked by value.

On a JSON-only backend a signature run through DSPy's ChatAdapter is switched to JSON mode for
that call (see :class:`~lift_dspy.errors.JSONModeRequiredError`). ``auto`` asks the server once
(`detect_backend`) and remembers the answer per (URL, model) for the life of the process.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Literal, get_args

import httpx

from lift_dspy.completion import parse_completion
from lift_dspy.constraints import Constraint
from lift_dspy.constraints.check import GrammarMatcher, grammar_from_lark
from lift_dspy.errors import (
    BackendAuthError,
    BackendError,
    BackendRateLimitError,
    BackendServerError,
    BackendUnavailableError,
)

__all__ = [
    "JSON_ONLY",
    "PROBE_LARK",
    "PROBE_SCHEMA",
    "Backend",
    "BackendChoice",
    "detect_backend",
    "response_format_for",
]

Backend = Literal["guidance", "xgrammar", "openai"]
BackendChoice = Literal["guidance", "xgrammar", "openai", "auto"]
BACKENDS: tuple[str, ...] = get_args(BackendChoice)
JSON_ONLY: frozenset[str] = frozenset({"xgrammar", "openai"})

PROBE_COLORS = ("red", "green", "blue")
PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "color": {"enum": list(PROBE_COLORS)},
        "count": {"type": "integer", "minimum": 0, "maximum": 99},
    },
    "required": ["color", "count"],
    "additionalProperties": False,
    "x-guidance": {"whitespace_flexible": False},
}
# `%json{}` inside Lark and `[lazy]` lexemes exist only in llguidance's Lark dialect.
PROBE_LARK = (
    'start: "color=" obj "\\n" "note: " note\n'
    f"obj: %json{json.dumps(PROBE_SCHEMA, separators=(',', ':'))}\n"
    "note[lazy]: /[a-z ]{0,30}\\./\n"
)
PROBE_PROMPT = 'Write color={"color": ..., "count": ...}, a newline, then "note: " and a short note.'

_detected: dict[tuple[str, str], Backend] = {}
_detect_lock = threading.Lock()
_probe_matcher: list[GrammarMatcher] = []


def probe_accepts(text: str) -> bool:
    """True if ``text`` is a complete sentence of `PROBE_LARK` (llguidance's own matcher)."""
    if not _probe_matcher:
        _probe_matcher.append(GrammarMatcher(grammar_from_lark(PROBE_LARK)))
    return _probe_matcher[0].mismatch(text) is None


def detect_backend(
    client: httpx.Client, api_base: str, model: str, headers: dict[str, str] | None = None
) -> Backend:
    """Ask the server which backend it runs; remembered per (``api_base``, ``model``).

    A server without vLLM's ``/version`` is a generic OpenAI-compatible provider (``openai``). A vLLM
    server gets one short request with a Lark grammar only llguidance accepts: answered and
    conforming means ``guidance``; a definitive grammar rejection (HTTP 400 whose body says the
    grammar was not understood, or an HTTP 5xx that only the grammar gets: a JSON-Schema request to
    the same server succeeds and the probe fails again, which is how vLLM 0.32's xgrammar answers)
    means another backend (``xgrammar``). Any other error is raised
    and nothing is remembered: the next call asks again.

    Raises:
        BackendUnavailableError: the server cannot be reached.
        BackendAuthError: HTTP 401/403 (the key was refused).
        BackendRateLimitError: HTTP 429.
        BackendServerError: HTTP 5xx.
        BackendError: the server answered the grammar request with text that does not conform
            (it ignores constraints: an old vLLM, or a proxy that drops ``structured_outputs``),
            or refused it with another 4xx.
    """
    base = api_base.rstrip("/")
    key = (base, model)
    with _detect_lock:
        if key in _detected:
            return _detected[key]
    backend = _ask_server_backend(client, base, model, headers or {})
    with _detect_lock:
        _detected[key] = backend
    return backend


def remembered(api_base: str, model: str) -> Backend | None:
    """The backend `detect_backend` found for (``api_base``, ``model``), if it has run."""
    with _detect_lock:
        return _detected.get((api_base.rstrip("/"), model))


def _ask_server_backend(client: httpx.Client, base: str, model: str, headers: dict[str, str]) -> Backend:
    """The uncached detection behind `detect_backend` (its docstring says how)."""
    url = f"{base}/chat/completions"
    try:
        version = client.get(f"{base.removesuffix('/v1')}/version", headers=headers)
        is_vllm = version.status_code == 200 and "version" in _json_object(version.content)
        if not is_vllm:
            return "openai"
        payload = {
            "model": model,
            "messages": [{"role": "user", "content": PROBE_PROMPT}],
            "max_tokens": 64,
            "temperature": 0.0,
            "structured_outputs": {"grammar": PROBE_LARK},
        }
        reply = client.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        raise BackendUnavailableError(
            f"cannot reach the server to detect its backend ({type(exc).__name__}: {exc})", url=url
        ) from exc
    if reply.status_code >= 500 and _only_the_grammar_fails(client, url, payload, headers):
        # vLLM 0.32's xgrammar answers llguidance-only Lark with a bare HTTP 500: a definitive
        # rejection only if a portable request to the same server succeeds and the probe fails again.
        return "xgrammar"
    if reply.status_code >= 400:
        if grammar_rejected(reply.status_code, reply.text):
            return "xgrammar"
        raise _detection_error(reply.status_code, reply.text, url)
    try:
        choice = parse_completion(reply.content).choices[0]
    except (ValueError, IndexError) as exc:
        raise BackendError(f"malformed answer to the backend probe: {reply.text[:200]!r}", url=url) from exc
    text = choice.text
    if choice.finish_reason == "length" or not probe_accepts(text):
        raise BackendError(
            f"the server answered a grammar-constrained probe with non-conforming text {text[:80]!r}: it "
            "does not enforce structured_outputs. Use vLLM >= 0.12 without a proxy that drops fields; "
            "`lift-dspy doctor --api-base URL` shows what is wrong",
            url=url,
            status=reply.status_code,
        )
    return "guidance"


# A constraint every vLLM structured-output backend takes (JSON Schema), for the control request.
_CONTROL = {"json": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}}


def _only_the_grammar_fails(
    client: httpx.Client, url: str, payload: dict[str, Any], headers: dict[str, str]
) -> bool:
    """After a 5xx to the probe: a JSON-Schema request succeeds and the probe fails again with 5xx.

    Anything else (the control fails too, the server cannot be reached, the probe now succeeds) is
    not a grammar rejection: the caller reports the original error and remembers nothing.
    """
    control = {**payload, "max_tokens": 8, "structured_outputs": _CONTROL}
    try:
        if client.post(url, json=control, headers=headers).status_code != 200:
            return False
        return client.post(url, json=payload, headers=headers).status_code >= 500
    except httpx.HTTPError:
        return False


# What vLLM's other structured-output backends answer to a Lark grammar with llguidance-only syntax
# (xgrammar: "Failed to convert the grammar from Lark to EBNF" / "grammar ... not supported";
# outlines: "... grammar ...": every such answer is an HTTP 400 whose message names the grammar).
_GRAMMAR_MARKERS = ("grammar", "lark", "ebnf", "structured output", "structured_output")


def grammar_rejected(status: int, body: str) -> bool:
    """True if the server refused the probe because it cannot take the grammar (HTTP 400)."""
    if status != 400:
        return False
    error = _json_object(body.encode("utf-8", "replace")).get("error")
    message = error.get("message") if isinstance(error, dict) else error
    text = (message if isinstance(message, str) else body).lower()
    return any(marker in text for marker in _GRAMMAR_MARKERS)


def _detection_error(status: int, body: str, url: str) -> BackendError:
    where = "while detecting the server's structured-output backend (backend='auto'; not remembered)"
    detail = body[:300]
    if status in (401, 403):
        return BackendAuthError(
            f"HTTP {status} {where}: the key was refused ({detail}). Set api_key= or $LIFT_DSPY_API_KEY",
            url=url,
            status=status,
            body=body[:2000],
        )
    if status == 429:
        return BackendRateLimitError(f"HTTP 429 {where}: rate limited ({detail})", url=url, status=status)
    if status >= 500:
        return BackendServerError(
            f"HTTP {status} {where}: {detail}", url=url, status=status, body=body[:2000]
        )
    return BackendError(
        f"HTTP {status} {where}: {detail}. If this server cannot take grammars, pass backend='xgrammar' "
        "(vLLM) or backend='openai'",
        url=url,
        status=status,
        body=body[:2000],
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def response_format_for(constraint: Constraint) -> dict[str, Any]:
    """The OpenAI-standard ``response_format`` for a JSON constraint (llguidance keys removed)."""
    schema = constraint.structured_outputs["json"]
    return {
        "type": "json_schema",
        "json_schema": {
            "name": constraint.signature_name,
            "schema": _without_guidance(schema),
            "strict": True,
        },
    }


def _without_guidance(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_guidance(item) for key, item in value.items() if key != "x-guidance"}
    if isinstance(value, list):
        return [_without_guidance(item) for item in value]
    return value
