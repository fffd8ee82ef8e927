"""Regenerate the Pydantic models in ``schemas/models/`` from the JSON Schemas in ``schemas/json/``.

The JSON Schemas are the source of truth; the models are generated with datamodel-code-generator
and committed, so importing them never needs the generator. Run after editing a schema::

    python -m lift_dspy.schemas.regenerate          # rewrite schemas/models/*.py
    python -m lift_dspy.schemas.regenerate --check  # exit 1 and list the files that drifted

The models come from :func:`lift_dspy.codegen.pydantic_source`, lift-dspy's one generator call. The
output depends on the generator's version (pinned by the ``codegen`` extra in ``pyproject.toml``);
generation is otherwise deterministic (no timestamps, sorted inputs).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lift_dspy.codegen import INSTALL_HINT, pydantic_source, write_generated

__all__ = ["JSON_DIR", "MODELS_DIR", "model_module_name", "regenerate", "render_model"]

JSON_DIR = Path(__file__).resolve().parent / "json"
MODELS_DIR = Path(__file__).resolve().parent / "models"
_SUFFIX = ".schema.json"
_HEADER = (
    "# Generated from schemas/json/{source} by datamodel-codegen. Do not edit:\n"
    "# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.\n"
)
_INIT = '"""Pydantic models generated from ``schemas/json`` (see ``lift_dspy.schemas.regenerate``)."""\n'


def model_module_name(schema_path: Path) -> str:
    """Module name for a schema file: ``typescript_impl.schema.json`` -> ``typescript_impl``."""
    name = schema_path.name
    return name[: -len(_SUFFIX)] if name.endswith(_SUFFIX) else schema_path.stem


def render_model(schema_path: Path) -> str:
    """Generate the Python source of the models for one JSON Schema file.

    The root class is named after the schema's ``title``; every object is closed (the schemas
    say ``additionalProperties: false``), enums become ``Literal``s, constrained strings stay plain
    ``str`` and each definition that is not an object keeps its name as a type alias.

    Raises:
        RuntimeError: datamodel-code-generator is not installed.
    """
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    try:
        return pydantic_source(
            schema,
            schema.get("title") or "Model",
            header=_HEADER.format(source=schema_path.name),
            keep_root_models=True,
        )
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            f"datamodel-code-generator is needed to regenerate models: {INSTALL_HINT}"
        ) from exc


def regenerate(json_dir: Path = JSON_DIR, out_dir: Path = MODELS_DIR, *, check: bool = False) -> list[Path]:
    """Regenerate every model module, or only compare them in check mode.

    Args:
        json_dir: Folder of ``*.schema.json`` files.
        out_dir: Folder of the generated ``*.py`` modules (plus an ``__init__.py``).
        check: Write nothing; report the files whose content differs (or is missing/stale).

    Returns:
        The files that changed (or would change, with ``check=True``), sorted.
    """
    wanted: dict[Path, str] = {out_dir / "__init__.py": _INIT}
    for schema_path in sorted(json_dir.glob(f"*{_SUFFIX}")):
        wanted[out_dir / f"{model_module_name(schema_path)}.py"] = render_model(schema_path)
    # A module whose schema was deleted is drift too.
    return write_generated(wanted, out_dir, check=check)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m lift_dspy.schemas.regenerate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
    parser.add_argument("--json-dir", type=Path, default=JSON_DIR)
    parser.add_argument("--out-dir", type=Path, default=MODELS_DIR)
    args = parser.parse_args(argv)
    changed = regenerate(args.json_dir, args.out_dir, check=args.check)
    verb = "out of date" if args.check else "regenerated"
    for path in changed:
        print(f"{verb}: {path}")
    if args.check and changed:
        print("Run `python -m lift_dspy.schemas.regenerate` and commit the result.", file=sys.stderr)
        return 1
    if not changed:
        print(f"models up to date ({args.out_dir})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
