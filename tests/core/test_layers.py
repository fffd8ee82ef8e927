"""Imports flow one way: every module of the package imports only its own layer or the layers below.

The layer map is the one drawn in docs/architecture.md. The check reads the source (``ast``), so it
sees every import: module level, inside functions (lazy) and under ``TYPE_CHECKING``. A new module
must be given a layer here; an import that goes upward fails with the module, the line and the
layers involved. Exceptions are declared below with their reason, never silently allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Source directory -> the package name it ships as (signatures/ and schemas/ live at the top).
SOURCES = {
    ROOT / "lift_dspy": "lift_dspy",
    ROOT / "signatures": "lift_dspy.signatures",
    ROOT / "schemas": "lift_dspy.schemas",
}

# Module prefix -> layer (the longest matching prefix wins).
LAYER_OF: dict[str, str] = {
    "lift_dspy.errors": "errors",
    "lift_dspy.codegen": "codegen",
    "lift_dspy.schemas": "schemas",
    "lift_dspy.signatures": "signatures",
    "lift_dspy.constraints": "constraints",
    "lift_dspy.request": "call",
    "lift_dspy.active": "call",
    "lift_dspy.backends": "call",
    "lift_dspy.stats": "call",
    "lift_dspy.streaming": "call",
    "lift_dspy.monitoring": "call",
    "lift_dspy.completion": "call",
    "lift_dspy.trim": "call",
    "lift_dspy.server": "server",
    "lift_dspy.engine": "lm",
    "lift_dspy.fallback": "lm",
    "lift_dspy.engine_config": "lm",
    "lift_dspy.steps": "lm",
    "lift_dspy.lm": "lm",
    "lift_dspy.programs": "programs",
    "lift_dspy": "api",  # the package's __init__: the public surface
    "lift_dspy.cli": "apps",
    "lift_dspy.__main__": "apps",
    "lift_dspy.bench": "apps",
}

# Layer -> the layers it may import (besides itself). Bottom first.
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "codegen": {"errors"},
    "schemas": {"codegen", "errors"},
    "signatures": {"schemas", "errors"},
    "constraints": {"codegen", "errors"},
    "call": {"constraints", "errors"},
    "server": {"call", "constraints", "errors"},
    "lm": {"server", "call", "constraints", "errors"},
    "programs": {"signatures", "schemas", "constraints", "errors"},
    "api": {"lm", "constraints", "errors"},
    "apps": {"api", "programs", "lm", "server", "call", "constraints", "signatures", "schemas", "errors"},
}

# (importing module, imported module) -> why this upward import is allowed. Keep it empty if you can.
DECLARED_EXCEPTIONS: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for base, package in SOURCES.items():
        for path in sorted(base.rglob("*.py")):
            if "schemas/models" in path.as_posix():
                continue  # generated code (datamodel-code-generator), imports nothing of ours
            parts = path.relative_to(base).with_suffix("").parts
            found[".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts)))] = path
    return found


def _imports(name: str, source: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module) of every lift_dspy import in ``source``, relative ones resolved."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return [(line, target) for line, target in found if target.split(".")[0] == "lift_dspy"]


def _layer(module: str) -> str | None:
    for prefix in sorted(LAYER_OF, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYER_OF[prefix]
    return None


def _imports_of(name: str) -> list[tuple[int, str]]:
    path = MODULES[name]
    return _imports(name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")


MODULES = _modules()


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(name for name in MODULES if _layer(name) is None)
    assert not unplaced, f"give these modules a layer in LAYER_OF (and in docs/architecture.md): {unplaced}"
    assert set(LAYER_OF.values()) == set(MAY_IMPORT)


def test_the_layer_map_has_no_cycles() -> None:
    def below(layer: str, seen: tuple[str, ...] = ()) -> None:
        assert layer not in seen, f"cycle: {' -> '.join((*seen, layer))}"
        for lower in MAY_IMPORT[layer]:
            below(lower, (*seen, layer))

    for layer in MAY_IMPORT:
        below(layer)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_upward_imports(name: str) -> None:
    layer = _layer(name)
    assert layer is not None
    upward = []
    for line, target in _imports_of(name):
        target_layer = _layer(target)
        if target_layer == layer or target_layer in MAY_IMPORT[layer]:
            continue
        if (name, target) in DECLARED_EXCEPTIONS:
            continue
        upward.append(f"line {line}: {target} ({target_layer}) from {name} ({layer})")
    assert not upward, "imports against the layer map in test_layers.py:\n" + "\n".join(upward)


def test_declared_exceptions_are_still_needed() -> None:
    for (name, target), reason in DECLARED_EXCEPTIONS.items():
        assert reason
        assert name in MODULES, f"stale exception: {name} no longer exists"
        assert any(imported == target for _, imported in _imports_of(name)), (
            f"stale exception: {name} no longer imports {target}"
        )


def test_the_check_sees_lazy_relative_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import check\n"
        "if TYPE_CHECKING:\n"
        "    from lift_dspy.engine import GuidanceEngine\n"
        "def later():\n"
        "    from ..lm import GuidanceLM\n"
        "    import lift_dspy.server.process\n"
    )
    found = _imports("lift_dspy.constraints.chat", source)
    assert sorted(target for _, target in found) == [
        "lift_dspy.constraints",
        "lift_dspy.engine",
        "lift_dspy.lm",
        "lift_dspy.server.process",
    ]
    layers = {_layer(target) for _, target in found}
    assert layers - MAY_IMPORT["constraints"] == {"constraints", "lm", "server"}
