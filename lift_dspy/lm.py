"""GuidanceLM: the ``dspy.LM`` users configure."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import dspy
import httpx
from dspy.clients.base_lm import LM_CLASS_STATE_KEY, BaseLM
from dspy.lm15 import Request

from lift_dspy.active import (
    ON_UNCONSTRAINED,
    OnUnconstrained,
    Resolution,
    handing,
    in_flight,
    resolve_call,
)
from lift_dspy.active import Call as _Call
from lift_dspy.backends import BACKENDS, Backend, BackendChoice
from lift_dspy.constraints import Constraint
from lift_dspy.constraints.native_tools import tools_from_kwargs
from lift_dspy.constraints.schema import Options
from lift_dspy.engine import AsyncGuidanceEngine, EngineConfig, GuidanceEngine
from lift_dspy.errors import ConstraintViolationError
from lift_dspy.request import CACHE_KEY_FIELD, refuse_legacy_fields
from lift_dspy.stats import Stats

__all__ = ["GuidanceLM"]

_ENV_BASE = "LIFT_DSPY_API_BASE"
_ENV_KEY = "LIFT_DSPY_API_KEY"
_ENV_DEFAULT_MODEL = "LIFT_DSPY_DEFAULT_MODEL"
_ENV_MODEL = "LIFT_DSPY_MODEL"
_HISTORY_GRAMMAR_CHARS = 4000

# The constraint of the call this LM is making (read back when DSPy records the history entry).
_current: contextvars.ContextVar[tuple[Constraint, str] | None] = contextvars.ContextVar(
    "lift_dspy_current_constraint", default=None
)


class GuidanceLM(dspy.LM):
    """A ``dspy.LM`` whose every ``Predict`` call is grammar-constrained by vLLM's llguidance backend.

    The active signature becomes the constraint: DSPy's chat layout as a Lark grammar (free text
    for ``str``, ``%json{}`` for typed fields, choices for ``Literal``/``Enum``), or a closed JSON
    Schema under ``dspy.JSONAdapter``. Every answer is checked against that same grammar and the
    signature's output model before DSPy sees it (:class:`~lift_dspy.ConstraintViolationError`,
    :class:`~lift_dspy.TruncatedOutputError` otherwise).

    Args:
        model: The model name the vLLM server serves. ``None`` with an ``api_base`` (or
            ``$LIFT_DSPY_API_BASE``) reads ``$LIFT_DSPY_MODEL``; ``None`` with neither uses the
            embedded default: a local vLLM with the bundled SmolLM2-135M-Instruct, started on
            first use and shared by every LM in the process.
        api_base: The server's OpenAI-compatible base URL, e.g. ``http://localhost:8000/v1``.
            Defaults to ``$LIFT_DSPY_API_BASE``.
        api_key: Bearer token if the server requires one (defaults to ``$LIFT_DSPY_API_KEY``).
            Never saved, dumped, logged or kept in history.
        timeout: Seconds to wait for one completion.
        lenient: Let llguidance ignore JSON Schema keywords it does not implement (``uniqueItems``,
            ``not``, ...) instead of raising :class:`~lift_dspy.UnsupportedSchemaError`.
        max_text_chars: Bound every otherwise unbounded text (free ``str`` fields, JSON strings
            without ``maxLength``) to this many characters, so generation always terminates.
        derive_bounds: Give every list without ``maxItems`` and map without ``maxProperties`` a
            bound derived from the call's ``max_tokens`` (``max(minItems, 1, max_tokens // (2 * n * t))``
            for ``n`` unbounded collections whose shortest item costs ``t`` tokens; see
            :mod:`lift_dspy.constraints.bounds`), so a looping model closes the list in time.
            Bounds the user set are kept. ``False`` turns it off.
        trim_prompt: Send the system message without DSPy's JSON Schema notes on output fields
            (the grammar forces that structure; fewer prompt tokens). Off by default: the model
            then no longer sees the schema's titles and nested field descriptions.
        constrain: ``False`` sends exactly what stock DSPy sends (no constraint, no structured-output
            capability claimed, so no ``response_format``) and skips validation: a baseline for
            benchmarks.
        backend: The server's structured-output backend: ``guidance`` (default; vLLM with
            llguidance), ``xgrammar`` (vLLM's other backends, the rollback path), ``openai`` (any
            other OpenAI-compatible provider: ``response_format`` json_schema) or ``auto`` (ask the
            server once). The last three take JSON Schemas only: a signature run through DSPy's
            ChatAdapter switches to JSON mode for that call, and answers are checked by value.
        fallback: A ``dspy.LM`` that answers when this server cannot be reached (another
            GuidanceLM, or any provider: its answer is validated against the signature like any
            other, by value). The response's ``provider_data["lift_dspy"]`` names the fallback.
            Its answers are cached by the fallback LM under its own key, never under this one's.
            A streamed call falls back too when the server fails before its first event (the
            answer arrives as one delta); once deltas went out, a failure raises instead.
        on_unconstrained: A call made by a DSPy module (an adapter formatted the prompt) that
            lift-dspy cannot constrain -- an adapter layout it has no grammar for, a prompt that
            does not ask for the signature's outputs --: ``"raise"`` (default) raises
            :class:`~lift_dspy.UnconstrainedCallError` before anything is sent; ``"warn"`` sends
            it unconstrained and unvalidated with a warning (once per adapter and signature);
            ``"allow"`` sends it silently. Plain calls, ``lm("...")`` outside any module, are
            always plain text.
        transport: An ``httpx`` transport for the sync engine (tests, proxies, custom TLS).
        async_transport: The same for the async engine.
        **lm_kwargs: Anything ``dspy.LM`` takes: ``temperature``, ``max_tokens``, ``cache``,
            ``num_retries``, ``callbacks``, ...

    Example:
        >>> import dspy, lift_dspy
        >>> lm = lift_dspy.GuidanceLM("smollm2", api_base="http://127.0.0.1:8000/v1")
        >>> dspy.configure(lm=lm)
        >>> # dspy.Predict("question -> answer: int")(question="2+2?").answer  -> always an int
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 600.0,
        lenient: bool = False,
        max_text_chars: int | None = None,
        derive_bounds: bool = True,
        trim_prompt: bool = False,
        constrain: bool = True,
        backend: BackendChoice = "guidance",
        fallback: BaseLM | None = None,
        on_unconstrained: OnUnconstrained = "raise",
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        **lm_kwargs: Any,
    ) -> None:
        for name in ("engine", "async_engine"):
            lm_kwargs.pop(name, None)  # rebuilt from our own settings (load_state passes them)
        refuse_legacy_fields(lm_kwargs)
        api_base = api_base or os.environ.get(_ENV_BASE) or None
        if model is None and api_base is not None:
            model = os.environ.get(_ENV_MODEL) or None
        if model is None and api_base is not None:
            raise ValueError(
                f"GuidanceLM(api_base={api_base!r}) needs the served model name (or $LIFT_DSPY_MODEL), e.g. "
                f"GuidanceLM('Qwen/Qwen2.5-Coder-7B-Instruct', api_base={api_base!r}); "
                "`lift-dspy doctor --api-base URL` lists the models a server serves"
            )
        if model is None:
            model = os.environ.get(_ENV_DEFAULT_MODEL, "smollm2")
        if on_unconstrained not in ON_UNCONSTRAINED:
            raise ValueError(
                f"on_unconstrained must be one of {', '.join(map(repr, ON_UNCONSTRAINED))}; "
                f"got {on_unconstrained!r}"
            )
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}")
        if api_base is not None and not api_base.startswith(("http://", "https://")):
            raise ValueError(
                f"api_base must be an http(s) URL like http://localhost:8000/v1, got {api_base!r}"
            )
        config = EngineConfig(
            api_base=api_base,
            api_key=api_key or os.environ.get(_ENV_KEY) or None,
            timeout=timeout,
            options=Options(lenient=lenient, max_text_chars=max_text_chars, derive_bounds=derive_bounds),
            constrain=constrain,
            backend=backend,
            on_unconstrained=on_unconstrained,
            trim_prompt=trim_prompt,
        )
        stats = Stats()
        if fallback is not None and not isinstance(fallback, BaseLM):
            raise TypeError(f"fallback must be a dspy.LM, got {type(fallback).__name__}")
        super().__init__(
            model,
            engine=GuidanceEngine(config, stats=stats, transport=transport),
            async_engine=AsyncGuidanceEngine(config, stats=stats, transport=async_transport),
            **lm_kwargs,
        )

        self._engine_spec.fallback = fallback
        self._async_engine_spec.fallback = fallback
        self._async_engine_spec._sync_transport = transport  # backend detection runs synchronously

    # -- calls: the constraint joins DSPy's cache key and the history entry -----------------------
    def __call__(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        """A DSPy LM call; inside a ``dspy.Predict`` it is constrained by that signature."""
        kwargs, scope = self._enter(prompt, messages, kwargs, self._engine_spec.backend)
        if scope is None:
            return super().__call__(prompt, messages=messages, **kwargs)
        with scope as call:
            outputs = super().__call__(prompt, messages=messages, **kwargs)
            self._check_cached(call, outputs)
            return outputs

    async def acall(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        """Async twin of ``__call__``."""
        engine = self._async_engine_spec
        backend = engine.known_backend(self.model)
        if backend is None:
            backend = await asyncio.to_thread(engine.backend, self.model)  # asks the server, once
        known: Backend = backend
        kwargs, scope = self._enter(prompt, messages, kwargs, lambda _model: known)
        if scope is None:
            return await super().acall(prompt, messages=messages, **kwargs)
        with scope as call:
            outputs = await super().acall(prompt, messages=messages, **kwargs)
            self._check_cached(call, outputs)
            return outputs

    def _check_cached(self, call: _Call, outputs: Any) -> None:
        """Validate answers DSPy served from its cache against the current constraint and model.

        DSPy's cache returns before the engine runs, and its key holds the constraint's
        fingerprint but not the output model's validators: an answer cached before a validator
        changed must be checked again (~0.1 ms per answer).

        Raises:
            ConstraintViolationError: a cached answer does not validate any more.
        """
        current = _current.get()
        if call.engine_ran or current is None or not isinstance(outputs, list):
            return
        constraint = current[0]
        for output in outputs:
            text = output.get("text") if isinstance(output, dict) else output
            if not isinstance(text, str):
                continue
            try:
                # By value: the key holds the grammar's fingerprint, so the text matched this
                # grammar when it was stored; what can change is the output model's validators.
                constraint.validate(text, model_name=self.model, exact=False)
            except ConstraintViolationError as exc:
                raise ConstraintViolationError(
                    exc.reason,
                    raw_text=text,
                    field=exc.field,
                    model=self.model,
                    hint="This answer came from DSPy's cache and no longer validates against "
                    f"{constraint.signature_name}'s output model (a validator changed?). Call again with "
                    "cache=False, or clear DSPy's cache.",
                ) from exc

    def _enter(
        self, prompt: Any, messages: Any, kwargs: dict[str, Any], backend: Callable[[str], Backend]
    ) -> tuple[dict[str, Any], contextlib.AbstractContextManager[_Call] | None]:
        """Resolve this call once; key DSPy's cache by its constraint and hand it to the engine.

        DSPy's cache key is (model, messages, sampling arguments): two signatures, or two LMs with
        different options, can write the same prompt yet enforce different constraints. The
        constraint's fingerprint travels as ``metadata`` (part of the key; dropped before sending).

        Raises:
            JSONModeRequiredError: a chat-layout call on a JSON-only backend (DSPy's ChatAdapter
                catches it and runs the call through JSONAdapter).
            UnconstrainedCallError: a module call that cannot be constrained (``on_unconstrained``).
        """
        if not self.config.constrain or isinstance(prompt, Request) or "request" in kwargs:
            return kwargs, None
        rendered = messages if messages is not None else [{"role": "user", "content": prompt}]
        first = rendered[0] if rendered else {}
        system = first.get("content") if isinstance(first, dict) else None
        merged = {**self.kwargs, **kwargs}
        resolution = resolve_call(
            (
                system if isinstance(system, str) else "",
                merged.get("response_format") is not None,
                tools_from_kwargs(merged),
            ),
            lambda: backend(self.model),
            self.config.options.for_call(merged.get("max_tokens")),
            self.config.on_unconstrained,
        )
        if resolution.constraint is None:
            return kwargs, _scope(resolution)
        metadata = merged.get("metadata")
        kwargs = {
            **kwargs,
            "metadata": {
                **(metadata if isinstance(metadata, dict) else {}),
                CACHE_KEY_FIELD: f"{resolution.backend}:{resolution.constraint.fingerprint}"
                + (":trimmed" if self.config.trim_prompt else ""),
            },
        }
        return kwargs, _scope(resolution)

    def update_history(self, entry: dict[str, Any]) -> None:
        """Record a call; a constrained one also carries its constraint (shown by inspect_history).

        ``entry["lift_dspy"]`` holds the signature, layout, backend, fingerprint and the exact
        ``structured_outputs``; for ``dspy.inspect_history()`` the displayed messages end with a
        ``constraint`` pseudo-message (never sent to the model).
        """
        current = _current.get()
        if current is not None:
            constraint, backend = current
            entry["lift_dspy"] = {
                "signature": constraint.signature_name,
                "format": constraint.format,
                "backend": backend,
                "fingerprint": constraint.fingerprint,
                "structured_outputs": constraint.structured_outputs,
            }
            shown = entry.get("messages") or [{"role": "user", "content": entry.get("prompt") or ""}]
            entry["messages"] = [*shown, {"role": "constraint", "content": _describe(constraint, backend)}]
        super().update_history(entry)

    @property
    def stats_collector(self) -> Stats:
        """The counters behind :meth:`stats` (one object, shared by both engines and by copies)."""
        return self._engine_spec.stats

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # Unpickled engines start with fresh counters each: make them one again.
        self._async_engine_spec.stats = self._engine_spec.stats

    @property
    def config(self) -> EngineConfig:
        """The connection and constraint settings."""
        return self._engine_spec.config

    def stats(self) -> dict[str, dict[str, Any]]:
        """Success rate, violations, truncations, latency P50/P95/P99 and tokens, per signature."""
        return self.stats_collector.summary()

    def dump_state(self) -> dict[str, Any]:
        """Settings to rebuild this LM; never the API key."""
        state = BaseLM.dump_state(self)
        public = self.config.public_state()
        state.update(
            api_base=public["api_base"],
            timeout=public["timeout"],
            lenient=public["lenient"],
            max_text_chars=public["max_text_chars"],
            derive_bounds=public["derive_bounds"],
            trim_prompt=public["trim_prompt"],
            constrain=public["constrain"],
            backend=public["backend"],
            on_unconstrained=public["on_unconstrained"],
        )
        return state

    @classmethod
    def load_state(cls, state: dict[str, Any], *, allow_custom_lm_class: bool = False) -> GuidanceLM:
        """Rebuild from :meth:`dump_state` (the key comes from ``$LIFT_DSPY_API_KEY``)."""
        state = {key: value for key, value in state.items() if key != LM_CLASS_STATE_KEY}
        return cls(**state)

    def __repr__(self) -> str:
        where = self.config.api_base or "embedded local vLLM"
        return f"GuidanceLM(model={self.model!r}, api_base={where!r})"


@contextlib.contextmanager
def _scope(resolution: Resolution) -> Iterator[_Call]:
    """Hand the call's resolution to the engine; keep it for the history entry and the cache check."""
    constraint, backend = resolution.constraint, resolution.backend
    current = _current.set((constraint, backend) if constraint is not None and backend else None)
    try:
        with handing(resolution), in_flight() as call:
            yield call
    finally:
        _current.reset(current)


def _describe(constraint: Constraint, backend: str) -> str:
    kind, body = next(iter(constraint.structured_outputs.items()))
    text = body if isinstance(body, str) else json.dumps(body, indent=1)
    if len(text) > _HISTORY_GRAMMAR_CHARS:
        more = "lm.history[-1]['lift_dspy']['structured_outputs']"
        text = f"{text[:_HISTORY_GRAMMAR_CHARS]}\n... (full text: {more})"
    check = "byte for byte" if backend == "guidance" else "by value"
    return (
        f"[lift-dspy] not sent as a message: the answer was constrained by {constraint.signature_name} "
        f"({constraint.format} layout, {backend} backend, structured_outputs.{kind}, fingerprint "
        f"{constraint.fingerprint}) and checked {check}:\n{text}"
    )
