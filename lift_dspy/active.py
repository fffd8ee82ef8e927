"""Which signature a DSPy call is running, in which layout, and its constraint -- or a refusal.

DSPy's adapters cannot pass extra arguments to an LM. Two things are read instead:

* **The adapter call on the stack.** DSPy's ``Adapter.__call__``/``acall`` format the prompt for
  ``processed_signature`` and call the LM from that frame; that local is the signature the prompt
  was actually rendered for (a per-call override ``Predict(A)(signature=B)``, ``dspy.Refine``'s
  hint field, ``TwoStepAdapter``'s extraction signature, native types removed). The frame is
  found by its code object, so wrappers around the adapter (``Refine``'s ``WrapperAdapter``,
  subclasses overriding ``__call__`` that call ``super()``) do not hide it. Frames of a running
  coroutine chain are on the stack too, so this holds for ``acall`` as well; threads and
  ``dspy.Parallel`` each have their own stack.
* **The layout the prompt asks for.** The system message must contain DSPy's own field structure
  for that signature, as ``ChatAdapter``, ``JSONAdapter`` or ``XMLAdapter`` render it: a subclass
  that keeps its parent's layout is constrained by it, whatever its class; one that writes
  another layout is not.

Outside any adapter call and any ``dspy.Predict`` a call is plain text. Inside one, a call that
cannot be constrained is refused before anything is sent (:class:`UnconstrainedCallError`), or
sent unconstrained under ``on_unconstrained="warn"``/``"allow"``. ``TwoStepAdapter``'s first
call is free text by design (nothing is parsed from it but by the extraction call, which is
constrained).

The LM resolves the call once (:func:`resolve_call`: the constraint, the backend that enforces it,
or the JSON-only refusal; the constraint joins DSPy's cache key) and hands it to its engine with the
request (:func:`handing`, a context variable: right in threads and tasks). An engine sent a request
without one resolves it itself, through the same function.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any, Literal

import dspy
from dspy.lm15 import Request

from lift_dspy.backends import JSON_ONLY, Backend
from lift_dspy.constraints import Constraint, OutputFormat, compile_constraint, tool_spec
from lift_dspy.constraints.native_tools import (
    NativeTools,
    native_tools_constraint,
    prompt_tools,
    tools_from_request,
)
from lift_dspy.constraints.schema import Options
from lift_dspy.errors import JSONModeRequiredError, UnconstrainedCallError

__all__ = [
    "Call",
    "OnUnconstrained",
    "RenderedCall",
    "Resolution",
    "active_constraint",
    "handed",
    "handing",
    "in_flight",
    "mark_engine_ran",
    "rendered_call",
    "request_prompt",
    "require_backend_takes",
    "resolve_call",
    "resolve_constraint",
]

OnUnconstrained = Literal["raise", "warn", "allow"]
ON_UNCONSTRAINED: tuple[str, ...] = ("raise", "warn", "allow")

logger = logging.getLogger(__name__)
_warned: set[str] = set()
_FIX = (
    "Use dspy.ChatAdapter (the default), dspy.JSONAdapter or dspy.XMLAdapter, or a subclass that keeps "
    "their layout"
)


@dataclass(frozen=True)
class RenderedCall:
    """The adapter call an LM call comes from.

    Attributes:
        adapter: The adapter instance whose ``__call__``/``acall`` is running (None: not found).
        signature: The signature the prompt was rendered for.
        free_text: The adapter asks for free text by design (``TwoStepAdapter``'s first step).
        inputs: The call's input values (a ``list[dspy.Tool]`` input holds the tools a non-native
            ``dspy.ToolCalls`` output is held to).
    """

    adapter: Any
    signature: Any
    free_text: bool = False
    inputs: Any = None


@functools.cache
def _adapter_codes() -> dict[CodeType, str]:
    """Code objects of the DSPy functions that call an LM with an adapter's formatted prompt."""
    from dspy.adapters.base import Adapter
    from dspy.adapters.two_step_adapter import TwoStepAdapter

    codes: dict[CodeType, str] = {}
    for function in (Adapter.__call__, Adapter.acall):
        inner = getattr(function, "__wrapped__", function)
        codes[inner.__code__] = "adapter"
    codes[getattr(TwoStepAdapter.acall, "__wrapped__", TwoStepAdapter.acall).__code__] = "two_step"
    return codes


def rendered_call(depth: int = 1) -> RenderedCall | None:
    """The innermost DSPy adapter call on this thread's (or task's) stack, if any."""
    from dspy.adapters.two_step_adapter import TwoStepAdapter

    codes = _adapter_codes()
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None:
        kind = codes.get(frame.f_code)
        if kind is not None:
            local = frame.f_locals
            adapter = local.get("self")
            if kind == "two_step" or isinstance(adapter, TwoStepAdapter):
                return RenderedCall(adapter, local.get("signature"), free_text=True)
            signature = local.get("processed_signature") or local.get("signature")
            return RenderedCall(adapter, signature, inputs=local.get("inputs"))
        frame = frame.f_back
    return None


# -- the call resolved by the LM, handed to its engine with the request -----------------------
@dataclass(frozen=True)
class Resolution:
    """A call's constraint and the backend it was checked against.

    Attributes:
        constraint: The constraint, or None for a call sent unconstrained (plain text).
        backend: The server backend the constraint goes to (the JSON-only refusal already
            applied), or None when the engine that sends it must find its own server's backend
            (a plain call, or a request handed on to a fallback LM).
    """

    constraint: Constraint | None
    backend: Backend | None = None


_handed: contextvars.ContextVar[Resolution | None] = contextvars.ContextVar(
    "lift_dspy_resolved", default=None
)


@contextlib.contextmanager
def handing(resolution: Resolution | None) -> Iterator[None]:
    """Make :func:`handed` answer ``resolution`` inside the block (None: nothing handed)."""
    token = _handed.set(resolution)
    try:
        yield
    finally:
        _handed.reset(token)


def handed() -> Resolution | None:
    """The resolution the LM handed with the request being sent, if any."""
    return _handed.get()


def require_backend_takes(constraint: Constraint | None, backend: Backend) -> None:
    """The JSON-only refusal: a chat- or XML-layout constraint cannot go to a JSON-only backend.

    Raises:
        JSONModeRequiredError: DSPy's ChatAdapter catches it and runs the call through JSONAdapter.
    """
    if constraint is not None and constraint.format != "json" and backend in JSON_ONLY:
        stack = dspy.settings.caller_modules or []
        signature = getattr(stack[-1], "signature", None) if stack else None
        raise JSONModeRequiredError(backend=backend, signature=signature)


def resolve_call(
    prompt: tuple[str, bool, NativeTools | None],
    backend: Callable[[], Backend],
    options: Options | None = None,
    on_unconstrained: OnUnconstrained = "raise",
) -> Resolution:
    """Resolve one call: its constraint, the backend that enforces it, or a refusal.

    Args:
        prompt: (system prompt, a ``response_format`` was requested, native tools), as
            :func:`request_prompt` reads them from a request.
        backend: The server's backend; asked only when there is a constraint.
        options: How constraints are built.
        on_unconstrained: What to do with a module call that cannot be constrained.

    Raises:
        UnsupportedSchemaError: the signature cannot be constrained.
        UnconstrainedCallError: the call cannot be constrained and ``on_unconstrained="raise"``.
        JSONModeRequiredError: a chat-layout call on a JSON-only backend.
    """
    system, json_requested, native = prompt
    constraint = resolve_constraint(system, json_requested, options, on_unconstrained, native)
    if constraint is None:
        return Resolution(None)
    chosen = backend()
    require_backend_takes(constraint, chosen)
    return Resolution(constraint, chosen)


def request_prompt(request: Request) -> tuple[str, bool, NativeTools | None]:
    """(system prompt, ``response_format`` requested, native tools) of an lm15 request."""
    system = request.system if isinstance(request.system, str) else ""
    if not system and request.messages:
        system = request.messages[0].text or ""
    return system, request.config.response_format is not None, tools_from_request(request)


class Call:
    """One LM call in flight: its engine marks it when it really ran (not a DSPy cache hit)."""

    __slots__ = ("engine_ran",)

    def __init__(self) -> None:
        self.engine_ran = False


_in_flight: contextvars.ContextVar[Call | None] = contextvars.ContextVar("lift_dspy_in_flight", default=None)


@contextlib.contextmanager
def in_flight() -> Iterator[Call]:
    """Track one LM call; :func:`mark_engine_ran` marks it."""
    call = Call()
    token = _in_flight.set(call)
    try:
        yield call
    finally:
        _in_flight.reset(token)


def mark_engine_ran() -> None:
    """Called by the engines: this call's answer comes from a server, not from DSPy's cache."""
    call = _in_flight.get()
    if call is not None:
        call.engine_ran = True


def active_constraint(
    request: Request, options: Options | None = None, on_unconstrained: OnUnconstrained = "raise"
) -> Constraint | None:
    """The constraint of the call being made (handed by the LM, else from the stack).

    Raises:
        UnsupportedSchemaError: the signature cannot be constrained.
        UnconstrainedCallError: the call cannot be constrained and ``on_unconstrained="raise"``.
    """
    known = _handed.get()
    if known is not None:
        return known.constraint
    system, json_requested, native = request_prompt(request)
    return resolve_constraint(system, json_requested, options, on_unconstrained, native)


def resolve_constraint(
    system: str,
    json_requested: bool,
    options: Options | None = None,
    on_unconstrained: OnUnconstrained = "raise",
    native: NativeTools | None = None,
) -> Constraint | None:
    """The constraint for a call whose system prompt is ``system``.

    Args:
        system: The system prompt DSPy's adapter wrote.
        json_requested: The call carries a ``response_format`` (DSPy's JSONAdapter sends one).
        options: How constraints are built.
        on_unconstrained: What to do with a module call that cannot be constrained.
        native: The call's native ``tools`` (DSPy's native function calling for a ``dspy.ToolCalls``
            output): the answer then also writes the tool calls, held to these tools.

    Returns:
        The constraint, or None for a plain call (outside any adapter call and ``dspy.Predict``),
        ``TwoStepAdapter``'s free-text first step, or an unconstrained call that is allowed.

    Raises:
        UnsupportedSchemaError: the signature cannot be constrained.
        UnconstrainedCallError: the call cannot be constrained and ``on_unconstrained="raise"``.
    """
    options = options or Options()
    stack = dspy.settings.caller_modules or []
    predict = stack[-1] if stack and isinstance(stack[-1], dspy.Predict) else None
    call = rendered_call(2)
    if call is None:
        if predict is None:
            return None
        # A module or adapter that calls the LM itself: only the predictor's own signature is known.
        call = RenderedCall(dspy.settings.adapter, predict.signature)
    if call.free_text:
        return None
    signature = call.signature
    adapter_name = type(call.adapter).__name__ if call.adapter is not None else "ChatAdapter"
    fmt = layout_of(system, signature)
    if fmt is None:
        _unconstrained(
            on_unconstrained,
            f"{adapter_name}:{getattr(signature, '__name__', '')}",
            f"the prompt {adapter_name} wrote does not ask for the outputs of {_name(signature)} in "
            "DSPy's chat, JSON or XML layout, so no grammar matches it",
            adapter_name,
            signature,
        )
        return None
    if fmt == "chat" and json_requested:
        fmt = "json"  # a response_format asks for JSON whatever the prompt says
    if native is not None:
        return native_tools_constraint(signature, fmt, native, options)
    in_prompt = prompt_tools(signature, call.inputs) if isinstance(call.inputs, dict) else None
    if in_prompt is not None:  # a dspy.ToolCalls field, tools described in the prompt
        return native_tools_constraint(signature, fmt, in_prompt[1], options, field=in_prompt[0])
    tools = None
    react = stack[-2] if predict is not None and len(stack) >= 2 else None
    if isinstance(react, dspy.ReAct) and getattr(react, "react", None) is predict:
        tools = tool_spec(react.tools, options)
    return compile_constraint(signature, fmt, tools, options)


def _name(signature: Any) -> str:
    return getattr(signature, "__name__", "the signature")


def _unconstrained(policy: OnUnconstrained, key: str, reason: str, adapter: str, signature: Any) -> None:
    if policy == "raise":
        raise UnconstrainedCallError(reason, adapter=adapter, signature=signature, fix=_FIX + ".")
    if policy == "warn" and key not in _warned:
        _warned.add(key)
        logger.warning(
            "%s: this call is sent NOT constrained and NOT validated (on_unconstrained='warn')", reason
        )


@functools.lru_cache(maxsize=4096)
def _structures(signature: Any) -> tuple[tuple[OutputFormat, str], ...]:
    """DSPy's field structure of ``signature`` in each layout lift-dspy has a grammar for."""
    from dspy.adapters import ChatAdapter, JSONAdapter, XMLAdapter

    found: list[tuple[OutputFormat, str]] = []
    for fmt, adapter in (("json", JSONAdapter), ("xml", XMLAdapter), ("chat", ChatAdapter)):
        try:
            found.append((fmt, adapter().format_field_structure(signature)))  # type: ignore[arg-type]
        except Exception as exc:  # a type DSPy itself cannot render in that layout
            logger.debug("%s cannot render %s: %s", adapter.__name__, _name(signature), exc)
    return tuple(found)


def layout_of(system: str, signature: Any) -> OutputFormat | None:
    """The layout whose field structure for ``signature`` the system prompt contains, if any."""
    if signature is None or not system:
        return None
    try:
        structures = _structures(signature)
    except TypeError:  # an unhashable signature object
        structures = _structures.__wrapped__(signature)
    for fmt, structure in structures:
        if structure and structure in system:
            return fmt
    return None
