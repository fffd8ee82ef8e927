"""The grammar-code form of IR-to-code: the function as raw source under its language's grammar.

The model writes the standard-library imports it needs and one function whose header is forced by
the grammar (:func:`lift_dspy.constraints.code.code_grammar` with the header the IR implies), so
the answer cannot be syntactically wrong where the grammar reaches. This module turns such an
answer into one compilable file and builds the per-header output types::

    >>> from lift_dspy.programs.source import assemble_source
    >>> print(assemble_source("java", "public static int one() {\\n    return 1;\\n}",
    ...                       header="public static int one()"))
    public final class One {
        private One() {}
    <BLANKLINE>
        public static int one() {
            return 1;
        }
    }
    <BLANKLINE>
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Annotated, Any

import dspy
from pydantic import BaseModel

from lift_dspy.programs.headers import function_header, suggested_imports
from lift_dspy.schemas import FunctionIR, Language

__all__ = [
    "assemble_source",
    "body_chars_bound",
    "code_type",
    "function_header",
    "narrowed_signature",
    "split_source",
    "used_go_imports",
]

# Import lines as the four grammars write them (one per line, before the function).
_IMPORT = {
    "typescript": re.compile(r"^\s*import\b.*$"),
    "rust": re.compile(r"^\s*(?:pub\s+)?use\s+[^;]+;\s*$"),
    "go": re.compile(r"^\s*import\b.*$|^\s*\(?\s*\"[\w/.]+\"\s*\)?\s*$|^\s*\)\s*$|^\s*import\s*\(\s*$"),
    "java": re.compile(r"^\s*import\s+(?:static\s+)?[\w.]+(?:\.\*)?\s*;\s*$"),
}
# Output tokens that are not body: DSPy's chat markers, the imports and the forced header.
_OVERHEAD_TOKENS = 128
_MIN_BODY_TOKENS = 64
# Code is about 3 characters a token (what code_grammar's max_body_chars assumes).
_CHARS_PER_TOKEN = 3


def body_chars_bound(max_tokens: int | None) -> int | None:
    """``code_grammar``'s ``max_body_chars`` for a call limited to ``max_tokens`` output tokens.

    What the token limit leaves after the chat markers, imports and header, at about 3 characters
    a token; None without a limit.
    """
    if not max_tokens:
        return None
    return max(_MIN_BODY_TOKENS, max_tokens - _OVERHEAD_TOKENS) * _CHARS_PER_TOKEN


def code_type(language: Language, header: str | None, max_body_chars: int | None) -> Any:
    """``Annotated[str, lift_dspy.Grammar(code_grammar(language, header, ...))]``."""
    from lift_dspy.constraints.code import code_grammar
    from lift_dspy.constraints.fields import Grammar

    lark = code_grammar(language, header, max_body_chars=max_body_chars)
    return Annotated[str, Grammar(lark)]


_NARROWED: dict[tuple[Any, ...], type[dspy.Signature]] = {}
_NARROWED_LOCK = threading.Lock()
_NARROWED_MAX = 512


def narrowed_signature(
    signature: type[dspy.Signature], language: Language, header: str | None, max_body_chars: int | None
) -> type[dspy.Signature]:
    """``signature`` with its ``code`` output held to the grammar of ``language`` with ``header``.

    Cached per (signature, language, header, bound): the same header gives the same class, so
    lift-dspy's constraint cache compiles each grammar once.
    """
    key = (signature, language, header, max_body_chars)
    with _NARROWED_LOCK:
        cached = _NARROWED.get(key)
    if cached is not None:
        return cached
    narrowed = signature.with_updated_fields("code", type_=code_type(language, header, max_body_chars))
    narrowed.__name__ = signature.__name__
    with _NARROWED_LOCK:
        if len(_NARROWED) >= _NARROWED_MAX:
            _NARROWED.pop(next(iter(_NARROWED)))
        return _NARROWED.setdefault(key, narrowed)


def split_source(language: Language, code: str, header: str | None = None) -> tuple[list[str], str]:
    """Split an answer into its import lines and the function (from its header on).

    With ``header`` the function starts where the header does; otherwise at the first line that
    is not an import, a blank line or a comment.
    """
    text = code.strip("\n")
    start = text.find(header) if header else -1
    if start < 0:
        lines = text.splitlines()
        index = 0
        while index < len(lines) and (
            not lines[index].strip()
            or lines[index].lstrip().startswith("//")
            or _IMPORT[language].match(lines[index])
        ):
            index += 1
        start = sum(len(line) + 1 for line in lines[:index])
    head, function = text[:start], text[start:].strip()
    imports = [
        line.strip() for line in head.splitlines() if line.strip() and not line.strip().startswith("//")
    ]
    return imports, function


def _java_class(function: str) -> str:
    match = re.search(r"(\w+)\s*\(", function)
    name = match.group(1) if match else "Generated"
    return (name[:1].upper() + name[1:]) or "Generated"


def _missing(required: list[str], imports: list[str]) -> list[str]:
    """The required imports the answer does not already provide (by name or by a wildcard)."""
    text = "\n".join(imports)
    out = []
    for item in required:
        parent, _, name = item.replace("::", ".").rpartition(".")
        wildcard = re.escape(parent).replace(r"\.", r"(?:\.|::)") + r"(?:\.|::)\*"
        if not re.search(rf"\b{re.escape(name)}\b", text) and not re.search(wildcard, text):
            out.append(item)
    return out


def _go_imports(lines: list[str], required: list[str]) -> list[str]:
    """Go import lines (single or grouped) -> a flat list of package paths."""
    packages = re.findall(r'"([\w/.]+)"', "\n".join(lines))
    return list(dict.fromkeys([*required, *packages]))


def used_go_imports(packages: list[str], code: str) -> list[str]:
    """The Go packages ``code`` refers to (``strings.Split`` uses ``"strings"``).

    Go rejects an unused import, and a small model often imports one "just in case"; dropping it
    is unambiguous (the package name is the path's last element for every std package).
    """
    return [p for p in packages if re.search(rf"\b{re.escape(p.rsplit('/', 1)[-1])}\s*\.", code)]


def assemble_source(
    language: Language, code: str, *, header: str | None = None, required_imports: list[str] | None = None
) -> str:
    """Turn an answer (imports + one function) into one compilable file for ``language``.

    - TypeScript: the answer as an ES module.
    - Rust: ``use`` lines (the header's own first), then the function.
    - Go: ``package lib``, one import block (packages the function does not use are dropped: Go
      rejects them), the function.
    - Java: imports, then a ``public final class`` named after the method holding it.

    ``required_imports`` (what the header's types need, :func:`suggested_imports`) are added
    when the answer lacks them. Deterministic: the same answer gives the same file.
    """
    required = list(required_imports or [])
    imports, function = split_source(language, code, header)
    if header and function.startswith(header):
        # The header is ours: its brace goes on the same line (Go's semicolon insertion makes
        # "header NEWLINE {" a syntax error; elsewhere the whitespace is free).
        function = f"{header} {function[len(header) :].lstrip()}"
    if language == "typescript":
        return "\n".join([*imports, *([""] if imports else []), function]) + "\n"
    if language == "rust":
        uses = [*(f"use {r};" for r in _missing(required, imports)), *dict.fromkeys(imports)]
        return "\n".join([*uses, *([""] if uses else []), function]) + "\n"
    if language == "go":
        packages = used_go_imports(_go_imports(imports, required), function)
        parts = ["package lib"]
        if packages:
            parts.append("import (\n" + "\n".join(f'\t"{p}"' for p in packages) + "\n)")
        parts.append(function)
        return "\n\n".join(parts) + "\n"
    lines = [*(f"import {r};" for r in _missing(required, imports)), *dict.fromkeys(imports)]
    cls = _java_class(function)
    method = "\n".join(("    " + line) if line.strip() else "" for line in function.splitlines())
    body = f"public final class {cls} {{\n    private {cls}() {{}}\n\n{method}\n}}\n"
    return "\n".join(lines) + ("\n\n" if lines else "") + body


def required_imports(language: Language, ir: FunctionIR | BaseModel | Mapping[str, Any]) -> list[str]:
    """Imports the header's own types need (added to the file when the answer lacks them)."""
    return suggested_imports(language, ir)
