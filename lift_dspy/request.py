"""A DSPy ``lm15.Request`` + a constraint -> the exact vLLM chat-completions payload. Pure.

The constraint travels as ``structured_outputs`` (vLLM >= 0.12). The legacy ``guided_*`` fields
are refused: vLLM answers them with HTTP 200 and an *unconstrained* output.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from dspy.lm15 import Request, TokenLogprob, TopLogprob

from lift_dspy.errors import InvalidRequestError

__all__ = [
    "LEGACY_FIELDS",
    "build_payload",
    "openai_messages",
    "openai_response_format",
    "openai_tool",
    "refuse_legacy_fields",
    "response_logprobs",
]

LEGACY_FIELDS = frozenset(
    {
        "guided_json",
        "guided_regex",
        "guided_choice",
        "guided_grammar",
        "guided_decoding_backend",
        "guided_whitespace_pattern",
        "guided_json_object",
    }
)
_SAMPLING = ("temperature", "top_p", "top_k", "seed", "frequency_penalty", "presence_penalty")


def _part_content(part: Any) -> dict[str, Any]:
    kind = getattr(part, "type", None)
    if kind in ("text", "thinking"):
        return {"type": "text", "text": part.text}
    if kind == "image":
        if part.url:
            url = part.url
        elif part.data:
            data = part.data if isinstance(part.data, str) else base64.b64encode(part.data).decode()
            url = f"data:{part.media_type};base64,{data}"
        else:
            raise InvalidRequestError("an image part needs url= or data=", option="image")
        return {"type": "image_url", "image_url": {"url": url}}
    raise InvalidRequestError(
        f"message part of type {kind!r} cannot be sent to a vLLM chat endpoint by lift-dspy; "
        "send text or images",
        option=str(kind),
    )


def _content(parts: tuple[Any, ...]) -> str | list[dict[str, Any]]:
    if all(getattr(part, "type", None) == "text" for part in parts):
        return "".join(part.text for part in parts)
    return [_part_content(part) for part in parts]


def refuse_legacy_fields(options: Mapping[str, Any]) -> None:
    """Refuse vLLM's legacy ``guided_*`` options, which vLLM >= 0.12 silently ignores.

    Raises:
        InvalidRequestError: naming the first legacy field.
    """
    legacy = sorted(LEGACY_FIELDS.intersection(options))
    if legacy:
        raise InvalidRequestError(
            f"{legacy} are ignored by vLLM >= 0.12 (HTTP 200, unconstrained output). lift-dspy builds the "
            "constraint from each signature: drop these arguments",
            option=legacy[0],
        )


def openai_messages(request: Request) -> list[dict[str, Any]]:
    """The request's system prompt and messages in OpenAI chat form."""
    messages: list[dict[str, Any]] = []
    if request.system is not None:
        system = request.system if isinstance(request.system, str) else _content(request.system)
        messages.append({"role": "system", "content": system})
    for message in request.messages:
        role = "system" if message.role == "developer" else message.role
        messages.append({"role": role, "content": _content(message.parts)})
    return messages


def openai_response_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """DSPy's flat ``{"type": "json_schema", "schema": ...}`` in OpenAI's nested shape."""
    if response_format.get("type") == "json_schema" and "json_schema" not in response_format:
        return {
            "type": "json_schema",
            "json_schema": {
                "name": response_format.get("name", "response"),
                "schema": response_format.get("schema", {}),
                "strict": response_format.get("strict", True),
            },
        }
    return dict(response_format)


def openai_tool(tool: Any) -> dict[str, Any]:
    """An lm15 ``FunctionTool`` in OpenAI's ``{"type": "function", "function": {...}}`` form.

    Raises:
        InvalidRequestError: a provider built-in tool (web search, code execution, ...).
    """
    if getattr(tool, "type", None) != "function":
        raise InvalidRequestError(
            f"the built-in tool {getattr(tool, 'name', tool)!r} cannot be sent to vLLM; "
            "declare function tools",
            option="tools",
        )
    function: dict[str, Any] = {"name": tool.name, "parameters": dict(tool.parameters)}
    if tool.description is not None:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def response_logprobs(choice: Mapping[str, Any]) -> tuple[TokenLogprob, ...] | None:
    """The token log-probabilities of a chat-completion choice, as DSPy's lm15 ``Response`` holds them.

    vLLM answers ``logprobs=True`` with ``{"content": [{"token", "logprob", "bytes", "top_logprobs"}]}``;
    with a constraint these are the model's scores of the tokens the grammar allowed (vLLM reports
    -9999.0 for masked alternatives). None when the choice has none.
    """
    content = (choice.get("logprobs") or {}).get("content")
    if not isinstance(content, list):
        return None
    return tuple(
        TokenLogprob(
            token=item["token"],
            logprob=float(item["logprob"]),
            bytes=tuple(item["bytes"]) if item.get("bytes") is not None else None,
            top=tuple(
                TopLogprob(
                    token=top["token"],
                    logprob=float(top["logprob"]),
                    bytes=tuple(top["bytes"]) if top.get("bytes") is not None else None,
                )
                for top in item.get("top_logprobs") or ()
            ),
        )
        for item in content
    )


CACHE_KEY_FIELD = "lift_dspy_constraint"


def build_payload(
    request: Request,
    *,
    model: str,
    structured_outputs: Mapping[str, Any] | None,
    response_format: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/chat/completions`` for one completion.

    Args:
        request: The canonical DSPy request (messages, system prompt, generation config).
        model: The model name the server serves.
        structured_outputs: The constraint (``{"grammar": ...}``, ``{"json": ...}``, ...) or None
            for an unconstrained call. It is referenced, not copied: callers must not mutate it.
        response_format: The constraint as an OpenAI-standard ``response_format`` instead (for
            providers that are not vLLM); replaces the request's own.

    Native ``tools`` go out only with a constraint (one that writes the calls, see
    :mod:`lift_dspy.constraints.native_tools`), with ``tool_choice="none"``: the chat template still
    shows the tools to the model, and vLLM (which needs a model-specific tool parser for any other
    choice) leaves the text to the grammar.

    Raises:
        InvalidRequestError: tools without a constraint, a legacy ``guided_*`` field, or a part vLLM
            cannot take.
    """
    if request.tools and structured_outputs is None and response_format is None:
        raise InvalidRequestError(
            "native tool calls are sent only under lift-dspy's constraint, which holds every call to the "
            "declared tools and their argument schemas; make the call from a dspy.Predict whose signature "
            "has a dspy.ToolCalls output (or use dspy.ReAct)",
            option="tools",
        )
    config = request.config
    payload: dict[str, Any] = {"model": model, "messages": openai_messages(request)}
    if request.tools:
        payload["tools"] = [openai_tool(tool) for tool in request.tools]
        payload["tool_choice"] = "none"
    if config.max_tokens is not None:
        payload["max_tokens"] = config.max_tokens
    for name in _SAMPLING:
        value = getattr(config, name)
        if value is not None:
            payload[name] = value
    if config.stop:
        payload["stop"] = list(config.stop)
    if config.logprobs is not None:
        payload["logprobs"] = True
        if config.logprobs > 0:
            payload["top_logprobs"] = config.logprobs
    extensions = dict(config.extensions or {})
    refuse_legacy_fields(extensions)
    _drop_cache_key(extensions)
    if structured_outputs is not None:
        extensions.pop("structured_outputs", None)
        extensions.pop("response_format", None)
        payload["structured_outputs"] = structured_outputs
    elif response_format is not None:
        extensions.pop("structured_outputs", None)
        extensions.pop("response_format", None)
        payload["response_format"] = dict(response_format)
    elif config.response_format is not None:
        payload["response_format"] = openai_response_format(config.response_format)
    payload.update(extensions)
    return payload


def _drop_cache_key(extensions: dict[str, Any]) -> None:
    """Remove GuidanceLM's constraint fingerprint: it is there for DSPy's cache key, not the server."""
    metadata = extensions.get("metadata")
    if isinstance(metadata, Mapping) and CACHE_KEY_FIELD in metadata:
        rest = {key: value for key, value in metadata.items() if key != CACHE_KEY_FIELD}
        if rest:
            extensions["metadata"] = rest
        else:
            del extensions["metadata"]
