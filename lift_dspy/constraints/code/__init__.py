"""Grammars of one complete function in TypeScript, Rust, Go or Java (llguidance's Lark dialect).

What a grammar covers, exactly (so an assembler can build a compilable file around it):

========== ======================================================= ==============================
language   text the grammar accepts                                what the assembler adds
========== ======================================================= ==============================
typescript one ``function`` declaration (``export``/``async``/``*``  nothing
           allowed); no imports
rust       ``use std::…;``/``use core::…;``/``use alloc::…;`` lines   nothing (a ``main`` if it
           then one ``fn`` item (``pub``/``const``/``async``/         builds a binary)
           ``unsafe`` allowed)
go         ``import "fmt"`` / ``import ( … )`` of std packages     ``package main`` before it
           then one ``func`` without receiver
java       ``import java.…;``/``import javax.…;`` (``static`` and  the imports first, then the
           ``.*`` allowed) then one method with its modifiers      method inside a class
========== ======================================================= ==============================

Comments and whitespace are allowed between tokens, not before the first one, and nothing at all
(not even a newline) may follow the function's closing brace: the answer ends there. A line comment
holds at most 160 characters; in Go at most 6 line breaks (blank or comment lines) come in a row.
Elsewhere the number of comments between two tokens is not bounded (llguidance 1.7 applies
``%ignore`` repeatedly). A keyword that may be followed by a word carries its blank in the same
lexeme (``return x``, never ``returnx`` read as ``return x``).
:func:`split_code` cuts an answer into (imports, function).

Repetition is bounded where it has no legitimate use: a ``return`` (also ``break``, ``continue``,
``throw``, …) ends its block, a block holds at most ``max_statements`` statements (fewer when
``max_body_chars`` says the body must be short), at most 12 import lines come before the function,
and an argument list or array/list literal holds at most 32 items.

Example::

    from lift_dspy.constraints.code import code_grammar

    lark = code_grammar("rust", "fn clamp(x: i32, lo: i32, hi: i32) -> i32")
    # the model writes only `{ ... }` after the pinned header (and any `use std::...;` before it)
"""

from __future__ import annotations

import functools
import json
import re
from typing import Literal, get_args

from lift_dspy.constraints.code import _go, _java, _rust, _typescript
from lift_dspy.constraints.code._stdlib import STD_IMPORTS
from lift_dspy.errors import UnsupportedLanguageError

__all__ = [
    "CHARS_PER_STATEMENT",
    "CODE_LANGUAGES",
    "DEFAULT_MAX_STATEMENTS",
    "STD_IMPORTS",
    "CodeLanguage",
    "UnsupportedLanguageError",
    "code_grammar",
    "split_code",
]

CodeLanguage = Literal["typescript", "rust", "go", "java"]
CODE_LANGUAGES: tuple[CodeLanguage, ...] = get_args(CodeLanguage)

DEFAULT_MAX_STATEMENTS = 48
"""Statements per block by default: real single functions of <= 40 lines never need more."""

CHARS_PER_STATEMENT = 16
"""The shortest typical statement with its indentation: ``max_body_chars`` allows this many per block."""


def _one_line_rules(grammar: str) -> str:
    """Join indented continuation lines: Lark wants a rule on one line (or ``|``-led lines)."""
    return re.sub(r"\n[ \t]+(?=\S)", " ", grammar)


def _spaced_keywords(grammar: str, blank: str) -> str:
    """Turn each ``"kw "`` literal into one lexeme: the keyword and the blanks after it.

    llguidance's lexemes need no separator, so where a keyword may be followed by an identifier
    or a number, ``"kw" IDENT`` would read ``returnx`` as ``return x`` (and ``imports`` as
    ``import s``). The grammars write such keywords with a trailing space; the blank becomes
    mandatory here (``blank`` is the character class that may follow: Go's keywords end their
    line only where the grammar says so).
    """
    return re.sub(r'"([A-Za-z_]+) "', lambda m: f"/{m.group(1)}{blank}+/", grammar)


_TS_TYPE_RULES = ("type", "union", "intersection", "type_postfix", "type_primary")


def _nested_type_args(grammar: str, depth: int = 3) -> str:
    """TypeScript: type arguments nest at most ``depth`` deep (``A<B<C<D>>>``).

    The type rules are copied per level (``type2``, ``union2``, ...); ``type_args`` of level ``d``
    holds types of level ``d + 1`` and the last level has none. Object, tuple and function types
    inside a level start over at the top (only the ``A<B<...`` chain a model loops on is bounded).
    """
    rules = {line.split(":", 1)[0]: line for line in grammar.splitlines() if ":" in line}
    names = re.compile(r"\b(" + "|".join(_TS_TYPE_RULES) + r"|type_args)\b")
    levels = []
    for level in range(2, depth + 2):
        for name in (*_TS_TYPE_RULES, "type_args"):
            if name == "type_args" and level > depth:
                continue
            line = names.sub(rf"\g<1>{level}", rules[name])
            if name == "type_args":  # its own types are one level down
                line = line.replace(f"type{level}", f"type{level + 1}")
            elif level > depth:
                line = line.replace(f"type_args{level}?", "")
            levels.append(line)
    top = rules["type_args"]
    return grammar.replace(top, re.sub(r"\btype\b", "type2", top)) + "\n".join(levels) + "\n"


_GRAMMARS: dict[str, str] = {
    "typescript": _nested_type_args(_spaced_keywords(_one_line_rules(_typescript.GRAMMAR), r"[ \t\r\n]")),
    "rust": _spaced_keywords(_one_line_rules(_rust.GRAMMAR), r"[ \t\r\n]"),
    "go": _spaced_keywords(_one_line_rules(_go.GRAMMAR), r"[ \t]"),
    "java": _spaced_keywords(_one_line_rules(_java.GRAMMAR), r"[ \t\r\n]"),
}

_ALIASES = {"ts": "typescript", "rs": "rust", "golang": "go"}


def _language(language: str) -> CodeLanguage:
    name = _ALIASES.get(language.strip().lower(), language.strip().lower())
    if name not in _GRAMMARS:
        raise UnsupportedLanguageError(language, supported=CODE_LANGUAGES)
    return name  # type: ignore[return-value]


def _lark_string(text: str) -> str:
    """``text`` as a Lark string literal (one lexeme: exactly these bytes)."""
    return json.dumps(text, ensure_ascii=False)


def _std_terminal(language: str) -> str:
    if language == "go":
        paths = " | ".join(_lark_string(f'"{path}"') for path in STD_IMPORTS["go"])
        return f"STD_IMPORT: {paths}\n"
    return ""


@functools.lru_cache(maxsize=256)
def code_grammar(
    language: str,
    header: str | None = None,
    *,
    max_statements: int = DEFAULT_MAX_STATEMENTS,
    max_body_chars: int | None = None,
) -> str:
    """The Lark grammar (llguidance dialect) of one complete function in ``language``.

    Args:
        language: ``"typescript"``, ``"rust"``, ``"go"`` or ``"java"`` (``ts``/``rs``/``golang`` too).
        header: the exact function header (``fn clamp(x: i32) -> i32``,
            ``public static int clamp(int x)``, ...). Given, it is forced byte for byte (outer
            whitespace and a trailing ``{`` dropped) and only the body (and std imports before
            the header) is generated; None allows any function. The header is not checked: a
            header the language cannot parse makes every answer uncompilable.
        max_statements: most statements in one block (each nested block counts on its own).
        max_body_chars: the body size the caller can afford (derive it from the call's
            ``max_tokens``, about 3 characters a token). It lowers the statement cap to
            ``max_body_chars // CHARS_PER_STATEMENT`` (at least 2) per block, so a model that
            repeats itself must close the block early; it is not an exact length bound (a
            context-free grammar cannot count characters across nested blocks, and llguidance's
            ``max_tokens`` attribute truncates a sub-grammar instead of closing it).

    Returns:
        A grammar whose ``start`` rule is the function, ready for
        ``llguidance.LLMatcher.grammar_from_lark`` or vLLM's ``structured_outputs={"grammar": ...}``.

    Raises:
        UnsupportedLanguageError: for any other language.
        ValueError: for a bound below its minimum.
    """
    lang = _language(language)
    if max_statements < 1:
        raise ValueError(f"max_statements must be >= 1, got {max_statements}")
    if max_body_chars is not None:
        if max_body_chars < 2:
            raise ValueError(f"max_body_chars must be >= 2 (the two braces), got {max_body_chars}")
        max_statements = min(max_statements, max(2, max_body_chars // CHARS_PER_STATEMENT))
    core = _GRAMMARS[lang].replace("@STMTS@", f"{{0,{max_statements}}}") + _std_terminal(lang)
    head = "fn_header" if header is None else _lark_string(header.strip().removesuffix("{").rstrip())
    imports = "" if lang == "typescript" else "imports? "
    return f"start: {imports}{head} body\n{core}"


_IMPORT_LINE = {
    "go": re.compile(r"import\b"),
    "java": re.compile(r"import\b"),
    "rust": re.compile(r"(pub\s+)?use\b"),
    "typescript": re.compile(r"import\b"),
}


def split_code(language: str, text: str) -> tuple[str, str]:
    """Cut an answer of :func:`code_grammar` into ``(imports, function)``, both stripped.

    The imports are the leading import declarations (Go's parenthesized block included) and the
    comments between them; the function is the rest. Pure text work: no parsing, no validation.
    """
    lang = _language(language)
    pattern = _IMPORT_LINE[lang]
    lines = text.strip().splitlines()
    cut = 0
    in_block = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if in_block:
            if stripped.startswith(")"):
                in_block = False
            cut = i + 1
        elif pattern.match(stripped):
            in_block = lang == "go" and stripped.rstrip().endswith("(")
            cut = i + 1
        elif not stripped or stripped.startswith("//"):
            continue
        else:
            break
    return "\n".join(lines[:cut]).strip(), "\n".join(lines[cut:]).strip()
