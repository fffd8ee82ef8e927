"""The lift-dspy exception tree.

Every error is also a DSPy ``LMError``, so DSPy passes it through its engine boundary unchanged
(anything else reaches users wrapped as ``LMUnexpectedError``) and ``except LiftDSPyError`` works
around any DSPy call::

    LiftDSPyError (dspy LMError)
    ├── UnsupportedSchemaError       a signature/schema construct no constraint can express
    │   └── JSONModeRequiredError    a JSON-only backend got a chat-layout call (also a DSPy
    │                                AdapterParseError: ChatAdapter retries the call in JSON mode)
    ├── UnsupportedLanguageError     no code grammar for that language (also ValueError)
    ├── InvalidRequestError          a request lift-dspy will not send as asked: native tools, a
    │                                legacy guided_* option, a message part vLLM cannot take
    │                                (also ValueError)
    ├── UnconstrainedCallError       a module call lift-dspy cannot constrain, refused before
    │                                anything is sent (also dspy LMConfigurationError: no retry)
    ├── ConstraintViolationError     the server's answer does not conform (dropped constraint?)
    │   └── TruncatedOutputError     finish_reason == "length": the answer was cut off
    ├── BackendError                 the server answered with an HTTP error or a malformed body
    │   ├── BackendServerError       HTTP 5xx: transient (also dspy LMServerError, so DSPy retries)
    │   ├── BackendAuthError         HTTP 401/403: the key was refused (also dspy LMAuthError)
    │   ├── BackendRateLimitError    HTTP 429 (also dspy LMRateLimitError, so DSPy retries)
    │   └── BackendUnavailableError  the server could not be reached (also dspy LMTransportError)
    ├── ServerStartError             a managed vLLM server did not come up
    │   └── ModelPrepareError        a bundled model could not be fetched, verified or converted
    │       └── MissingExtraError    the server-side extra is not installed (also ImportError)
    ├── ToolCallError                an LM-proposed tool call cannot be resolved (also ValueError)
    │   ├── UnknownToolError         the name is not one of the tools; lists them
    │   └── ToolArgumentError        a parameter is missing, unknown, or invalid; names it
    └── ToolchainError               a compile check could not run
        └── ToolchainMissingError    the compiler is not installed; says how to install it

Each error carries structured facts (``field``, ``keyword``, ``option``, ``raw_text``, ``url``,
``status``, ``tool``, ``language``) and a message that says what to do next. Every class here is
exported from :mod:`lift_dspy`; modules that used to define one still re-export it.
"""

from __future__ import annotations

from typing import Any

from dspy.utils.exceptions import (
    AdapterParseError,
    DSPyError,
    LMAuthError,
    LMConfigurationError,
    LMError,
    LMRateLimitError,
    LMServerError,
    LMTransportError,
)

__all__ = [
    "BackendAuthError",
    "BackendError",
    "BackendRateLimitError",
    "BackendServerError",
    "BackendUnavailableError",
    "ConstraintViolationError",
    "InvalidRequestError",
    "JSONModeRequiredError",
    "LiftDSPyError",
    "MissingExtraError",
    "ModelPrepareError",
    "ServerStartError",
    "ToolArgumentError",
    "ToolCallError",
    "ToolchainError",
    "ToolchainMissingError",
    "TruncatedOutputError",
    "UnconstrainedCallError",
    "UnknownToolError",
    "UnsupportedLanguageError",
    "UnsupportedSchemaError",
]


class LiftDSPyError(LMError):
    """Base class of every lift-dspy error (and a DSPy ``LMError``)."""

    default_code = "lift_dspy"


class UnsupportedSchemaError(LiftDSPyError, ValueError):
    """A construct that cannot become a grammar constraint.

    Attributes:
        field: Dotted path of the offending field (``"ir.params[].type"``), or None for the root.
        keyword: The JSON Schema keyword (or Python type) that is not supported.
    """

    default_code = "unsupported_schema"

    def __init__(self, message: str, *, field: str | None = None, keyword: str | None = None) -> None:
        self.field = field
        self.keyword = keyword
        where = f"field {field!r}" if field else "the schema root"
        what = f"keyword {keyword!r}" if keyword else "construct"
        super().__init__(f"{what} at {where}: {message}")


class UnsupportedLanguageError(LiftDSPyError, ValueError):
    """No code grammar exists for this language.

    Attributes:
        language: The language that was asked for.
        supported: The languages that have a grammar.
    """

    default_code = "unsupported_language"

    def __init__(self, language: str, *, supported: tuple[str, ...]) -> None:
        self.language = language
        self.supported = supported
        super().__init__(
            f"no code grammar for language {language!r}: use one of {', '.join(supported)} "
            "(or leave that output unconstrained)"
        )


class JSONModeRequiredError(UnsupportedSchemaError, AdapterParseError):
    """A backend that takes JSON Schemas only was asked for DSPy's chat layout.

    Raised before anything is sent. It is also a DSPy ``AdapterParseError``, so DSPy's ChatAdapter
    (whose ``use_json_adapter_fallback`` is on by default) runs the same call again through
    ``dspy.JSONAdapter``: that signature runs in JSON mode on this backend, constrained.

    Attributes:
        backend: The backend that cannot take the chat grammar.
        signature_name: The signature that was being run.
    """

    default_code = "json_mode_required"

    def __init__(self, *, backend: str, signature: Any) -> None:
        self.backend = backend
        self.signature_name = getattr(signature, "__name__", "Signature")
        self.field = None
        self.keyword = "grammar"
        # AdapterParseError's fields, for DSPy code that reads them.
        self.adapter_name = "ChatAdapter"
        self.signature = signature
        self.lm_response = ""
        self.parsed_result = None
        DSPyError.__init__(
            self,
            f"the {backend} backend takes JSON Schemas only, not llguidance's Lark grammar of DSPy's chat "
            f"layout ({self.signature_name}). DSPy's ChatAdapter retries in JSON mode by itself; with "
            "use_json_adapter_fallback=False, configure dspy.configure(adapter=dspy.JSONAdapter()) or "
            "serve with the guidance backend",
        )


class InvalidRequestError(LiftDSPyError, ValueError):
    """A request lift-dspy will not send as asked (nothing about the output schema).

    Raised before anything is sent: native ``tools`` (lift-dspy constrains tool calls as output
    fields), vLLM's legacy ``guided_*`` options (vLLM >= 0.12 ignores them and answers
    unconstrained), or a message part a vLLM chat endpoint cannot take.

    Attributes:
        option: The request option or message part at fault (``"tools"``, ``"guided_json"``,
            ``"image"``).
    """

    default_code = "invalid_request"

    def __init__(self, message: str, *, option: str) -> None:
        self.option = option
        super().__init__(f"{option!r}: {message}")


class ConstraintViolationError(LiftDSPyError):
    """The server returned text that does not conform to the constraint that was sent.

    With a real llguidance backend this cannot happen; it means the server dropped or ignored
    the constraint (legacy ``guided_*`` fields, a different backend, a proxy in between).

    Attributes:
        raw_text: The complete text the server returned.
        field: The first output field that failed, or None if the layout itself is wrong.
        reason: What was wrong with it.
    """

    default_code = "constraint_violation"

    def __init__(
        self,
        reason: str,
        *,
        raw_text: str,
        field: str | None = None,
        model: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.raw_text = raw_text
        self.field = field
        self.reason = reason
        where = f"field {field!r}" if field else "output layout"
        hint = hint or (
            "The server did not enforce the constraint. Check it with `lift-dspy doctor --api-base URL` "
            '(vLLM >= 0.12 started with --structured-outputs-config \'{"backend":"guidance"}\').'
        )
        preview = raw_text if len(raw_text) <= 300 else raw_text[:300] + "..."
        super().__init__(f"{where}: {reason}. {hint} Raw output: {preview!r}", model=model)


class TruncatedOutputError(ConstraintViolationError):
    """The generation stopped at ``max_tokens`` before the structure was complete."""

    default_code = "truncated"

    def __init__(self, *, raw_text: str, max_tokens: int | None, model: str | None = None) -> None:
        self.max_tokens = max_tokens
        limit = f"max_tokens={max_tokens}" if max_tokens else "the server's token limit"
        super().__init__(
            f"output stopped at {limit} (finish_reason='length')",
            raw_text=raw_text,
            model=model,
            hint="Raise max_tokens, e.g. GuidanceLM(..., max_tokens=4096), or shorten the requested output.",
        )


class BackendError(LiftDSPyError):
    """The server answered with an HTTP error or a body that is not a chat completion.

    Attributes:
        url: The endpoint that was called.
        status: The HTTP status, when there was one.
        body: The start of the response body.
    """

    default_code = "backend"

    def __init__(self, message: str, *, url: str, status: int | None = None, body: str = "") -> None:
        self.url = url
        self.body = body
        super().__init__(f"{message} (POST {url})", status=status, provider="vllm")


class BackendServerError(BackendError, LMServerError):
    """HTTP 5xx from the server: transient, so DSPy retries it with backoff."""


class BackendUnavailableError(BackendError, LMTransportError):
    """The server could not be reached (connection refused, reset, timeout).

    DSPy treats it as transient and retries it; after the retries it reaches the caller.
    """

    default_code = "backend_unavailable"

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(
            f"{message}. Is a vLLM server running there? Start one with `lift-dspy serve --model smollm2` "
            "or omit api_base to let lift-dspy start a local one",
            url=url,
        )


class ServerStartError(LiftDSPyError):
    """A managed vLLM server exited or did not answer in time.

    Attributes:
        log_path: The server log, whose tail is included in the message.
    """

    default_code = "server_start"

    def __init__(self, message: str, *, log_path: str | None = None) -> None:
        self.log_path = log_path
        super().__init__(message)


class ModelPrepareError(ServerStartError):
    """A built-in model could not be downloaded, verified or converted."""

    default_code = "model_prepare"


class MissingExtraError(ModelPrepareError, ImportError):
    """A package of the server-side extra (torch, transformers, gguf, accelerate) is missing."""

    default_code = "missing_extra"


class ToolCallError(LiftDSPyError, ValueError):
    """A proposed tool call cannot be resolved into a valid one.

    Attributes:
        tool: The tool name as proposed.
    """

    default_code = "tool_call"

    def __init__(self, message: str, *, tool: str) -> None:
        self.tool = tool
        super().__init__(message)


class UnknownToolError(ToolCallError):
    """The proposed name is not one of the available tools.

    Attributes:
        available: The tool names that exist.
    """

    default_code = "unknown_tool"

    def __init__(self, tool: str, available: list[str]) -> None:
        self.available = available
        super().__init__(
            f"unknown tool {tool!r}; available tools: {', '.join(available) or '(none)'}", tool=tool
        )


class ToolArgumentError(ToolCallError):
    """One parameter of a tool call is missing, unknown or invalid.

    Attributes:
        parameter: The parameter's name (dotted for nested values, e.g. ``"filters.0"``).
        keyword: The JSON Schema keyword that failed (``"required"``, ``"type"``, ``"maximum"``...).
        reason: What is wrong with it.
    """

    default_code = "tool_argument"

    def __init__(self, tool: str, parameter: str, reason: str, *, keyword: str | None = None) -> None:
        self.parameter = parameter
        self.keyword = keyword
        self.reason = reason
        super().__init__(f"tool {tool!r}, parameter {parameter!r}: {reason}", tool=tool)


class ToolchainError(LiftDSPyError):
    """Base class of the compile-check errors (:mod:`lift_dspy.programs.toolchains`)."""

    default_code = "toolchain"


class ToolchainMissingError(ToolchainError):
    """The compiler for a language is not installed.

    Attributes:
        language: The language that was asked for.
        tool: The executable that was looked for.
    """

    default_code = "toolchain_missing"
    install_hint = "bash .ci/install-toolchains.sh"

    def __init__(self, language: str, tool: str, *, searched: str | None = None) -> None:
        self.language = language
        self.tool = tool
        where = f"on PATH or in {searched}" if searched else "on PATH"
        super().__init__(
            f"{tool} (needed to check {language} code) was not found {where}. "
            f"Install it with `{self.install_hint} {language}`"
        )


class UnconstrainedCallError(LiftDSPyError, LMConfigurationError):
    """A module call lift-dspy cannot constrain; raised before anything is sent.

    It is a DSPy ``LMConfigurationError`` (never retried by DSPy) and not an ``AdapterParseError``
    (so DSPy's ChatAdapter does not retry it through another, equally unconstrained, layout).
    ``GuidanceLM(on_unconstrained="warn")`` sends such calls unconstrained with a warning instead;
    ``"allow"`` sends them silently.

    Attributes:
        adapter: The class name of the adapter that wrote the prompt (None if unknown).
        signature_name: The signature the call was made for.
        reason: Why it cannot be constrained.
    """

    default_code = "unconstrained_call"

    def __init__(self, reason: str, *, adapter: str | None, signature: Any, fix: str) -> None:
        self.adapter = adapter
        self.signature_name = getattr(signature, "__name__", "Signature")
        self.reason = reason
        super().__init__(
            f"{self.signature_name}: {reason}; nothing was sent. {fix} (or GuidanceLM(..., "
            "on_unconstrained='warn') to send such calls unconstrained)"
        )


class BackendAuthError(BackendError, LMAuthError):
    """HTTP 401/403: the server refused the API key (never retried, never remembered)."""

    default_code = "backend_auth"


class BackendRateLimitError(BackendError, LMRateLimitError):
    """HTTP 429: the server is rate limiting (DSPy retries it with backoff)."""

    default_code = "backend_rate_limit"
