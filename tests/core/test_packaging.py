"""The wheel, not only the checkout: signatures/ and schemas/ ship as lift_dspy.* subpackages."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_contains_signatures_schemas_and_json(tmp_path: Path) -> None:
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
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("lift_dspy-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "lift_dspy/__init__.py" in names
    assert "lift_dspy/py.typed" in names
    assert "lift_dspy/signatures/ir_to_code.py" in names
    assert "lift_dspy/schemas/json/function_ir.schema.json" in names
    assert any(name.startswith("lift_dspy/schemas/models/") for name in names)
    assert not any(name.startswith(("tests/", "signatures/", "schemas/")) for name in names)
