"""A corpus of real single functions, extracted at test time from sources the machine installs.

Nothing here is copied into the repository: the functions come from the toolchains' own sources
(``.ci/install-toolchains.sh`` installs them):

- Go: the standard library under ``$(go env GOROOT)/src`` (free ``func``s, no tests).
- Java: the JDK's ``lib/src.zip`` (``java.base``; methods, not constructors).
- Rust: the standard library sources (rustup ``rust-src`` or Debian ``rust-src``; ``fn``s without
  ``self``).
- TypeScript: the ``.ts`` sources of the ``rxjs`` npm package (top-level ``function``s).

Functions are cut out by indentation (the sources are formatted: a function ends at the first
line holding only ``}`` at its own indentation), kept when they have at most 40 lines, and
sampled deterministically (sorted, then a seeded ``random.Random``). Broken variants imitate how
small models break code: a missing ``)``, a missing ``}``, a doubled comparison or assignment
operator, a statement after the closing brace, a repeated ``return``.
"""

from __future__ import annotations

import functools
import glob
import os
import random
import re
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lift_dspy.programs.toolchains import ToolchainMissingError, _cache_dir, find_toolchain

MAX_LINES = 40
LANGUAGES = ("go", "java", "rust", "typescript")


@dataclass(frozen=True)
class Function:
    language: str
    origin: str  # file:line, for messages
    text: str


class CorpusUnavailableError(RuntimeError):
    """The sources for a language are not installed (run .ci/install-toolchains.sh)."""


# ---------------------------------------------------------------- locating the sources


def _go_root() -> Path:
    tool = find_toolchain("go")
    out = subprocess.run([tool.path, "env", "GOROOT"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip()) / "src"


def _java_src_zip() -> Path:
    candidates = []
    try:
        javac = Path(os.path.realpath(find_toolchain("java").path))
        candidates.append(javac.parent.parent / "lib" / "src.zip")
    except ToolchainMissingError:
        pass
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/jvm/*/lib/src.zip"))]
    for path in candidates:
        if path.is_file():
            return path
    raise CorpusUnavailableError("no JDK src.zip (Debian: apt-get install openjdk-17-source)")


def _rust_library() -> Path:
    candidates = []
    try:
        rustc = find_toolchain("rust").path
        sysroot = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True).stdout
        candidates.append(Path(sysroot.strip()) / "lib" / "rustlib" / "src" / "rust" / "library")
    except ToolchainMissingError:
        pass
    candidates.append(Path("/usr/lib/rustlib/src/rust/library"))  # Debian rust-src
    for path in candidates:
        if (path / "core" / "src").is_dir():
            return path
    raise CorpusUnavailableError("no Rust std sources (rustup component add rust-src, or Debian rust-src)")


def _rxjs_src() -> Path:
    path = _cache_dir() / "npm" / "node_modules" / "rxjs" / "src"
    if not path.is_dir():
        raise CorpusUnavailableError(f"no rxjs sources at {path} (bash .ci/install-toolchains.sh typescript)")
    return path


# ---------------------------------------------------------------- cutting functions out


def _cut(lines: list[str], start: int, header_end: re.Pattern[str]) -> tuple[int, int] | None:
    """(first, last) line of the function whose header starts at ``start``, by indentation."""
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    for j in range(start, min(start + 6, len(lines))):  # headers span a few lines at most
        line = lines[j].rstrip()
        if j > start and (not line.strip() or line.strip().startswith(("//", "#", "@"))):
            return None  # the header ended without a body: a declaration
        if line.endswith(";") and "{" not in line:
            return None  # a declaration without body
        if "{" in line and line.endswith("}") and line.count("{") == line.count("}") and j == start:
            return start, start  # one-liner
        if header_end.search(line):
            for k in range(j + 1, min(len(lines), start + MAX_LINES + 1)):
                if lines[k].rstrip() == indent + "}":
                    return start, k
            return None
    return None


_BRACE_END = re.compile(r"\{$")


def _functions_in(
    text: str, origin: str, language: str, is_start: Callable[[str], object]
) -> Iterator[Function]:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not is_start(line):
            continue
        span = _cut(lines, i, _BRACE_END)
        if span is None:
            continue
        first, last = span
        body = "\n".join(lines[first : last + 1])
        if not body.isascii():
            continue
        indent = len(lines[first]) - len(lines[first].lstrip())
        dedented = "\n".join(
            line[indent:] if line[:indent].isspace() else line.lstrip() for line in body.splitlines()
        )
        yield Function(language, f"{origin}:{i + 1}", dedented)


_GO_START = re.compile(r"^func [A-Za-z_]\w*\s*[\[(]")


def _go_functions() -> Iterator[Function]:
    root = _go_root()
    for path in sorted(root.rglob("*.go")):
        rel = path.relative_to(root).as_posix()
        if rel.endswith("_test.go") or any(part in ("testdata", "vendor", "cmd") for part in rel.split("/")):
            continue
        yield from _functions_in(path.read_text(errors="replace"), rel, "go", _GO_START.match)


_JAVA_MODIFIERS = {
    "public", "protected", "private", "static", "final", "synchronized", "abstract", "native",
    "strictfp", "default",
}  # fmt: skip
_JAVA_START = re.compile(r"^    (?:@\w+\s+)*([\w$<>\[\],.? ]+?)\s*\(")


def _java_is_method(line: str) -> bool:
    match = _JAVA_START.match(line)
    if not match or line.startswith("     "):
        return False
    words = re.sub(r"<[^()]*>", " ", match.group(1)).split()
    if len(words) < 2 or words[-1] in _JAVA_MODIFIERS or words[0] in ("return", "new", "else", "throw"):
        return False
    return any(w not in _JAVA_MODIFIERS for w in words[:-1])  # a result type: not a constructor


def _java_functions() -> Iterator[Function]:
    with zipfile.ZipFile(_java_src_zip()) as archive:
        names = sorted(
            n
            for n in archive.namelist()
            if re.match(r"java\.base/java/(util|lang|math|text|time)/[^/]+\.java$", n)
        )
        for name in names:
            text = archive.read(name).decode("utf-8", "replace")
            yield from _functions_in(text, name, "java", _java_is_method)


_RUST_START = re.compile(r"^\s*(pub(\([\w:]+\))?\s+)?(const\s+)?(unsafe\s+)?fn\s+\w+")


def _rust_functions() -> Iterator[Function]:
    root = _rust_library()
    for crate in ("core", "alloc", "std"):
        for path in sorted((root / crate / "src").rglob("*.rs")):
            rel = path.relative_to(root).as_posix()
            if any(part in ("tests", "benches") for part in rel.split("/")) or rel.endswith("tests.rs"):
                continue
            for function in _functions_in(path.read_text(errors="replace"), rel, "rust", _RUST_START.match):
                header = function.text.split("{", 1)[0]
                if "self" not in header and "$" not in function.text:
                    yield function


_TS_START = re.compile(r"^(export\s+)?(async\s+)?function\b")


def _typescript_functions() -> Iterator[Function]:
    root = _rxjs_src()
    for path in sorted(root.rglob("*.ts")):
        if path.name.endswith(".d.ts"):
            continue
        rel = path.relative_to(root).as_posix()
        yield from _functions_in(path.read_text(errors="replace"), rel, "typescript", _TS_START.match)


_EXTRACTORS: dict[str, Callable[[], Iterator[Function]]] = {
    "go": _go_functions,
    "java": _java_functions,
    "rust": _rust_functions,
    "typescript": _typescript_functions,
}


@functools.cache
def all_functions(language: str) -> tuple[Function, ...]:
    """Every candidate function (at most MAX_LINES lines) of ``language``, in source order."""
    found = [f for f in _EXTRACTORS[language]() if f.text.count("\n") < MAX_LINES]
    if not found:
        raise CorpusUnavailableError(f"no {language} functions found")
    return tuple(found)


def sample(language: str, n: int, *, seed: str = "lift-dspy-code-corpus") -> list[Function]:
    """``n`` functions of ``language``, the same on every machine with the same sources."""
    population = all_functions(language)
    rng = random.Random(f"{seed}:{language}")
    return rng.sample(list(population), min(n, len(population)))


# ---------------------------------------------------------------- breaking them like small models do


def code_mask(language: str, text: str) -> list[bool]:
    """True for each character that is code (not inside a string, char literal or comment)."""
    mask = [True] * len(text)
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        j = i
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif c == '"' or (c == "`" and language in ("go", "typescript")):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" and c != "`" else 1
            j += 1
        elif c == "'":
            lit = re.match(r"'(\\.[^']*|[^'\\])'", text[i:])
            if lit:
                j = i + lit.end()
            elif language == "typescript":
                j = i + 1
                while j < n and text[j] != "'":
                    j += 2 if text[j] == "\\" else 1
                j += 1
        if j > i:
            for k in range(i, min(j, n)):
                mask[k] = False
            i = j
        else:
            i += 1
    return mask


_DOUBLED = {
    "go": ["==", "!=", "<=", ">=", "&&", "||", ":=", "+="],
    "java": ["==", "!=", "<=", ">=", "&&", "||", "+="],
    # Rust: `&& &&x` and `|| ||` parse (references, closures), but Rust has no unary `+` or `/`
    "rust": ["==", "!=", "<=", ">=", "+=", "+", "/"],
    "typescript": ["===", "!==", "==", "!=", "<=", ">=", "&&", "||", "+="],
}


def _code_positions(language: str, text: str, token: str) -> list[int]:
    mask = code_mask(language, text)
    return [m.start() for m in re.finditer(re.escape(token), text) if all(mask[m.start() : m.end()])]


def broken_variants(function: Function) -> dict[str, str]:
    """The function broken in up to five ways (a kind is missing when the function has no spot for it)."""
    lang, text = function.language, function.text
    rng = random.Random(function.origin)
    body_start = text.index("{")
    out: dict[str, str] = {}
    closes = [p for p in _code_positions(lang, text, ")") if p > body_start]
    if closes:
        p = rng.choice(closes)
        out["missing_paren"] = text[:p] + text[p + 1 :]
    braces = [p for p in _code_positions(lang, text, "}") if body_start < p < len(text) - 1]
    if braces:
        p = rng.choice(braces)
        out["missing_brace"] = text[:p] + text[p + 1 :]
    ops = []
    for op in _DOUBLED[lang]:
        for p in _code_positions(lang, text, op):
            before, after = text[p - 1 : p], text[p + len(op) : p + len(op) + 1]
            if before not in "=!<>&|+-*/%^:" and after not in "=&|<>":
                ops.append((p, op))
    if ops:
        p, op = rng.choice(sorted(ops))
        out["doubled_operator"] = text[:p] + op + " " + op + text[p + len(op) :]
    tail = {"go": "return 0", "java": "return 0;", "rust": "return 0;", "typescript": "return 0;"}[lang]
    out["after_closing_brace"] = text + "\n" + tail
    mask = code_mask(lang, text)
    lines = text.split("\n")
    offset = 0
    candidates = []
    for idx, line in enumerate(lines):
        stripped = line.strip()
        start = offset + len(line) - len(line.lstrip())
        offset += len(line) + 1
        if not (stripped.startswith("return") and mask[start]) or idx == len(lines) - 1:
            continue
        complete = (
            stripped.endswith(";") if lang != "go" else not stripped.endswith(("{", "(", ",", "&&", "||"))
        )
        if (
            complete
            and stripped.count("(") == stripped.count(")")
            and stripped.count("{") == stripped.count("}")
        ):
            candidates.append(idx)
    if candidates:
        idx = rng.choice(candidates)
        lines.insert(idx + 1, lines[idx])
        out["repeated_return"] = "\n".join(lines)
    return out
