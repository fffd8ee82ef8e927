"""IRToCode: request -> IR -> code in TypeScript, Rust, Go and Java that the real compilers accept.

For each language the module asks for an implementation object, assembles it into a source file,
compiles it (never runs it) and, while the compiler rejects it, feeds the diagnostics back through
a repair signature, up to ``max_repairs`` times. Languages run concurrently, so a vLLM server can
batch their requests.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError, LMError
from pydantic import BaseModel, ValidationError

from lift_dspy.programs.assemble import assemble
from lift_dspy.programs.demos import code_demo, ir_demo
from lift_dspy.programs.headers import header, pinned_implementation_model
from lift_dspy.programs.toolchains import CompileResult, ToolchainMissingError, check
from lift_dspy.schemas import LANGUAGES, FunctionIR, Language
from lift_dspy.signatures.ir_to_code import NLToIR, ir_to_code_signature, repair_signature

__all__ = [
    "Attempt",
    "IRToCode",
    "LanguageResult",
    "PinnablePredict",
    "annotate_diagnostics",
    "trim_diagnostics",
]

logger = logging.getLogger(__name__)

Checker = Callable[[Language, str], CompileResult]
"""A compile check: ``(language, source) -> CompileResult`` (``toolchains.check`` by default)."""

# Errors that end one language's attempt without stopping the others: the LM call failed (all
# lift-dspy errors are LMErrors), the answer did not parse, or the object does not fit the schema.
# Configuration mistakes (no LM configured: ValueError) still propagate.
_RECOVERABLE = (LMError, AdapterParseError, ValidationError)


@dataclass(frozen=True)
class Attempt:
    """One compile of one source: the first try or a repair."""

    source: str
    ok: bool
    diagnostics: str
    seconds: float


@dataclass
class LanguageResult:
    """What happened for one language.

    Attributes:
        language: The target language.
        source: The last assembled source ("" if no implementation was produced).
        ok: True if it compiles, False if not, None if it could not be checked (no toolchain) or
            no implementation was produced (see ``error``).
        diagnostics: The last compiler output, or the reason it was not checked.
        repairs: Repair rounds used.
        implementation: The last implementation object.
        attempts: Every compile, in order.
        tool: The compiler and its version, e.g. ``"rustc 1.95.0 (...)"``.
        error: Why generation stopped early, if it did.
    """

    language: Language
    source: str = ""
    ok: bool | None = None
    diagnostics: str = ""
    repairs: int = 0
    implementation: BaseModel | None = None
    attempts: list[Attempt] = field(default_factory=list)
    tool: str = ""
    error: str | None = None


# tsc ("main.ts(4,9): error ...") and go ("./main.go:4:9: ...") do not quote the offending line;
# rustc and javac do.
_LOCATION = re.compile(r"^(?:\./)?main\.(?:ts\((\d+),\d+\)|go:(\d+):\d+):")


def annotate_diagnostics(diagnostics: str, source: str) -> str:
    """Add the offending source line under each tsc/go diagnostic, as rustc and javac already do.

    The LM sees the implementation object, not the assembled file, so a bare line number would
    mean nothing to it.
    """
    lines = source.splitlines()
    out: list[str] = []
    for line in diagnostics.splitlines():
        out.append(line)
        match = _LOCATION.match(line)
        if match:
            number = int(match.group(1) or match.group(2))
            if 1 <= number <= len(lines):
                out.append(f"  {number} | {lines[number - 1].strip()}")
    return "\n".join(out)


_NOISE = re.compile(
    r"^(error: aborting due to .*|Some errors have detailed explanations.*|"
    r"For more information about (this|an) error.*|# lift/generated|\d+ errors?)$"
)


def trim_diagnostics(text: str, limit: int = 600) -> str:
    """Compiler output without summary lines, cut to ``limit`` characters (first errors first)."""
    text = "\n".join(line for line in text.splitlines() if not _NOISE.match(line.strip())).strip()
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + f"\n... ({len(text) - limit} more characters)"


# Per-call signature overrides, keyed by predictor id; a ContextVar keeps threads and tasks apart.
_PINNED: contextvars.ContextVar[Mapping[int, type[dspy.Signature]] | None] = contextvars.ContextVar(
    "lift_dspy_pinned_signatures", default=None
)


def pinned_signature(owner: object) -> type[dspy.Signature] | None:
    """The signature pinned for ``owner`` by :func:`pin_signature` in this thread/task, if any."""
    return (_PINNED.get() or {}).get(id(owner))


@contextlib.contextmanager
def pin_signature(owner: object, signature: type[dspy.Signature]) -> Iterator[None]:
    """Make ``pinned_signature(owner)`` answer ``signature`` inside the block (this thread/task)."""
    token = _PINNED.set({**(_PINNED.get() or {}), id(owner): signature})
    try:
        yield
    finally:
        _PINNED.reset(token)


class PinnablePredict(dspy.Predict):
    """A ``dspy.Predict`` whose signature can be narrowed for the calls inside one ``with`` block.

    ``Predict(...)(signature=S)`` changes only what DSPy's adapter formats and parses; anything
    that reads ``predict.signature`` during the call (lift-dspy's engine builds the grammar from
    it) still sees the original. Here ``.signature`` itself answers ``S`` within the block, in this
    thread or task only, so the prompt, the grammar and the parse agree. The predictor object stays
    the same, so optimizers and traces see one predictor.
    """

    @property
    def signature(self) -> type[dspy.Signature]:
        """The signature in force: a pinned one inside :meth:`pinned`, else the configured one."""
        base: type[dspy.Signature] = self.__dict__["_configured_signature"]
        return pinned_signature(self) or base

    @signature.setter
    def signature(self, value: type[dspy.Signature]) -> None:
        self.__dict__["_configured_signature"] = value

    def pinned(self, signature: type[dspy.Signature]) -> contextlib.AbstractContextManager[None]:
        """Use ``signature`` for calls made in this block (this thread/task only)."""
        return pin_signature(self, signature)


def _as_ir(value: FunctionIR | Mapping[str, Any] | BaseModel) -> FunctionIR:
    if isinstance(value, FunctionIR):
        return value
    data = value.model_dump() if isinstance(value, BaseModel) else dict(value)
    return FunctionIR.model_validate(data)


class IRToCode(dspy.Module):
    """Turn a function request into compiling code in several languages, repairing from diagnostics.

    Args:
        languages: Default target languages (any of typescript, rust, go, java).
        max_repairs: Repair rounds per language after the first compile fails.
        checker: The compile check; defaults to the real toolchains.
        num_threads: Languages processed at the same time (1 = one after another).
        demos: Start each step with one worked example (:mod:`lift_dspy.programs.demos`); small
            models need it. Repairs get none, to keep their prompts short.
        pin_signature: Fix ``function_signature`` in the grammar to the header the IR implies
            (:func:`~lift_dspy.programs.headers.pinned_implementation_model`), so the LM writes
            only imports, helper types and the body. False lets the LM choose the signature.

    Example:
        >>> import dspy, lift_dspy
        >>> from lift_dspy.programs import IRToCode
        >>> dspy.configure(lm=lift_dspy.GuidanceLM())  # doctest: +SKIP
        >>> out = IRToCode(languages=["rust"])(request="clamp an integer to a range")  # doctest: +SKIP
        >>> out.results["rust"].ok  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        languages: Iterable[Language] = LANGUAGES,
        *,
        max_repairs: int = 2,
        checker: Checker | None = None,
        num_threads: int = 4,
        demos: bool = True,
        pin_signature: bool = True,
    ) -> None:
        super().__init__()
        if max_repairs < 0:
            raise ValueError(f"max_repairs must be >= 0, got {max_repairs}")
        self.languages: tuple[Language, ...] = tuple(languages)
        for lang in self.languages:
            if lang not in LANGUAGES:
                raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
        self.max_repairs = max_repairs
        self.checker: Checker = checker or check
        self.num_threads = max(1, num_threads)
        self.pin_signature = pin_signature
        self.nl_to_ir = dspy.Predict(NLToIR)
        self.generate = {lang: PinnablePredict(ir_to_code_signature(lang)) for lang in LANGUAGES}
        self.repair = {lang: PinnablePredict(repair_signature(lang)) for lang in LANGUAGES}
        if demos:
            self.nl_to_ir.demos = [ir_demo()]
            for lang, predictor in self.generate.items():
                predictor.demos = [code_demo(lang)]

    def forward(
        self,
        request: str | None = None,
        *,
        ir: FunctionIR | Mapping[str, Any] | None = None,
        languages: Iterable[Language] | None = None,
    ) -> dspy.Prediction:
        """Run the pipeline.

        Args:
            request: The natural-language request; ignored when ``ir`` is given.
            ir: An IR to implement directly (skips the request -> IR step).
            languages: Override the constructor's languages for this call.

        Returns:
            ``dspy.Prediction(ir=FunctionIR, results={language: LanguageResult}, ok=bool)``;
            ``ok`` is True when every language compiled.

        Raises:
            ValueError: Neither ``request`` nor ``ir`` was given, or an unknown language.
        """
        if ir is None:
            if not request:
                raise ValueError("IRToCode needs a request (text) or an ir")
            ir_value = _as_ir(self.nl_to_ir(request=request).ir)
        else:
            ir_value = _as_ir(ir)
        langs = tuple(languages) if languages is not None else self.languages
        for lang in langs:
            if lang not in LANGUAGES:
                raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")

        if self.num_threads == 1 or len(langs) == 1:
            done = [self._one_language(lang, ir_value) for lang in langs]
        else:
            with ThreadPoolExecutor(max_workers=min(self.num_threads, len(langs))) as pool:
                # Each task runs in a copy of this context, so DSPy's settings (lm, adapter,
                # caller stack) reach the worker threads without leaking between languages.
                futures = [
                    pool.submit(contextvars.copy_context().run, self._one_language, lang, ir_value)
                    for lang in langs
                ]
                done = [f.result() for f in futures]
        results = {r.language: r for r in done}
        return dspy.Prediction(ir=ir_value, results=results, ok=all(r.ok for r in done))

    def _compile(self, result: LanguageResult, implementation: BaseModel) -> bool:
        """Assemble and check one implementation; record it. Returns True when repairs may help."""
        result.implementation = implementation
        result.source = assemble(result.language, implementation)
        try:
            verdict = self.checker(result.language, result.source)
        except ToolchainMissingError as exc:
            result.ok, result.diagnostics = None, str(exc)
            return False
        result.ok, result.diagnostics = verdict.ok, verdict.diagnostics
        result.tool = f"{verdict.tool} {verdict.version}".strip()
        result.attempts.append(Attempt(result.source, verdict.ok, verdict.diagnostics, verdict.seconds))
        logger.debug("%s: compile ok=%s (attempt %d)", result.language, verdict.ok, len(result.attempts))
        return not verdict.ok and not verdict.timed_out

    def _pin(
        self, predictor: PinnablePredict, language: Language, ir: FunctionIR
    ) -> contextlib.AbstractContextManager[None]:
        """Within the block, the predictor's output is pinned to the IR's header (if configured)."""
        if not self.pin_signature:
            return contextlib.nullcontext()
        pinned = pinned_implementation_model(language, ir)
        return predictor.pinned(predictor.signature.with_updated_fields("implementation", type_=pinned))

    def _one_language(self, language: Language, ir: FunctionIR) -> LanguageResult:
        result = LanguageResult(language=language)
        generate, repair = self.generate[language], self.repair[language]
        try:
            with self._pin(generate, language, ir):
                implementation = generate(ir=ir, header=header(language, ir)).implementation
            retry = self._compile(result, implementation)
        except _RECOVERABLE as exc:
            result.error = f"generation failed: {type(exc).__name__}: {exc}"
            logger.info("%s: %s", language, result.error)
            return result
        while retry and result.repairs < self.max_repairs:
            result.repairs += 1
            try:
                diagnostics = annotate_diagnostics(result.diagnostics, result.source)
                with self._pin(repair, language, ir):
                    fixed = repair(
                        language=language,
                        ir=ir,
                        previous=result.implementation,
                        diagnostics=trim_diagnostics(diagnostics),
                    ).implementation
                retry = self._compile(result, fixed)
            except _RECOVERABLE as exc:
                result.error = f"repair {result.repairs} failed: {type(exc).__name__}: {exc}"
                logger.info("%s: %s", language, result.error)
                break
        return result
