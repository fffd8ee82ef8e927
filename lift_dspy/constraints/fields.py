"""Grammar-typed text fields: ``Annotated[str, Grammar(lark)]``, ``Annotated[str, Regex(p)]``, dspy.Code.

A text output field can carry its own grammar::

    class Fix(dspy.Signature):
        issue: str = dspy.InputField()
        version: Annotated[str, lift_dspy.Regex(r"[0-9]+\\.[0-9]+\\.[0-9]+")] = dspy.OutputField()
        query: Annotated[str, lift_dspy.Grammar(SQL_LARK)] = dspy.OutputField()
        patch: dspy.Code["rust"] = dspy.OutputField()

In DSPy's chat layout such a field is written raw (no JSON quotes) under its grammar, which is
embedded as a nested grammar (``%lark { ... }``: its rule names never clash with the layout's or
another field's), followed by the forced header of the next field. A ``dspy.Code[lang]`` output
whose language has a code grammar (:mod:`lift_dspy.constraints.code`: TypeScript, Rust, Go, Java)
is constrained the same way with no annotation; other languages are free text. In the JSON layout a
:class:`Regex` is the string's ``pattern``; a Lark grammar has no JSON Schema form, so a grammar
field (and a grammar-language ``dspy.Code``) is refused there with a typed error naming the field.

The output model validates the value with the same grammar, so local checks, demos and
``output_model(...)`` agree with what the server enforced.

A grammar must leave DSPy's chat layout readable: it is refused (``UnsupportedSchemaError``) when
any of its lexemes could contain the header opener ``[[ ##``, or start with ``#``, `` ##`` or
``[ ##`` (the only ways a header could be spelled across lexemes), or when llguidance cannot
compile it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dspy.adapters.types.code import Code
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from lift_dspy.constraints.grammar_safety import chat_field_grammar, grammar_problem
from lift_dspy.constraints.guidance import (
    GrammarMatcher,
    compile_grammar,
    grammar_from_lark,
    grammar_from_regex,
    language_is_empty,
)
from lift_dspy.errors import UnsupportedLanguageError, UnsupportedSchemaError

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = [
    "Grammar",
    "Regex",
    "chat_field_grammar",
    "code_check",
    "code_language_grammar",
    "field_grammar",
    "grammar_problem",
    "is_code_type",
    "refuse_in_json",
    "regex_problem",
]


@dataclass(frozen=True)
class Grammar:
    """Constrain a ``str`` output field by a Lark grammar (llguidance's dialect, with a ``start`` rule).

    Use it as ``Annotated`` metadata. In DSPy's chat layout the field is then written raw under the
    grammar; under ``dspy.JSONAdapter()`` such a field is refused (a Lark grammar has no JSON Schema
    form). The output model rejects any value that is not a sentence of the grammar.

    Example:
        >>> from typing import Annotated
        >>> import dspy, lift_dspy
        >>> class Calc(dspy.Signature):
        ...     question: str = dspy.InputField()
        ...     expr: Annotated[str, lift_dspy.Grammar('start: NUM ("+" NUM)*\\nNUM: /[0-9]+/')] = (
        ...         dspy.OutputField()
        ...     )
        >>> lift_dspy.output_model(Calc).model_validate({"expr": "1+2"}).expr
        '1+2'
    """

    lark: str

    def __post_init__(self) -> None:
        if not isinstance(self.lark, str) or not self.lark.strip():
            raise TypeError(f"lift_dspy.Grammar takes the text of a Lark grammar, got {self.lark!r}")

    def mismatch(self, text: str) -> str | None:
        """None when ``text`` is a sentence of the grammar, else why not."""
        return _mismatch(self.lark, text)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        if source is not str and not is_code_type(source):
            raise UnsupportedSchemaError(
                f"lift_dspy.Grammar applies to str (or dspy.Code) fields, not {source!r}",
                field=_field_name(handler),
                keyword="grammar",
            )
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def _check(self, value: Any) -> Any:
        text = value.code if isinstance(value, Code) else value
        reason = self.mismatch(text)
        if reason is not None:
            raise ValueError(f"not a sentence of the field's grammar: {reason}")
        return value


@dataclass(frozen=True)
class Regex:
    """Constrain a ``str`` output field by a regular expression that the *whole* value must match.

    The pattern uses the syntax of Rust's ``regex`` crate (what llguidance and Pydantic both run);
    it is anchored for you (a leading ``^`` and trailing ``$`` are optional). In the chat layout
    the field is written raw under the pattern; in the JSON layout it becomes the string's
    ``pattern`` (``^(?:...)$``). DSPy strips field values, so a pattern that requires edge
    whitespace cannot be answered in the chat layout.

    Example:
        >>> from typing import Annotated
        >>> import dspy, lift_dspy
        >>> class Version(dspy.Signature):
        ...     changelog: str = dspy.InputField()
        ...     version: Annotated[str, lift_dspy.Regex(r"[0-9]+\\.[0-9]+\\.[0-9]+")] = dspy.OutputField()
        >>> lift_dspy.output_model(Version).model_json_schema()["properties"]["version"]["pattern"]
        '^(?:[0-9]+\\\\.[0-9]+\\\\.[0-9]+)$'
    """

    pattern: str

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str):
            raise TypeError(f"lift_dspy.Regex takes a regular expression string, got {self.pattern!r}")

    @property
    def anchored(self) -> str:
        """The pattern as a JSON Schema / Pydantic ``pattern`` matching the whole value."""
        inner = self.pattern.removeprefix("^")
        if inner.endswith("$") and not inner.endswith("\\$"):
            inner = inner[:-1]
        return f"^(?:{inner})$"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        field = _field_name(handler)
        if source is not str:
            raise UnsupportedSchemaError(
                f"lift_dspy.Regex applies to str fields, not {source!r}", field=field, keyword="pattern"
            )
        schema = handler(source)
        if schema.get("type") != "str":
            raise UnsupportedSchemaError(
                "a field takes either lift_dspy.Grammar or lift_dspy.Regex, not both (nor a Regex after "
                "other validators); write the pattern as a terminal of the grammar",
                field=field,
                keyword="pattern",
            )
        error = compile_grammar(_regex_grammar(self.anchored))
        if error:
            raise UnsupportedSchemaError(
                f"llguidance cannot compile the pattern {self.pattern!r}: {error.strip().splitlines()[0]}",
                field=field,
                keyword="pattern",
            )
        return {**schema, "pattern": self.anchored}


def _regex_grammar(pattern: str) -> str:
    return grammar_from_regex(pattern)


def _field_name(handler: GetCoreSchemaHandler) -> str | None:
    name = getattr(handler, "field_name", None)
    return name if isinstance(name, str) else None


def is_code_type(annotation: Any) -> bool:
    """True for ``dspy.Code`` and ``dspy.Code[language]``."""
    return isinstance(annotation, type) and issubclass(annotation, Code)


def code_language_grammar(annotation: Any) -> str | None:
    """The code grammar of a ``dspy.Code[language]`` annotation, or None (free text).

    Languages with a grammar: those of :func:`lift_dspy.constraints.code.code_grammar`
    (TypeScript, Rust, Go, Java and their aliases); any other language stays free text.
    """
    if not is_code_type(annotation):
        return None
    return _code_grammar(str(getattr(annotation, "language", "python")))


def _code_grammar(language: str) -> str | None:
    from lift_dspy.constraints.code import code_grammar

    try:
        return code_grammar(language)
    except UnsupportedLanguageError:
        return None


def field_grammar(name: str, info: FieldInfo) -> str | None:
    """The Lark grammar a field's raw text follows in the chat layout, or None.

    The grammar is checked (cached per grammar text) and returned as embedded: terminals that
    could contain DSPy's header opener ``[[ ##`` narrowed to exclude it (see :func:`chat_field_grammar`).

    Raises:
        UnsupportedSchemaError: two grammars on one field, a grammar with a ``Regex``, or a grammar
            that cannot compile or could write DSPy's header ``[[ ##``; names the field.
    """
    grammars = [item.lark for item in info.metadata if isinstance(item, Grammar)]
    if any(isinstance(item, Regex) for item in info.metadata) and grammars:
        raise UnsupportedSchemaError(
            "a field takes either lift_dspy.Grammar or lift_dspy.Regex, not both; write the pattern as a "
            "terminal of the grammar",
            field=name,
            keyword="grammar",
        )
    if len(grammars) > 1:
        raise UnsupportedSchemaError(
            "a field takes one lift_dspy.Grammar; merge the grammars into one", field=name, keyword="grammar"
        )
    lark = grammars[0] if grammars else code_language_grammar(info.annotation)
    if lark is None:
        return None
    narrowed, problem = chat_field_grammar(lark)
    if narrowed is None:
        raise UnsupportedSchemaError(str(problem), field=name, keyword="grammar")
    return narrowed


def refuse_in_json(fields: Mapping[str, FieldInfo]) -> None:
    """Refuse grammar-typed fields in the JSON layout (a Lark grammar has no JSON Schema form).

    Raises:
        UnsupportedSchemaError: names the first such field and says to use the chat layout.
    """
    for name, info in fields.items():
        if any(isinstance(item, Grammar) for item in info.metadata):
            raise UnsupportedSchemaError(
                "a lift_dspy.Grammar field cannot be enforced inside JSON (a Lark grammar has no JSON Schema "
                "form, and an unconstrained string would be unchecked); use DSPy's chat layout "
                "(dspy.ChatAdapter, the default), or lift_dspy.Regex if a regular expression suffices",
                field=name,
                keyword="grammar",
            )
        if code_language_grammar(info.annotation) is not None:
            language = getattr(info.annotation, "language", "?")
            raise UnsupportedSchemaError(
                f"a dspy.Code[{language!r}] output is held to the {language} grammar, which cannot be "
                "enforced inside JSON; use DSPy's chat layout (dspy.ChatAdapter, the default), or declare "
                "the field as str to get unconstrained text",
                field=name,
                keyword="grammar",
            )


def code_check(annotation: Any) -> Any:
    """The ``Annotated`` metadata that validates a grammar-language ``dspy.Code`` value, or None.

    It checks that DSPy's own parser reads the raw text back as that very source, and that the
    source is a sentence of the language's grammar.
    """
    lark = code_language_grammar(annotation)
    return None if lark is None else _CodeCheck(lark)


def regex_problem(terminal: str, definitions: str) -> str | None:
    """Why a pattern-typed text terminal cannot be answered in the chat layout, or None."""
    probe = f"start: T__\nT__: {terminal}\n{definitions}\n"
    try:
        if not language_is_empty(probe):
            return None
    except ValueError as exc:
        return f"llguidance cannot compile the pattern: {str(exc).strip().splitlines()[0]}"
    return (
        "no text matches the pattern that DSPy's chat layout can read back (DSPy strips edge whitespace, "
        "and text cannot contain the header opener [[ ##)"
    )


@dataclass(frozen=True)
class _CodeCheck:
    """Validates a ``dspy.Code[lang]`` value: DSPy reads the raw text back as that very source, and
    the source is a sentence of the language's grammar."""

    lark: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        inner = handler(source)
        checked = core_schema.no_info_after_validator_function(self._check, inner)
        return core_schema.no_info_before_validator_function(functools.partial(_read_back, source), checked)

    def _check(self, value: Any) -> Any:
        reason = _mismatch(self.lark, value.code)
        if reason is not None:
            raise ValueError(f"not a sentence of the {getattr(value, 'language', '')} grammar: {reason}")
        return value


def _read_back(annotation: Any, value: Any) -> Any:
    """Raw source text must read back, through DSPy's own parser, as exactly that source."""
    if not isinstance(value, str):
        return value
    from dspy.adapters.utils import parse_value

    parsed = parse_value(value, annotation)
    if not isinstance(parsed, Code) or parsed.code != value.strip():
        raise ValueError("DSPy's adapter would not read this text back as the same source code")
    return value


@functools.lru_cache(maxsize=256)
def _matcher(lark: str) -> GrammarMatcher:
    return GrammarMatcher(grammar_from_lark(lark))


def _mismatch(lark: str, text: Any) -> str | None:
    if not isinstance(text, str):
        return f"expected text, got {type(text).__name__}"
    try:
        found = _matcher(lark).mismatch(text)
    except ValueError as exc:  # the grammar itself does not compile
        return f"the grammar does not compile ({exc})"
    return None if found is None else found[1]
