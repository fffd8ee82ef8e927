"""Compiler diagnostics -> syntax errors (the compiler could not parse the file) vs everything else.

A grammar can rule out the first kind, not the second (types, names, borrowing, unused imports).
The rules follow each compiler's own split between its parser and later phases::

    >>> from lift_dspy.programs.compile_errors import classify
    >>> classify("go", "./main.go:4:2: syntax error: unexpected }, expected expression", ok=False)
    'syntax'
    >>> classify("rust", "error[E0308]: mismatched types", ok=False)
    'other'

- TypeScript: diagnostics ``TS1xxx`` (tsc's syntactic diagnostics: ``';' expected``, ...).
- Rust: ``error:`` lines without an error code from rustc's parser (``expected ...``,
  ``unexpected ...``, unclosed or mismatched delimiters, unknown tokens, unterminated literals).
- Go: ``syntax error:`` (cmd/compile) and go/parser's ``expected ...`` (``go build``'s import scan),
  plus literal and character errors of the scanner.
- Java: javac's parser messages (``';' expected``, ``illegal start of ...``, ``not a statement``,
  ``reached end of file while parsing``, unclosed literals, ...).
"""

from __future__ import annotations

import re
from typing import Literal

from lift_dspy.schemas import Language

__all__ = ["AttemptClass", "classify", "syntax_errors"]

AttemptClass = Literal["ok", "syntax", "other", "timeout"]

_SYNTAX: dict[Language, re.Pattern[str]] = {
    "typescript": re.compile(r"error TS1\d{3}:"),
    "rust": re.compile(
        r"^error: (?:expected|unexpected|mismatched closing delimiter|this file contains an unclosed "
        r"delimiter|unclosed|unknown start of token|unterminated|unmatched|incorrect (?:use|close)|"
        r"missing (?:`|semicolon|condition|type|fn|braces)|invalid (?:suffix|character|digit|"
        r"`|label|literal)|character literal may only contain|leading `\+`|found a documentation "
        r"comment|prefix `\w+` is unknown|keyword `\w+` is written in the wrong case|"
        r"unexpected closing delimiter|free function without a body|functions are not allowed)",
        re.M,
    ),
    "go": re.compile(
        r"syntax error|:\d+:\d+: expected |string literal not terminated|rune literal not terminated|"
        r"raw string literal not terminated|invalid character|newline in string|illegal character|"
        r"more than one character in rune literal|comment not terminated|non-declaration statement"
    ),
    "java": re.compile(
        r"error: (?:'[^']+' expected|<identifier> expected|\S+ expected|illegal start of "
        r"(?:expression|type|statement)|not a statement|reached end of file while parsing|class, "
        r"interface, enum, or record expected|unclosed (?:string|character|comment|text block) "
        r"literal|unclosed comment|empty character literal|illegal character|'else' without 'if'|"
        r"orphaned (?:case|default)|malformed floating-point literal|illegal line end in character "
        r"literal|'catch' without 'try'|'try' without 'catch'|variable declaration not allowed here|"
        r"integer number too large|illegal text block open delimiter|invalid method declaration)"
    ),
}
_TIMEOUT = re.compile(r": stopped after [\d.]+ s \(timeout\)$", re.M)


def syntax_errors(language: Language, diagnostics: str) -> list[str]:
    """The diagnostic lines of ``diagnostics`` that are syntax errors, in order."""
    pattern = _SYNTAX[language]
    return [line for line in diagnostics.splitlines() if pattern.search(line)]


def classify(language: Language, diagnostics: str, *, ok: bool) -> AttemptClass:
    """One compile's verdict: ``ok``, ``syntax`` (any syntax error), ``timeout`` or ``other``."""
    if ok:
        return "ok"
    if syntax_errors(language, diagnostics):
        return "syntax"
    if _TIMEOUT.search(diagnostics):
        return "timeout"
    return "other"
