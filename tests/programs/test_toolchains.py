"""Compile checks through the real compilers: good code passes, bad code fails at the right line."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lift_dspy.schemas import LANGUAGES, Language

from lift_dspy.programs import toolchains
from lift_dspy.programs.toolchains import CompileResult, ToolchainMissingError, check, find_toolchain

UNKNOWN: Any = "cobol"

GOOD: dict[Language, str] = {
    "typescript": "export function clamp(v: number, lo: number, hi: number): number {\n"
    "  return Math.min(Math.max(v, lo), hi);\n}\n",
    "rust": "pub fn clamp(v: i64, lo: i64, hi: i64) -> i64 {\n    v.max(lo).min(hi)\n}\n",
    "go": 'package lib\n\nimport "strings"\n\n'
    'func Shout(s string) string {\n\treturn strings.ToUpper(s) + "!"\n}\n',
    "java": "import java.util.List;\n\npublic final class Sum {\n"
    "    public static int sum(List<Integer> xs) {\n        int t = 0;\n"
    "        for (int x : xs) {\n            t += x;\n        }\n        return t;\n    }\n}\n",
}

# (source, line of the error) - each error sits on a line other than 1 so the line number is telling.
BAD: dict[Language, tuple[str, int]] = {
    "typescript": ("export function f(a: number): number {\n  const s: string = a;\n  return a;\n}\n", 2),
    "rust": ("pub fn f(a: i64) -> i64 {\n    let s: String = a;\n    a\n}\n", 2),
    "go": ("package lib\n\nfunc F(a int) int {\n\treturn a + undefinedName\n}\n", 4),
    "java": ('public final class F {\n    public static int f(int a) {\n        return "x";\n    }\n}\n', 3),
}

# Code that would create MARKER if anything ran it (module init, static initializer, top level).
SIDE_EFFECTS: dict[Language, str] = {
    "typescript": "declare const require: (m: string) => { writeFileSync(p: string, d: string): void };\n"
    'require("fs").writeFileSync("MARKER", "ran");\nexport const x = 1;\n',
    "rust": 'pub fn touch() { std::fs::write("MARKER", "ran").unwrap(); }\n'
    "#[allow(dead_code)]\nfn main() { touch(); }\n",
    "go": 'package lib\n\nimport "os"\n\n'
    'func init() {\n\t_ = os.WriteFile("MARKER", []byte("ran"), 0o644)\n}\n',
    "java": "public final class Boom {\n    static {\n        try {\n"
    '            java.nio.file.Files.writeString(java.nio.file.Path.of("MARKER"), "ran");\n'
    "        } catch (java.io.IOException e) {\n            throw new RuntimeException(e);\n        }\n"
    "    }\n\n    public static void main(String[] args) {}\n}\n",
}


def _installed(language: Language) -> bool:
    try:
        find_toolchain(language)
    except ToolchainMissingError:
        return False
    return True


def _require(language: Language) -> None:
    if not _installed(language):
        pytest.skip(f"{language} toolchain missing: run `bash .ci/install-toolchains.sh {language}`")


@pytest.mark.toolchain
@pytest.mark.parametrize("language", LANGUAGES)
def test_good_code_compiles(language: Language) -> None:
    _require(language)
    result = check(language, GOOD[language])
    assert result.ok, result.diagnostics
    assert result.diagnostics == ""
    assert result.tool == {"typescript": "tsc", "rust": "rustc", "go": "go", "java": "javac"}[language]
    assert result.version
    assert result.seconds > 0


@pytest.mark.toolchain
@pytest.mark.parametrize("language", LANGUAGES)
def test_bad_code_fails_at_the_error_line(language: Language) -> None:
    _require(language)
    source, line = BAD[language]
    result = check(language, source)
    assert not result.ok
    assert not result.timed_out
    patterns = {
        "typescript": rf"main\.ts\({line},\d+\): error TS\d+",
        "rust": rf"--> lib\.rs:{line}:\d+",
        "go": rf"main\.go:{line}:\d+: undefined: undefinedName",
        "java": rf"F\.java:{line}: error: incompatible types",
    }
    assert re.search(patterns[language], result.diagnostics), result.diagnostics
    assert "lift-dspy-" not in result.diagnostics  # temp paths are made relative


@pytest.mark.toolchain
@pytest.mark.parametrize("language", LANGUAGES)
def test_generated_code_is_never_executed(
    language: Language, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _require(language)
    marker = tmp_path / "ran.txt"
    monkeypatch.chdir(tmp_path)
    source = SIDE_EFFECTS[language].replace('"MARKER"', f'"{marker}"')
    result = check(language, source)
    assert result.ok, result.diagnostics
    assert not marker.exists()


@pytest.mark.toolchain
def test_go_cannot_download_modules() -> None:
    _require("go")
    source = 'package lib\n\nimport "github.com/example/nothere"\n\nfunc F() int {\n\treturn nothere.X\n}\n'
    result = check("go", source, timeout=60)
    assert not result.ok
    assert "GOPROXY=off" in result.diagnostics or "cannot find" in result.diagnostics


@pytest.mark.toolchain
def test_temp_directories_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require("rust")
    monkeypatch.setattr(toolchains.tempfile, "tempdir", str(tmp_path))
    check("rust", GOOD["rust"])
    assert list(tmp_path.iterdir()) == []


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    sleep = shutil.which("sleep")
    if sleep is None:
        pytest.skip("no sleep binary")
    code, _ = toolchains._run([sleep, "30"], tmp_path, {"PATH": os.environ.get("PATH", "")}, timeout=0.3)
    assert code is None


@pytest.fixture
def no_toolchains(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    find_toolchain.cache_clear()
    monkeypatch.setattr(toolchains.shutil, "which", lambda _name: None)
    monkeypatch.setattr(toolchains.Path, "home", staticmethod(lambda: tmp_path))
    monkeypatch.setenv("LIFT_DSPY_TOOLCHAINS", str(tmp_path / "none"))
    monkeypatch.setattr(toolchains, "_candidates", lambda _lang: [str(tmp_path / "missing")])
    yield
    find_toolchain.cache_clear()


@pytest.mark.usefixtures("no_toolchains")
def test_missing_toolchain_says_how_to_install() -> None:
    with pytest.raises(ToolchainMissingError, match=r"bash \.ci/install-toolchains\.sh go") as info:
        check("go", GOOD["go"])
    assert info.value.language == "go"
    assert info.value.tool == "go"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="expected one of typescript, rust, go, java"):
        find_toolchain(UNKNOWN)


def test_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "https_proxy", "GOPROXY", "GOFLAGS", "CARGO_HOME", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "leak")
    tool = toolchains.Toolchain("go", "go", "/usr/bin/go", "go version test")
    env = toolchains._environment(tool, tmp_path)
    assert not any(value == "leak" for value in env.values())
    assert env["GOPROXY"] == "off"
    assert env["GOFLAGS"] == "-mod=mod"
    assert env["CARGO_NET_OFFLINE"] == "true"
    assert env["CGO_ENABLED"] == "0"
    assert env["HOME"].startswith(str(tmp_path))


def test_compile_result_is_a_value() -> None:
    result = CompileResult(ok=True, diagnostics="", seconds=0.1, tool="rustc", version="1")
    assert result.timed_out is False
    with pytest.raises(AttributeError):
        setattr(result, "ok", False)  # noqa: B010 - a frozen dataclass must refuse it
