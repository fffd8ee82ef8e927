"""The wheel, not only the checkout: signatures/ and schemas/ ship as lift_dspy.* subpackages, and the
installed wheel imports every module with nothing but its declared requirements."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What setuptools reads to build the wheel (see pyproject.toml).
PACKAGE_SOURCES = ("pyproject.toml", "README.md", "lift_dspy", "signatures", "schemas")


def _build_wheel(tmp_path: Path) -> Path:
    """``pip wheel --no-deps`` from a fresh copy of the sources.

    Building in the checkout would reuse its ``build/lib``, where files deleted from the sources
    stay behind and ship again; a copy also leaves the checkout untouched.
    """
    source = tmp_path / "src"
    for name in PACKAGE_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("lift_dspy-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_contains_signatures_schemas_and_json(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "lift_dspy/__init__.py" in names
    assert "lift_dspy/py.typed" in names
    assert "lift_dspy/signatures/ir_to_code.py" in names
    assert "lift_dspy/schemas/json/function_ir.schema.json" in names
    assert any(name.startswith("lift_dspy/schemas/models/") for name in names)
    assert not any(name.startswith(("tests/", "signatures/", "schemas/")) for name in names)


# Runs inside the clean venv: import every module of the installed wheel, then list what else got
# imported that is neither the standard library nor a (transitive) requirement of lift-dspy's
# runtime extras. The `dev` extra (pytest, hypothesis, ...) is deliberately not allowed.
_IMPORT_EVERY_MODULE = r"""
import importlib, importlib.metadata as md, json, pkgutil, re, sys
from packaging.requirements import Requirement

import lift_dspy

assert lift_dspy.__file__.startswith(sys.prefix), lift_dspy.__file__  # the wheel, not the checkout
EXTRAS = ("cpu", "gpu", "codegen", "bench", "monitoring")


def allowed_distributions():
    seen, stack = set(), [("lift-dspy", EXTRAS)]
    while stack:
        name, extras = stack.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                stack.append((req.name, tuple(req.extras)))
    return seen


modules, failed = [], {}
for info in pkgutil.walk_packages(lift_dspy.__path__, "lift_dspy."):
    modules.append(info.name)
    try:
        importlib.import_module(info.name)
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        failed[info.name] = f"{type(exc).__name__}: {exc}"

allowed = allowed_distributions()
owners = md.packages_distributions()
foreign = {}
for top in sorted({name.split(".")[0] for name in sys.modules}):
    if top in sys.stdlib_module_names or top in sys.builtin_module_names or top == "lift_dspy":
        continue
    module = sys.modules[top]
    origin = getattr(module, "__file__", None) or "".join(getattr(module, "__path__", []) or [])
    if "site-packages" not in origin:
        continue  # the interpreter's own: __main__, _sysconfigdata_*, Cython's runtime modules
    dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(top, [])}
    if not dists & allowed:
        foreign[top] = sorted(dists)
print(json.dumps({"modules": modules, "failed": failed, "foreign": foreign}))
"""


@pytest.mark.slow
def test_wheel_in_a_clean_venv_imports_every_module_and_nothing_it_does_not_depend_on(
    tmp_path: Path,
) -> None:
    """Build the wheel, install it with --no-deps into a plain venv, import every module.

    The venv has no site packages of its own; the requirements (heavy: vLLM, torch) come from the
    pinned environment through a ``.pth`` line, which adds that directory without running its
    ``.pth`` files, so the editable install of the checkout stays out. What is checked: the wheel
    holds every module and each imports from the installed copy; whatever else gets imported is a
    (transitive) requirement of lift-dspy or one of its runtime extras, never a dev-only package
    such as pytest.
    """
    wheel = _build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    pinned = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "pinned-requirements.pth").write_text("".join(f"{path}\n" for path in sorted(pinned)))

    out = subprocess.run(
        [str(python), "-I", "-c", _IMPORT_EVERY_MODULE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert not report["failed"], report["failed"]
    assert not report["foreign"], f"imported but not a requirement of lift-dspy: {report['foreign']}"
    shipped = set(report["modules"])
    expected = (
        _module_names(ROOT / "lift_dspy", "lift_dspy")
        | _module_names(ROOT / "signatures", "lift_dspy.signatures")
        | _module_names(ROOT / "schemas", "lift_dspy.schemas")
    ) - {"lift_dspy"}
    assert expected <= shipped, f"missing from the wheel: {sorted(expected - shipped)}"
    assert "lift_dspy.server.testing" not in shipped  # pytest fixtures live under tests/


def _module_names(base: Path, package: str) -> set[str]:
    names = set()
    for path in base.rglob("*.py"):
        parts = path.relative_to(base).with_suffix("").parts
        names.add(".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts))))
    return names
