"""Implementation objects -> source files, one deterministic layout per language.

The LLM fills an implementation object (signature, imports, helper types, body lines; see
``schemas/json/*_impl.schema.json``); this module turns it into one compilable file:

- TypeScript: an ES module with ``export interface`` helpers and an ``export function``.
- Rust: a library crate with ``use`` lines, ``pub struct`` helpers and a ``pub fn``.
- Go: ``package lib`` with an import block (imports the body never uses are dropped: Go rejects
  them), struct helpers and the function.
- Java: a ``public final class`` named after the function (``clampValue`` -> ``ClampValue``)
  holding nested ``record`` helpers and the method as ``public static``.

Body lines are re-indented by bracket depth, so the model need not get whitespace right, and
blocks left open at the end of the body are closed::

    >>> from lift_dspy.programs.assemble import assemble
    >>> print(assemble("rust", {"function_signature": {"name": "two", "params": [], "return_type": "i32"},
    ...                         "uses": [], "helper_types": [], "body_statements": ["2"]}))
    pub fn two() -> i32 {
        2
    }
    <BLANKLINE>
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from lift_dspy.schemas import (
    IMPLEMENTATION_MODELS,
    GoImplementation,
    JavaImplementation,
    Language,
    RustImplementation,
    TypeScriptImplementation,
)

__all__ = ["assemble", "coerce_implementation", "java_class_name", "reindent"]

_OPEN = "{(["
_CLOSE = "})]"


def coerce_implementation(language: Language, implementation: BaseModel | Mapping[str, Any]) -> BaseModel:
    """Validate ``implementation`` as the implementation model of ``language``.

    Accepts the model itself, any other Pydantic model with the same fields, or a plain dict.

    Raises:
        ValueError: Unknown language.
        pydantic.ValidationError: The object does not match the language's schema.
    """
    if language not in IMPLEMENTATION_MODELS:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(IMPLEMENTATION_MODELS)}")
    model = IMPLEMENTATION_MODELS[language]
    if isinstance(implementation, model):
        return implementation
    data = implementation.model_dump() if isinstance(implementation, BaseModel) else dict(implementation)
    return model.model_validate(data)


def _brackets(line: str, quotes: str) -> tuple[int, str]:
    """(closers before the first opener, every bracket in order), ignoring quoted text and comments."""
    leading, quote = 0, ""
    found: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in quotes:
            quote = ch
        elif line.startswith("//", i):
            break
        elif ch in _OPEN or ch in _CLOSE:
            if ch in _CLOSE and not any(c in _OPEN for c in found):
                leading += 1
            found.append(ch)
        i += 1
    return leading, "".join(found)


def reindent(
    lines: Iterable[str], *, unit: str, base: int = 1, quotes: str = "\"'`", close_blocks: bool = False
) -> list[str]:
    """Indent code lines by bracket depth, starting at ``base`` levels of ``unit``.

    A line that starts by closing brackets is dedented first (``} else {`` lines up with its ``if``).
    With ``close_blocks``, braces still open at the end (only ``{``, nothing else) get their ``}``
    lines: a small model often stops one ``}`` short, and the fix is unambiguous.
    """
    out: list[str] = []
    stack: list[str] = []
    for raw in lines:
        for line in raw.splitlines() or [""]:
            text = line.strip()
            if not text:
                continue
            leading, found = _brackets(text, quotes)
            out.append(unit * (base + max(0, len(stack) - leading)) + text)
            for ch in found:
                if ch in _OPEN:
                    stack.append(ch)
                elif stack:
                    stack.pop()
    if close_blocks and stack and set(stack) == {"{"}:
        out.extend(unit * (base + depth) + "}" for depth in reversed(range(len(stack))))
    return out


def _pascal(name: str) -> str:
    parts = re.split(r"[_\W]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) or "Generated"


def java_class_name(implementation: JavaImplementation) -> str:
    """The wrapper class: the method name in PascalCase, made distinct from the helper records."""
    name = _pascal(implementation.function_signature.name)
    taken = {h.name for h in implementation.helper_types}
    while name in taken:
        name += "Functions"
    return name


def _typescript(impl: TypeScriptImplementation) -> str:
    parts: list[str] = []
    if impl.imports:
        parts.append("\n".join(f'import {{ {", ".join(i.names)} }} from "{i.module}";' for i in impl.imports))
    for helper in impl.helper_types:
        fields = "\n".join(f"  {f.name}: {f.type};" for f in helper.fields)
        parts.append(f"export interface {helper.name} {{\n{fields}\n}}")
    sig = impl.function_signature
    params = ", ".join(f"{p.name}: {p.type}" for p in sig.params)
    body = "\n".join(reindent(impl.body_statements, unit="  ", close_blocks=True))
    parts.append(f"export function {sig.name}({params}): {sig.return_type} {{\n{body}\n}}")
    return "\n\n".join(parts) + "\n"


def _rust(impl: RustImplementation) -> str:
    parts: list[str] = []
    if impl.uses:
        parts.append("\n".join(f"use {u};" for u in impl.uses))
    for helper in impl.helper_types:
        fields = "\n".join(f"    pub {f.name}: {f.type}," for f in helper.fields)
        parts.append(f"#[derive(Debug, Clone, PartialEq)]\npub struct {helper.name} {{\n{fields}\n}}")
    sig = impl.function_signature
    params = ", ".join(f"{p.name}: {p.type}" for p in sig.params)
    ret = "" if sig.return_type.strip() in ("", "()") else f" -> {sig.return_type}"
    # Single quotes are not string delimiters in Rust (lifetimes), so only " counts.
    body = "\n".join(reindent(impl.body_statements, unit="    ", quotes='"', close_blocks=True))
    parts.append(f"pub fn {sig.name}({params}){ret} {{\n{body}\n}}")
    return "\n\n".join(parts) + "\n"


def _go(impl: GoImplementation) -> str:
    parts = ["package lib"]
    # Go rejects unused imports; drop those the body never refers to (as the grammar-code form does).
    sig = impl.function_signature
    code = [
        *impl.body_statements,
        *(f.type for h in impl.helper_types for f in h.fields),
        *(p.type for p in sig.params),
        sig.return_type,
    ]
    imports = [i for i in impl.imports if _go_uses(i, code)]
    if imports:
        parts.append("import (\n" + "\n".join(f'\t"{i}"' for i in imports) + "\n)")
    for helper in impl.helper_types:
        fields = "\n".join(f"\t{f.name} {f.type}" for f in helper.fields)
        parts.append(f"type {helper.name} struct {{\n{fields}\n}}")
    params = ", ".join(f"{p.name} {p.type}" for p in sig.params)
    ret = f" {sig.return_type.strip()}" if sig.return_type.strip() else ""
    body = "\n".join(reindent(impl.body_statements, unit="\t", close_blocks=True))
    parts.append(f"func {sig.name}({params}){ret} {{\n{body}\n}}")
    return "\n\n".join(parts) + "\n"


def _go_uses(package: str, body: list[str]) -> bool:
    name = package.strip().strip('"').rsplit("/", 1)[-1]
    return bool(name) and re.search(rf"\b{re.escape(name)}\s*\.", "\n".join(body)) is not None


def _java(impl: JavaImplementation) -> str:
    parts: list[str] = []
    if impl.imports:
        parts.append("\n".join(f"import {i};" for i in impl.imports))
    cls = java_class_name(impl)
    members = [f"    private {cls}() {{}}"]
    for helper in impl.helper_types:
        fields = ", ".join(f"{f.type} {f.name}" for f in helper.fields)
        members.append(f"    public record {helper.name}({fields}) {{}}")
    sig = impl.function_signature
    params = ", ".join(f"{p.type} {p.name}" for p in sig.params)
    body = "\n".join(reindent(impl.body_statements, unit="    ", base=2, close_blocks=True))
    members.append(f"    public static {sig.return_type} {sig.name}({params}) {{\n{body}\n    }}")
    parts.append(f"public final class {cls} {{\n" + "\n\n".join(members) + "\n}")
    return "\n\n".join(parts) + "\n"


def assemble(language: Language, implementation: BaseModel | Mapping[str, Any]) -> str:
    """Turn an implementation object into one source file for ``language``.

    Deterministic: the same object always gives the same text.

    Raises:
        ValueError: Unknown language.
        pydantic.ValidationError: The object does not match the language's schema.
    """
    impl = coerce_implementation(language, implementation)
    if isinstance(impl, TypeScriptImplementation):
        return _typescript(impl)
    if isinstance(impl, RustImplementation):
        return _rust(impl)
    if isinstance(impl, GoImplementation):
        return _go(impl)
    if isinstance(impl, JavaImplementation):
        return _java(impl)
    raise ValueError(f"no assembler for {type(impl).__name__}")  # pragma: no cover
