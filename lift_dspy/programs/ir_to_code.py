"""IRToCode: request -> IR -> code in TypeScript, Rust, Go and Java that the real compilers accept.

For each language the module asks for the function, assembles it into a source file, compiles it
(never runs it) and, while the compiler rejects it, feeds the diagnostics back through a repair
signature, up to ``max_repairs`` times. Languages run concurrently, so a vLLM server can batch
their requests.

Two code forms:

- ``"grammar-code"`` (default): the function as raw source under its language's grammar
  (:func:`lift_dspy.constraints.code.code_grammar`) with the header the IR implies forced; the
  model writes the standard-library imports it needs and the body, which cannot be syntactically
  wrong where the grammar reaches (:mod:`lift_dspy.programs.source`).
- ``"json-parts"``: an implementation object (signature, imports, helper types, body lines as JSON
  strings) assembled by :mod:`lift_dspy.programs.assemble`; only the wrapper is constrained.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import dspy
from dspy.utils.exceptions import AdapterParseError, LMError
from pydantic import BaseModel, ValidationError

from lift_dspy.programs.assemble import assemble
from lift_dspy.programs.demos import code_demo, ir_demo, source_demo
from lift_dspy.programs.headers import header_hint, pinned_implementation_model
from lift_dspy.programs.source import (
    assemble_source,
    body_chars_bound,
    function_header,
    narrowed_signature,
    required_imports,
)
from lift_dspy.programs.toolchains import CompileResult, ToolchainMissingError, check
from lift_dspy.schemas import LANGUAGES, FunctionIR, Language
from lift_dspy.signatures.ir_to_code import (
    NLToIR,
    ir_to_code_signature,
    ir_to_source_signature,
    repair_signature,
    repair_source_signature,
)

__all__ = [
    "CODE_FORMS",
    "Attempt",
    "CodeForm",
    "IRToCode",
    "LanguageResult",
    "PinnablePredict",
    "annotate_diagnostics",
    "trim_diagnostics",
]

logger = logging.getLogger(__name__)

CodeForm = Literal["grammar-code", "json-parts"]
CODE_FORMS: tuple[CodeForm, ...] = ("grammar-code", "json-parts")

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
        implementation: The last answer: the source text the model wrote (grammar-code form) or
            the implementation object (json-parts form).
        attempts: Every compile, in order.
        tool: The compiler and its version, e.g. ``"rustc 1.95.0 (...)"``.
        error: Why generation stopped early, if it did.
    """

    language: Language
    source: str = ""
    ok: bool | None = None
    diagnostics: str = ""
    repairs: int = 0
    implementation: BaseModel | str | None = None
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
    """The signature pinned for ``owner`` by :func:`pinned_signature_scope` in this thread/task, if any."""
    return (_PINNED.get() or {}).get(id(owner))


@contextlib.contextmanager
def pinned_signature_scope(owner: object, signature: type[dspy.Signature]) -> Iterator[None]:
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
        return pinned_signature_scope(self, signature)


def _max_tokens() -> int | None:
    """The configured LM's ``max_tokens`` (what bounds the grammar-code body), if it has one."""
    lm = dspy.settings.lm
    value = (getattr(lm, "kwargs", None) or {}).get("max_tokens")
    return int(value) if isinstance(value, int) and value > 0 else None


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
        pin_signature: Fix the function's header in the grammar to the one the IR implies, so
            the LM writes only imports (and, for json-parts, helper types) and the body. False lets
            the LM choose the header (grammar-code: any function of the language).
        code_form: ``"grammar-code"`` (default): the function as raw source under its language's
            grammar; ``"json-parts"``: an implementation object whose body lines are JSON strings.

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
        code_form: CodeForm = "grammar-code",
    ) -> None:
        super().__init__()
        if max_repairs < 0:
            raise ValueError(f"max_repairs must be >= 0, got {max_repairs}")
        if code_form not in CODE_FORMS:
            raise ValueError(f"unknown code_form {code_form!r}; expected one of {', '.join(CODE_FORMS)}")
        self.code_form: CodeForm = code_form
        self.languages: tuple[Language, ...] = tuple(languages)
        for lang in self.languages:
            if lang not in LANGUAGES:
                raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
        self.max_repairs = max_repairs
        self.checker: Checker = checker or check
        self.num_threads = max(1, num_threads)
        self.pin_signature = pin_signature
        self.nl_to_ir = dspy.Predict(NLToIR)
        raw = code_form == "grammar-code"
        generate_sig = ir_to_source_signature if raw else ir_to_code_signature
        repair_sig = repair_source_signature if raw else repair_signature
        self.generate = {lang: PinnablePredict(generate_sig(lang)) for lang in LANGUAGES}
        self.repair = {lang: PinnablePredict(repair_sig(lang)) for lang in LANGUAGES}
        if demos:
            self.nl_to_ir.demos = [ir_demo()]
            for lang, predictor in self.generate.items():
                predictor.demos = [source_demo(lang) if raw else code_demo(lang)]

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
            logger.info("IR: request -> IR")
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

    def _compile(self, result: LanguageResult, implementation: BaseModel | str, ir: FunctionIR) -> bool:
        """Assemble and check one answer; record it. Returns True when repairs may help."""
        result.implementation = implementation
        if isinstance(implementation, str):
            result.source = assemble_source(
                result.language,
                implementation,
                header=function_header(result.language, ir) if self.pin_signature else None,
                required_imports=required_imports(result.language, ir),
            )
        else:
            result.source = assemble(result.language, implementation)
        try:
            verdict = self.checker(result.language, result.source)
        except ToolchainMissingError as exc:
            result.ok, result.diagnostics = None, str(exc)
            return False
        result.ok, result.diagnostics = verdict.ok, verdict.diagnostics
        result.tool = f"{verdict.tool} {verdict.version}".strip()
        result.attempts.append(Attempt(result.source, verdict.ok, verdict.diagnostics, verdict.seconds))
        logger.info(
            "%s: %s (attempt %d, %s %.1f s)",
            result.language,
            "compiles" if verdict.ok else "does not compile",
            len(result.attempts),
            verdict.tool,
            verdict.seconds,
        )
        return not verdict.ok and not verdict.timed_out

    def _pin(
        self, predictor: PinnablePredict, language: Language, ir: FunctionIR
    ) -> contextlib.AbstractContextManager[None]:
        """Within the block, the predictor's output is held to the IR's header (if configured).

        grammar-code: the ``code`` field gets the language's grammar, with the header forced when
        ``pin_signature`` (cached per header, so each grammar compiles once) and the body bounded
        by the call's ``max_tokens``. json-parts: ``function_signature`` becomes constants.
        """
        if self.code_form == "grammar-code":
            head = function_header(language, ir) if self.pin_signature else None
            bound = body_chars_bound(_max_tokens())
            return predictor.pinned(narrowed_signature(predictor.signature, language, head, bound))
        if not self.pin_signature:
            return contextlib.nullcontext()
        pinned = pinned_implementation_model(language, ir)
        return predictor.pinned(predictor.signature.with_updated_fields("implementation", type_=pinned))

    def _answer(self, prediction: dspy.Prediction) -> BaseModel | str:
        if self.code_form == "grammar-code":
            return str(prediction.code)
        answer: BaseModel = prediction.implementation
        return answer

    def _one_language(self, language: Language, ir: FunctionIR) -> LanguageResult:
        result = LanguageResult(language=language)
        generate, repair = self.generate[language], self.repair[language]
        try:
            shown = function_header if self.code_form == "grammar-code" else header_hint
            head = shown(language, ir)
            logger.info("%s: generating", language)
            with self._pin(generate, language, ir):
                implementation = self._answer(generate(ir=ir, header=head))
            retry = self._compile(result, implementation, ir)
        except _RECOVERABLE as exc:
            result.error = f"generation failed: {type(exc).__name__}: {exc}"
            logger.info("%s: %s", language, result.error)
            return result
        while retry and result.repairs < self.max_repairs:
            result.repairs += 1
            logger.info("%s: repair %d", language, result.repairs)
            try:
                diagnostics = annotate_diagnostics(result.diagnostics, result.source)
                with self._pin(repair, language, ir):
                    fixed = self._answer(
                        repair(
                            language=language,
                            ir=ir,
                            previous=result.implementation,
                            diagnostics=trim_diagnostics(diagnostics),
                        )
                    )
                retry = self._compile(result, fixed, ir)
            except _RECOVERABLE as exc:
                result.error = f"repair {result.repairs} failed: {type(exc).__name__}: {exc}"
                logger.info("%s: %s", language, result.error)
                break
        return result
