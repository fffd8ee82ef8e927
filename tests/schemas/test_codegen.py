"""The one JSON Schema -> Pydantic generator (``lift_dspy.codegen``) and its callers.

Only ``lift_dspy/codegen.py`` imports datamodel-code-generator; the committed models of
``lift_dspy.schemas`` and ``model_from_schema``'s models both come from ``pydantic_source``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lift_dspy import codegen

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "lift_dspy", ROOT / "schemas", ROOT / "signatures"]


def _imports_generator(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == "datamodel_code_generator" for name in names):
            return True
    return False


def test_only_codegen_imports_the_generator() -> None:
    importers = sorted(
        str(path.relative_to(ROOT))
        for base in SOURCES
        for path in base.rglob("*.py")
        if "schemas/models" not in path.as_posix() and _imports_generator(path)
    )
    assert importers == ["lift_dspy/codegen.py"], (
        f"generate Pydantic models through lift_dspy.codegen.pydantic_source, not directly: {importers}"
    )


def test_source_has_the_callers_header_and_ends_with_a_newline() -> None:
    pytest.importorskip("datamodel_code_generator")
    schema = {"title": "Point", "type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    source = codegen.pydantic_source(schema, "Point", header="# made here\n# second line")
    assert source.startswith("# made here\n# second line\nfrom __future__ import annotations\n")
    assert source.endswith("\n")
    assert not source.endswith("\n\n")
    assert "datamodel-codegen" not in source  # the generator's own header is dropped
    bare = codegen.pydantic_source(schema, "Point")
    assert bare.startswith("from __future__ import annotations\n")
    namespace: dict[str, object] = {}
    exec(compile(bare, "<point>", "exec"), namespace)
    assert namespace["Point"].model_validate({"x": 1}).x == 1  # type: ignore[attr-defined]


def test_keep_root_models_names_non_object_definitions() -> None:
    pytest.importorskip("datamodel_code_generator")
    schema = {
        "type": "object",
        "properties": {"ids": {"type": "array", "items": {"$ref": "#/$defs/Id"}}},
        "$defs": {"Id": {"type": "integer", "minimum": 1}},
    }
    assert "Id = TypeAliasType(" in codegen.pydantic_source(schema, "Root", keep_root_models=True)
    assert "TypeAliasType" not in codegen.pydantic_source(schema, "Root")


def test_write_generated_writes_checks_and_removes_stale(tmp_path: Path) -> None:
    out = tmp_path / "models"
    wanted = {out / "a.py": "A = 1\n", out / "b.py": "B = 2\n"}
    assert codegen.write_generated(wanted, out, check=True) == sorted(wanted)
    assert not out.exists()
    assert codegen.write_generated(wanted, out) == sorted(wanted)
    assert codegen.write_generated(wanted, out, check=True) == []
    (out / "keep.py").write_text("# hand-written\n", encoding="utf-8")
    (out / "old.py").write_text("# generated\n", encoding="utf-8")
    generated = lambda path: path.read_text(encoding="utf-8").startswith("# generated")  # noqa: E731
    assert codegen.write_generated(wanted, out, check=True, is_stale=generated) == [out / "old.py"]
    assert codegen.write_generated(wanted, out, is_stale=generated) == [out / "old.py"]
    assert sorted(path.name for path in out.iterdir()) == ["a.py", "b.py", "keep.py"]
