"""Compile checks with the real toolchains: ``tsc``, ``rustc``, ``go`` and ``javac``.

Each check writes the source into a fresh temporary directory, runs the compiler there with a
timeout and a scrubbed environment (no proxies, no module downloads, a throwaway ``HOME``), never
runs the generated program, and deletes the directory afterwards::

    >>> from lift_dspy.programs.toolchains import check
    >>> check("rust", "pub fn one() -> i32 { 1 }").ok  # doctest: +SKIP
    True

Errors (both are ``LiftDSPyError``s, defined in :mod:`lift_dspy.errors` and re-exported here)::

    ToolchainError
    └── ToolchainMissingError    the compiler is not installed; says how to install it
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lift_dspy.errors import ToolchainError, ToolchainMissingError
from lift_dspy.schemas import LANGUAGES, Language

__all__ = [
    "INSTALL_HINT",
    "CompileResult",
    "Toolchain",
    "ToolchainError",
    "ToolchainMissingError",
    "check",
    "find_toolchain",
]

logger = logging.getLogger(__name__)

INSTALL_HINT = ToolchainMissingError.install_hint
DEFAULT_TIMEOUT = 120.0
_TOOLS: dict[Language, str] = {"typescript": "tsc", "rust": "rustc", "go": "go", "java": "javac"}
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# Environment variables a compiler may need and that cannot reach the network or the user's files.
_KEEP_ENV = ("LANG", "LC_ALL", "TZ", "JAVA_HOME")


@dataclass(frozen=True)
class CompileResult:
    """The verdict of one compile check.

    Attributes:
        ok: True when the compiler accepted the source.
        diagnostics: The compiler's messages (paths relative to the source file), empty when clean.
        seconds: Wall-clock time of the check.
        tool: The compiler that ran, e.g. ``"rustc"``.
        version: Its version line.
        timed_out: True when the compiler was stopped at the timeout (then ``ok`` is False).
    """

    ok: bool
    diagnostics: str
    seconds: float
    tool: str
    version: str
    timed_out: bool = False


@dataclass(frozen=True)
class Toolchain:
    """A located compiler."""

    language: Language
    tool: str
    path: str
    version: str


def _cache_dir() -> Path:
    """Where ``.ci/install-toolchains.sh`` puts what it installs without root."""
    override = os.environ.get("LIFT_DSPY_TOOLCHAINS")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lift-dspy" / "toolchains"


def _candidates(language: Language) -> list[str]:
    tool = _TOOLS[language]
    extra = {
        "typescript": [str(_cache_dir() / "npm" / "node_modules" / ".bin" / "tsc")],
        "rust": [str(Path.home() / ".cargo" / "bin" / "rustc")],
        "go": ["/usr/local/go/bin/go", "/usr/lib/go/bin/go"],
        "java": [],
    }[language]
    found = shutil.which(tool)
    return ([found] if found else []) + extra


def _run_plain(argv: list[str]) -> str:
    """Run a version/info command with the caller's environment; first line of its output."""
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    text = (out.stdout.strip() or out.stderr.strip()).splitlines()
    return text[0] if text else ""


@functools.cache
def find_toolchain(language: Language) -> Toolchain:
    """Locate the compiler for ``language`` and read its version (cached).

    For rustup installs the real ``rustc`` inside the toolchain is used, since the rustup proxy
    needs the user's ``HOME``, which checks do not pass on.

    Raises:
        ValueError: ``language`` is not one of ``typescript``, ``rust``, ``go``, ``java``.
        ToolchainMissingError: The compiler is not installed.
    """
    if language not in _TOOLS:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    tool = _TOOLS[language]
    for path in _candidates(language):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        if language == "rust":
            sysroot = _run_plain([path, "--print", "sysroot"])
            real = Path(sysroot) / "bin" / "rustc"
            path = str(real) if real.is_file() else path
        version_args = {"go": ["version"], "java": ["-version"]}.get(language, ["--version"])
        return Toolchain(language, tool, path, _run_plain([path, *version_args]))
    raise ToolchainMissingError(language, tool, searched=str(_cache_dir()))


def _environment(tool: Toolchain, workdir: Path) -> dict[str, str]:
    """A minimal environment: no proxies, no user config, no downloads."""
    env = {key: os.environ[key] for key in _KEEP_ENV if key in os.environ}
    for sub in ("home", "tmp"):
        (workdir / sub).mkdir(exist_ok=True)
    path = [str(Path(tool.path).parent), _SYSTEM_PATH]
    node = shutil.which("node") if tool.language == "typescript" else None
    if node:  # tsc is a node script; node may live outside the system dirs (nvm, Homebrew)
        path.insert(1, str(Path(node).parent))
    env.update(
        PATH=":".join(path),
        HOME=str(workdir / "home"),
        # Not the source folder itself: Go ignores a go.mod that sits in the temp root.
        TMPDIR=str(workdir / "tmp"),
        CARGO_NET_OFFLINE="true",
        NO_COLOR="1",
    )
    if tool.language == "go":
        env.update(
            GOPATH=str(workdir / "home" / "go"),
            GOMODCACHE=str(workdir / "home" / "go" / "mod"),
            # A shared build cache keeps checks fast on Go >= 1.20 (no precompiled std library).
            GOCACHE=str(_cache_dir() / "gocache"),
            GOFLAGS="-mod=mod",
            GOPROXY="off",
            GOSUMDB="off",
            GOTOOLCHAIN="local",
            GOWORK="off",
            GOENV="off",
            GOTELEMETRY="off",
            GO111MODULE="on",
            CGO_ENABLED="0",
        )
    return env


def _java_class_name(source: str) -> str:
    match = re.search(
        r"^\s*public\s+(?:final\s+|abstract\s+)*(?:class|record|interface|enum)\s+(\w+)", source, re.M
    )
    return match.group(1) if match else "Main"


def _commands(tool: Toolchain, workdir: Path, source: str) -> tuple[str, list[list[str]]]:
    """The file name to write and the commands to run, in order, for one language."""
    exe = tool.path
    if tool.language == "typescript":
        flags = ["--noEmit", "--strict", "--target", "es2022", "--lib", "es2022", "--module", "es2022"]
        return "main.ts", [[exe, *flags, "--pretty", "false", "main.ts"]]
    if tool.language == "rust":
        flags = ["--edition", "2021", "--crate-type", "lib", "--crate-name", "generated", "--emit=metadata"]
        return "lib.rs", [[exe, *flags, "-A", "warnings", "--color", "never", "--out-dir", "out", "lib.rs"]]
    if tool.language == "go":
        (workdir / "go.mod").write_text("module lift/generated\n\ngo 1.19\n", encoding="utf-8")
        return "main.go", [[exe, "build", "./..."], [exe, "vet", "./..."]]
    name = f"{_java_class_name(source)}.java"
    flags = ["-proc:none", "-implicit:none", "-encoding", "UTF-8", "-Xlint:none", "-d", "classes"]
    return name, [[exe, *flags, name]]


def _run(argv: list[str], workdir: Path, env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """Run one command in its own process group; kill the whole group on timeout."""
    proc = subprocess.Popen(
        argv,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return None, output
    return proc.returncode, output


def _clean(output: str, workdir: Path) -> str:
    text = output.replace(str(workdir) + os.sep, "").replace(str(workdir), ".")
    return text.strip()


def check(language: Language, source: str, *, timeout: float = DEFAULT_TIMEOUT) -> CompileResult:
    """Compile ``source`` with the real compiler for ``language`` without running it.

    Commands: ``tsc --noEmit --strict`` (ES2022), ``rustc --crate-type lib --emit=metadata``
    (edition 2021), ``go build`` then ``go vet`` in a module directory, ``javac -proc:none``.

    Args:
        language: ``"typescript"``, ``"rust"``, ``"go"`` or ``"java"``.
        source: One complete source file (see :mod:`lift_dspy.programs.assemble`).
        timeout: Seconds before the compiler is killed; the result then has ``timed_out=True``.

    Raises:
        ToolchainMissingError: The compiler is not installed.
    """
    tool = find_toolchain(language)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"lift-dspy-{language}-") as tmp:
        env = _environment(tool, Path(tmp))
        workdir = Path(tmp) / "src"
        workdir.mkdir()
        filename, commands = _commands(tool, workdir, source)
        (workdir / filename).write_text(source, encoding="utf-8")
        outputs: list[str] = []
        ok, timed_out = True, False
        for argv in commands:
            remaining = max(1.0, timeout - (time.monotonic() - start))
            code, output = _run(argv, workdir, env, remaining)
            outputs.append(_clean(output, workdir))
            if code is None:
                ok, timed_out = False, True
                outputs.append(f"{tool.tool}: stopped after {timeout:g} s (timeout)")
                break
            if code != 0:
                ok = False
                break
    seconds = time.monotonic() - start
    logger.debug("%s check: ok=%s in %.2f s", language, ok, seconds)
    diagnostics = "\n".join(part for part in outputs if part)
    return CompileResult(ok, diagnostics, seconds, tool.tool, tool.version, timed_out)
