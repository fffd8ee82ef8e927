"""The eight benchmark configurations and a per-sample session that runs a task through one of them.

====================  =============================================================  ==============
configuration         client                                                         server backend
====================  =============================================================  ==============
``lift-guidance``     ``GuidanceLM`` + DSPy's default ``ChatAdapter``                ``guidance``
``lift-json-parts``   the same, code tasks only, IRToCode's ``json-parts`` form      ``guidance``
``lift-free``         ``GuidanceLM(constrain=False)`` + ``ChatAdapter``: sends       any
                      exactly what stock DSPy sends (no schema, no capability claim)
``lift-xgrammar``     ``GuidanceLM(backend="xgrammar")`` + ``dspy.JSONAdapter()``    ``xgrammar``
``dspy-chat``         stock ``dspy.LM("openai/<model>")`` + ``ChatAdapter``          any
``dspy-json``         stock ``dspy.LM("openai/<model>")`` + ``dspy.JSONAdapter()``   any
                      (DSPy knows nothing about the model: no ``response_format``)
``dspy-json-schema``  stock ``dspy.LM`` on a provider declared with response-schema  any
                      support (:func:`~lift_dspy.bench.stock.declared_lm`) +
                      ``dspy.JSONAdapter()``: sends a strict ``json_schema``
``hand-rolled``       raw OpenAI client, ``json_schema`` from the Pydantic model     any
====================  =============================================================  ==============

With managed servers the configurations marked "any" run on the guidance-backend server,
interleaved with ``lift-guidance``; with ``--api-base`` they run on whatever server is given.
The stock and unconstrained configurations are the same as ``benchmarks/fair_arms.py``'s arms
of the same names (:mod:`lift_dspy.bench.stock` holds what they share).

``lift-guidance`` runs IRToCode's default code form (``grammar-code``: the function as raw source
under its language's grammar); ``lift-json-parts`` is the same client with the implementation as
JSON parts, so the two code forms are compared side by side on the same server. ``lift-free``
and the stock configurations write code as JSON parts too (the grammar-code form needs a constraint).

Every configuration gets the same sampling settings (:class:`Settings`), no cache and no retries,
and a fresh client per sample so that calls, tokens and errors are attributed exactly.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args

import dspy

from lift_dspy.bench.calls import CallLog, CallRecorder, UsageTransport
from lift_dspy.bench.handrolled import HandRolledIRToCode, HandRolledPredict
from lift_dspy.bench.stock import declared_lm
from lift_dspy.programs.ir_to_code import CodeForm, IRToCode
from lift_dspy.programs.tasks import AgentTask, CodeTask
from lift_dspy.server.process import ServerBackend

__all__ = [
    "CODE_ONLY",
    "CONFIGS",
    "DESCRIPTIONS",
    "HEADLINE",
    "SERVER_BACKEND",
    "UNCONSTRAINED",
    "ConfigName",
    "Endpoint",
    "ServerBackend",
    "Session",
    "Settings",
    "code_form_of",
    "configs_for_backend",
]

ConfigName = Literal[
    "lift-guidance",
    "lift-json-parts",
    "lift-free",
    "lift-xgrammar",
    "dspy-chat",
    "dspy-json",
    "dspy-json-schema",
    "hand-rolled",
]

CONFIGS: tuple[ConfigName, ...] = get_args(ConfigName)
CODE_ONLY: frozenset[str] = frozenset({"lift-json-parts"})
"""Configurations that differ from another only on code tasks (they skip the agent tasks)."""
HEADLINE: ConfigName = "lift-guidance"
"""The lift-dspy configuration every other one is compared with."""
UNCONSTRAINED: frozenset[str] = frozenset({"lift-free", "dspy-chat", "dspy-json"})
"""Configurations that send no constraint at all (the server's backend plays no part)."""

SERVER_BACKEND: dict[ConfigName, ServerBackend] = {
    "lift-guidance": "guidance",
    "lift-json-parts": "guidance",
    "lift-free": "guidance",
    "lift-xgrammar": "xgrammar",
    "dspy-chat": "guidance",
    "dspy-json": "guidance",
    "dspy-json-schema": "guidance",
    "hand-rolled": "guidance",
}
DESCRIPTIONS: dict[str, str] = {
    "lift-guidance": "GuidanceLM, DSPy ChatAdapter, vLLM guidance backend; code as raw source under "
    "the language grammar (IRToCode code_form='grammar-code')",
    "lift-json-parts": "as lift-guidance, code as JSON parts (IRToCode code_form='json-parts'); "
    "code tasks only",
    "lift-free": "GuidanceLM(constrain=False), DSPy ChatAdapter: sends exactly what stock DSPy sends "
    "(no schema, no capability claim); code as JSON parts",
    "lift-xgrammar": "GuidanceLM(backend='xgrammar'), dspy.JSONAdapter, vLLM xgrammar backend "
    "(disable_any_whitespace; no max_text_chars)",
    "dspy-chat": "stock dspy.LM('openai/<model>'), ChatAdapter (unconstrained), guidance server",
    "dspy-json": "stock dspy.LM('openai/<model>'), dspy.JSONAdapter (no response_format), guidance server",
    "dspy-json-schema": "stock dspy.LM on a provider declared with response-schema support "
    "(dspy.lm15.register_provider, ModelSupport(response_schema=True)), dspy.JSONAdapter: a strict "
    "json_schema, guidance server",
    "hand-rolled": "openai client, response_format json_schema = Model.model_json_schema(), guidance server",
}


def code_form_of(config: str) -> CodeForm:
    """How a configuration's IRToCode writes code: grammar-code needs lift-dspy's chat layout on the
    guidance backend, so only ``lift-guidance`` has it; the others keep json-parts."""
    return "grammar-code" if config == "lift-guidance" else "json-parts"


def configs_for_backend(backend: str) -> tuple[ConfigName, ...]:
    """The configurations that can run on a server with this structured-output backend.

    The unconstrained, stock and hand-rolled clients run anywhere (``lift-free`` among them: it sends
    no constraint); each constrained lift-dspy configuration needs its own backend. ``backend`` is
    ``"guidance"``, ``"xgrammar"`` or anything else (no constraint support detected: only the
    configurations that do not rely on lift-dspy constraints).
    """
    return tuple(
        c for c in CONFIGS if not c.startswith("lift-") or c in UNCONSTRAINED or SERVER_BACKEND[c] == backend
    )


@dataclass(frozen=True)
class Settings:
    """Sampling settings shared by every configuration.

    Attributes:
        temperature: Sampling temperature (0 = greedy, vLLM's default would make a small model ramble).
        greedy_samples: The first this many samples of each task run greedy (temperature 0), the
            rest at ``temperature``: ``--samples 4 --greedy-samples 1 --temperature 0.7`` is one
            greedy and three sampled answers per task.
        max_tokens: Output token limit per LM call.
        max_text_chars: lift-dspy's bound on free text (``GuidanceLM(max_text_chars=...)``), for
            ``lift-guidance`` and ``lift-json-parts`` only: the stock configurations and ``lift-free``
            have no such option (it is a constraint), and vLLM's xgrammar backend rejects the
            patterned strings it bounds.
        max_repairs: Repair rounds per code task after the first failed compile.
        timeout: Seconds per LM call.
    """

    temperature: float = 0.0
    greedy_samples: int = 0
    max_tokens: int = 512
    max_text_chars: int | None = 300
    max_repairs: int = 2
    timeout: float = 600.0

    def as_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return dataclasses.asdict(self)

    def for_sample(self, sample: int) -> Settings:
        """The settings of sample number ``sample`` (greedy for the first ``greedy_samples``)."""
        return dataclasses.replace(self, temperature=0.0) if sample < self.greedy_samples else self


@dataclass(frozen=True)
class Endpoint:
    """A server to run against: its base URL, served model name and structured-output backend."""

    api_base: str
    model: str
    backend: str


class Session:
    """One sample of one configuration: a fresh client and a :class:`CallLog` for its calls.

    Args:
        config: The configuration name.
        endpoint: The server.
        settings: Sampling settings.
    """

    def __init__(self, config: ConfigName, endpoint: Endpoint, settings: Settings) -> None:
        if config not in CONFIGS:
            raise ValueError(f"unknown configuration {config!r}; choose from {', '.join(CONFIGS)}")
        self.config = config
        self.endpoint = endpoint
        self.settings = settings
        self.log = CallLog()
        self._lms: list[dspy.LM] = []

    def finish(self) -> None:
        """Read stock DSPy calls' token counts from LM history (lift-dspy's come from the wire)."""
        if self.log.usage:
            return
        for lm in self._lms:
            for entry in lm.history:
                usage = entry.get("usage") or {}
                self.log.add_usage(
                    int(usage.get("completion_tokens") or 0), int(usage.get("prompt_tokens") or 0)
                )

    # -- DSPy configurations ----------------------------------------------------------------------
    def _lm(self) -> dspy.LM:
        s, e = self.settings, self.endpoint
        common: dict[str, Any] = {
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "cache": False,
            "num_retries": 0,
        }
        if self.config.startswith("lift-"):
            import lift_dspy

            backend: Literal["guidance", "xgrammar"] = (
                "xgrammar" if self.config == "lift-xgrammar" else "guidance"
            )
            free = self.config == "lift-free"
            return lift_dspy.GuidanceLM(
                e.model,
                api_base=e.api_base,
                timeout=s.timeout,
                # vLLM 0.32's xgrammar backend answers HTTP 400 to a string schema that has both a
                # pattern and a maxLength, which max_text_chars adds to patterned strings.
                max_text_chars=None if backend == "xgrammar" or free else s.max_text_chars,
                backend=backend,
                constrain=not free,
                transport=UsageTransport(self.log),
                **common,
            )
        if self.config == "dspy-json-schema":
            lm = declared_lm(e.model, e.api_base, **common)
        else:
            lm = dspy.LM(f"openai/{e.model}", api_base=e.api_base, api_key="x", **common)
        self._lms.append(lm)
        return lm

    def _adapter(self) -> dspy.Adapter:
        if self.config in ("lift-xgrammar", "dspy-json", "dspy-json-schema"):
            return dspy.JSONAdapter()
        return dspy.ChatAdapter()

    @contextlib.contextmanager
    def _dspy(self) -> Iterator[None]:
        with dspy.context(lm=self._lm(), adapter=self._adapter(), callbacks=[CallRecorder(self.log)]):
            yield

    # -- hand-rolled ------------------------------------------------------------------------------
    def _client(self) -> Any:
        import openai

        return openai.OpenAI(
            base_url=self.endpoint.api_base, api_key="x", max_retries=0, timeout=self.settings.timeout
        )

    # -- the two task kinds -----------------------------------------------------------------------
    def code(self, task: CodeTask) -> dspy.Prediction:
        """Run :class:`~lift_dspy.programs.IRToCode` for one code task (compile + repairs)."""
        s = self.settings
        if self.config == "hand-rolled":
            program: IRToCode = HandRolledIRToCode(
                [task.language],
                client=self._client(),
                model=self.endpoint.model,
                temperature=s.temperature,
                max_tokens=s.max_tokens,
                log=self.log,
                max_repairs=s.max_repairs,
            )
            return program(request=task.spec)
        with self._dspy():
            program = IRToCode(
                [task.language], max_repairs=s.max_repairs, num_threads=1, code_form=self.code_form
            )
            return program(request=task.spec)

    @property
    def code_form(self) -> CodeForm:
        """How this configuration's IRToCode writes code (:func:`code_form_of`)."""
        return code_form_of(self.config)

    def agent(self, task: AgentTask) -> dspy.Prediction:
        """Run one agent task's signature once."""
        s = self.settings
        if self.config == "hand-rolled":
            predict = HandRolledPredict(
                task.signature,
                self._client(),
                self.endpoint.model,
                temperature=s.temperature,
                max_tokens=s.max_tokens,
                log=self.log,
            )
            return predict(**task.inputs)
        with self._dspy():
            return dspy.Predict(task.signature)(**task.inputs)
