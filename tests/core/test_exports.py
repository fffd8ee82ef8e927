"""The public surface is exactly ``__all__``, and importing it starts nothing heavy.

The error tree is complete: every exception class of the package is defined in ``lift_dspy/errors.py``,
is a ``LiftDSPyError`` and is exported from ``lift_dspy``; modules that used to define one re-export it.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import dspy
import pytest

import lift_dspy
from lift_dspy import errors

ROOT = Path(__file__).resolve().parents[2]
# The package's sources: lift_dspy/ plus signatures/ and schemas/, which ship as lift_dspy.* subpackages.
SOURCES = [ROOT / "lift_dspy", ROOT / "signatures", ROOT / "schemas"]


def _public(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }


@pytest.mark.parametrize("module", [lift_dspy, errors], ids=lambda m: m.__name__)
def test_all_is_sorted_and_unique(module: types.ModuleType) -> None:
    assert module.__all__ == sorted(module.__all__), "keep __all__ sorted (ruff RUF022's order)"
    assert len(set(module.__all__)) == len(module.__all__)


def test_all_matches_exports() -> None:
    assert _public(lift_dspy) == set(lift_dspy.__all__) - {"__version__"}


def test_import_does_not_load_torch_or_vllm() -> None:
    code = "import sys, lift_dspy; print(any(m.split('.')[0] in ('torch', 'vllm') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _exception_classes() -> list[tuple[str, str]]:
    """(module path, class name) of every public class whose name ends in Error/Exception."""
    found = []
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name.endswith(("Error", "Exception"))
                    and not node.name.startswith("_")
                ):
                    found.append((str(path.relative_to(ROOT)), node.name))
    return found


def test_every_error_class_lives_in_errors_py() -> None:
    elsewhere = [f"{path}: {name}" for path, name in _exception_classes() if path != "lift_dspy/errors.py"]
    assert not elsewhere, f"define these in lift_dspy/errors.py (re-export them where they were): {elsewhere}"


def test_every_error_is_a_lift_dspy_error_and_exported() -> None:
    defined = {name for path, name in _exception_classes() if path == "lift_dspy/errors.py"}
    assert defined == set(errors.__all__)
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.LiftDSPyError), name
        assert issubclass(cls, dspy.utils.exceptions.LMError), name  # DSPy passes it through unwrapped
        assert getattr(lift_dspy, name) is cls, f"lift_dspy.{name} is not exported"
        assert name in lift_dspy.__all__
    # The tree drawn in the module docstring names every class.
    for name in errors.__all__:
        assert name in (errors.__doc__ or ""), f"{name} is missing from the tree in errors.py's docstring"


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("lift_dspy.programs", ["ToolchainError", "ToolchainMissingError"]),
        ("lift_dspy.programs.toolchains", ["ToolchainError", "ToolchainMissingError"]),
        ("lift_dspy.signatures", ["ToolArgumentError", "ToolCallError", "UnknownToolError"]),
        ("lift_dspy.signatures.tool_resolver", ["ToolArgumentError", "ToolCallError", "UnknownToolError"]),
    ],
)
def test_moved_errors_are_still_importable_where_they_were(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert getattr(imported, name) is getattr(lift_dspy, name), f"{module}.{name}"
        assert name in imported.__all__


def test_request_problems_are_not_schema_problems() -> None:
    error = lift_dspy.InvalidRequestError("drop these arguments", option="guided_json")
    assert isinstance(error, ValueError)
    assert not isinstance(error, lift_dspy.UnsupportedSchemaError)
    assert error.option == "guided_json"
    assert "guided_json" in str(error)
    assert "drop these arguments" in str(error)
