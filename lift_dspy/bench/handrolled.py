"""The ``hand-rolled`` baseline: what users write without lift-dspy.

One OpenAI-client call per step with ``response_format={"type": "json_schema", "json_schema":
{"name": ..., "schema": Model.model_json_schema()}}`` built from the Pydantic model's default
schema, the reply parsed with ``Model.model_validate_json``. The prompt is the signature's
instructions and its inputs, one per line; no DSPy adapter, no lift-dspy constraint.

:class:`HandRolledPredict` mimics ``dspy.Predict(signature)(**inputs)`` (including the
``pinned(...)`` block and ``demos`` of IRToCode's predictors), so the IR-to-code pipeline of
:class:`~lift_dspy.programs.IRToCode` runs unchanged on top of it (:class:`HandRolledIRToCode`):
same steps, same worked examples (as a user/assistant exchange), same pinned output models, only
the client and the constraint differ.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import dspy
from dspy.utils.exceptions import LMError
from pydantic import BaseModel, create_model

from lift_dspy.programs.ir_to_code import Checker, IRToCode, pinned_signature, pinned_signature_scope
from lift_dspy.schemas import Language

if TYPE_CHECKING:
    import openai

    from lift_dspy.bench.calls import CallLog

__all__ = ["HandRolledIRToCode", "HandRolledPredict", "output_type", "render_input"]


def output_type(signature: type[dspy.Signature]) -> tuple[type[BaseModel], bool]:
    """The Pydantic model a user would write for the outputs, and whether it wraps several fields.

    A single output field typed by a model is used as is (``FunctionIR``); anything else (several
    outputs, a union of tool calls) becomes one model with the output fields as its fields.
    """
    fields = signature.output_fields
    if len(fields) == 1:
        annotation = next(iter(fields.values())).annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation, False
    if signature not in _WRAPPERS:
        spec: dict[str, Any] = {name: (f.annotation, ...) for name, f in signature.output_fields.items()}
        _WRAPPERS[signature] = create_model(f"{signature.__name__}Output", **spec)
    return _WRAPPERS[signature], True


_WRAPPERS: dict[type[dspy.Signature], type[BaseModel]] = {}


def render_input(value: Any) -> str:
    """An input value as prompt text: models and containers as compact JSON, the rest as ``str``."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=lambda v: v.model_dump() if isinstance(v, BaseModel) else str(v))
    return str(value)


@functools.cache
def _error_class(name: str) -> type[LMError]:
    # IRToCode ends a language on an LMError and reports the exception's class name: an OpenAI
    # error is re-raised as an LMError of the same name, so the journal keeps the real cause.
    return type(name, (LMError,), {"__module__": __name__})


def _output_json(example: Mapping[str, Any], signature: type[dspy.Signature]) -> str:
    outputs = {name: example[name] for name in signature.output_fields}
    if len(outputs) == 1 and not output_type(signature)[1]:
        (value,) = outputs.values()
        return render_input(value)
    return render_input(outputs)


class HandRolledPredict:
    """``dspy.Predict``-shaped caller of one signature through the raw OpenAI client.

    Args:
        signature: The DSPy signature whose instructions, inputs and outputs are used.
        client: An ``openai.OpenAI`` client pointed at the server.
        model: The served model name.
        temperature: Sampling temperature.
        max_tokens: Output token limit per call.
        log: Where each call's time, tokens and error are recorded.
        demos: Worked examples (``dspy.Example``), sent as user/assistant turns before the input.
    """

    def __init__(
        self,
        signature: type[dspy.Signature],
        client: openai.OpenAI,
        model: str,
        *,
        temperature: float,
        max_tokens: int,
        log: CallLog,
        demos: Iterable[Any] = (),
    ) -> None:
        self._configured = signature
        self.client: Any = client  # openai's overloads do not type a plain dict response_format
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.log = log
        self.demos = list(demos)

    @property
    def signature(self) -> type[dspy.Signature]:
        """The signature in force: a pinned one inside :meth:`pinned`, else the configured one."""
        return pinned_signature(self) or self._configured

    def pinned(self, signature: type[dspy.Signature]) -> contextlib.AbstractContextManager[None]:
        """Use ``signature`` (e.g. a narrower output model) for calls made in this block."""
        return pinned_signature_scope(self, signature)

    def _user(self, inputs: Mapping[str, Any]) -> str:
        names = [name for name in self.signature.input_fields if name in inputs]
        return "\n".join(f"{name}: {render_input(inputs[name])}" for name in names)

    def messages(self, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
        """Instructions as system prompt; each demo as a user/assistant turn; then the inputs."""
        signature = self.signature
        outputs = ", ".join(signature.output_fields)
        system = f"{signature.instructions}\n\nReply with a JSON object ({outputs})."
        messages = [{"role": "system", "content": system}]
        for demo in self.demos:
            messages.append({"role": "user", "content": self._user(demo)})
            messages.append({"role": "assistant", "content": _output_json(demo, signature)})
        messages.append({"role": "user", "content": self._user(inputs)})
        return messages

    def response_format(self) -> dict[str, Any]:
        """The ``json_schema`` response format from the output model's default schema."""
        model, _ = output_type(self.signature)
        return {
            "type": "json_schema",
            "json_schema": {"name": model.__name__, "schema": model.model_json_schema()},
        }

    def __call__(self, **inputs: Any) -> dspy.Prediction:
        """Call the server once and parse the reply into a ``dspy.Prediction``.

        Raises:
            pydantic.ValidationError: The reply is not valid JSON for the model (a ValueError).
            dspy.utils.exceptions.LMError: The OpenAI client raised (re-raised under its class name).
        """
        import openai

        signature = self.signature
        output_model, wrapped = output_type(signature)
        started = time.perf_counter()
        try:
            reply = self.client.chat.completions.create(
                model=self.model,
                messages=self.messages(inputs),
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                response_format=self.response_format(),
            )
        except openai.OpenAIError as exc:
            self.log.add(time.perf_counter() - started, error=type(exc).__name__)
            raise _error_class(type(exc).__name__)(str(exc)[:500]) from exc
        seconds = time.perf_counter() - started
        usage = reply.usage
        tokens = usage.completion_tokens if usage else None
        prompt = usage.prompt_tokens if usage else None
        text = (reply.choices[0].message.content or "") if reply.choices else ""
        try:
            parsed = output_model.model_validate_json(text)
        except ValueError as exc:
            self.log.add(seconds, output_tokens=tokens, prompt_tokens=prompt, error=type(exc).__name__)
            raise
        self.log.add(seconds, output_tokens=tokens, prompt_tokens=prompt)
        if wrapped:
            return dspy.Prediction(**{name: getattr(parsed, name) for name in signature.output_fields})
        return dspy.Prediction(**{next(iter(signature.output_fields)): parsed})


class HandRolledIRToCode(IRToCode):
    """:class:`IRToCode` with every step replaced by a :class:`HandRolledPredict` (same repair loop)."""

    def __init__(
        self,
        languages: Iterable[Language],
        *,
        client: openai.OpenAI,
        model: str,
        temperature: float,
        max_tokens: int,
        log: CallLog,
        max_repairs: int = 2,
        checker: Checker | None = None,
    ) -> None:
        # Hand-rolled clients send a JSON schema: the json-parts form is the one they can run.
        super().__init__(
            languages, max_repairs=max_repairs, checker=checker, num_threads=1, code_form="json-parts"
        )

        def make(replaced: Any) -> Any:
            return HandRolledPredict(
                replaced.signature,
                client,
                model,
                temperature=temperature,
                max_tokens=max_tokens,
                log=log,
                demos=replaced.demos,
            )

        # Same steps, signatures and demos as IRToCode's own predictors; only the client differs.
        self.nl_to_ir = make(self.nl_to_ir)
        self.generate = {lang: make(p) for lang, p in self.generate.items()}
        self.repair = {lang: make(p) for lang, p in self.repair.items()}
