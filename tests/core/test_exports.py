"""The public surface is exactly ``__all__``, and importing it starts nothing heavy."""

from __future__ import annotations

import subprocess
import sys
import types

import lift_dspy


def test_all_is_sorted_and_matches_exports() -> None:
    public = {
        name
        for name, value in vars(lift_dspy).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert len(set(lift_dspy.__all__)) == len(lift_dspy.__all__)  # ruff (RUF022) keeps it sorted
    assert public == set(lift_dspy.__all__) - {"__version__"}


def test_import_does_not_load_torch_or_vllm() -> None:
    code = "import sys, lift_dspy; print(any(m.split('.')[0] in ('torch', 'vllm') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
