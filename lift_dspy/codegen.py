"""JSON Schema -> Pydantic source: lift-dspy's one call of datamodel-code-generator.

Every Pydantic model lift-dspy generates from a JSON Schema comes from :func:`pydantic_source`,
with one set of generator options: the committed models of ``lift_dspy.schemas`` (written by
``python -m lift_dspy.schemas.regenerate``) and the models of
:func:`lift_dspy.constraints.from_schema.model_from_schema` (executed at run time, or written by
``regenerate_models``). :func:`write_generated` keeps a folder of generated modules in step with
the sources, or reports the drift.

The generator is the optional ``codegen`` extra (``pip install 'lift-dspy[codegen]'``); it is
imported only when a model is generated. The output depends on its version (pinned in
``pyproject.toml``) and is otherwise deterministic: no timestamps, the caller's header.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lift_dspy.errors import UnsupportedSchemaError

__all__ = ["INSTALL_HINT", "pydantic_source", "write_generated"]

INSTALL_HINT = "pip install 'lift-dspy[codegen]'"
"""How to install datamodel-code-generator (and jsonschema), for error messages."""


# Formats whose Pydantic type would change the value (AnyUrl adds "/", datetime from an integer
# dumps a string) or need an extra package (EmailStr); JSON Schema and llguidance check them.
_TYPE_MAPPINGS = [
    "email=string",
    "idn-email=string",
    "uri=string",
    "byte=string",
    "binary=string",
    "path=string",
    "string+integer=string",
    "integer+date-time=integer",
    "number+date-time=number",
    "number+time=number",
    "number+time-delta=number",
]


def pydantic_source(
    schema: Mapping[str, Any],
    class_name: str,
    *,
    header: str | None = None,
    keep_root_models: bool = False,
) -> str:
    """The Python source of the Pydantic v2 models of one JSON Schema document.

    Options common to every caller: the root class is ``class_name``; bounds become ``Field``
    constraints inside ``Annotated``; enums become ``Literal``; ``list``/``dict`` and
    ``Union[...]`` (a ``|`` with a forward reference fails when the code runs); schema
    descriptions become docstrings; URL, e-mail, byte and path formats stay ``str``; remote
    ``$ref`` s are never fetched; target Python 3.11; built-in formatter, double quotes.

    Args:
        schema: A JSON Schema document (passed as is: callers adapt it first if they need to).
        class_name: The name of the root class.
        header: Comment lines that open the module (say where it comes from); without one, the
            module opens with its imports.
        keep_root_models: Keep a named alias (``TypeAliasType``) for each definition that is not an
            object (the importable names of committed models); by default they are inlined
            where used.

    Returns:
        The module's source, ending with a newline.

    Raises:
        ImportError: datamodel-code-generator is not installed (the message says how to install it).
        UnsupportedSchemaError: The generator wrote several modules for the schema.
        Exception: Whatever datamodel-code-generator raises for a schema it cannot convert.
    """
    try:
        from datamodel_code_generator import DataModelType, InputFileType, LiteralType, generate
        from datamodel_code_generator.format import Formatter, PythonVersion
    except ImportError as exc:
        raise ImportError(
            f"generating Pydantic models from a JSON Schema needs datamodel-code-generator: {INSTALL_HINT}"
        ) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = generate(
            dict(schema),
            input_file_type=InputFileType.JsonSchema,
            output_model_type=DataModelType.PydanticV2BaseModel,
            target_python_version=PythonVersion.PY_311,
            class_name=class_name,
            field_constraints=True,
            use_annotated=True,
            use_union_operator=False,
            treat_dot_as_module=False,
            use_standard_collections=True,
            use_title_as_name=False,
            use_schema_description=True,
            enum_field_as_literal=LiteralType.All,
            collapse_root_models=not keep_root_models,
            use_type_alias=keep_root_models,
            use_double_quotes=True,
            disable_timestamp=True,
            allow_remote_refs=False,
            type_mappings=_TYPE_MAPPINGS,
            formatters=[Formatter.BUILTIN],
        )
    if not isinstance(code, str):
        raise UnsupportedSchemaError(
            "datamodel-code-generator split the schema into several modules. Fix: inline the "
            "referenced schemas into one document"
        )
    # The generator's own header names no source worth keeping ("filename: <dict>").
    lines = code.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    body = "".join(lines).lstrip("\n")
    body = body if body.endswith("\n") else body + "\n"
    return (header.rstrip("\n") + "\n" if header else "") + body


def write_generated(
    wanted: Mapping[Path, str],
    out_dir: Path,
    *,
    check: bool = False,
    is_stale: Callable[[Path], bool] = lambda path: True,
) -> list[Path]:
    """Make ``out_dir`` hold exactly the generated modules ``wanted`` (path -> source).

    A ``*.py`` in ``out_dir`` that is not wanted and satisfies ``is_stale`` (its source is gone)
    is removed.

    Args:
        wanted: The modules to write, by path.
        out_dir: The folder of generated modules (created when something is written).
        check: Write and remove nothing; only report.
        is_stale: Whether an unwanted ``*.py`` of ``out_dir`` is a generated module to remove.

    Returns:
        The files written or removed (with ``check``: that would be), sorted.
    """
    changed = [
        path
        for path, text in wanted.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    present = sorted(out_dir.glob("*.py")) if out_dir.is_dir() else []
    stale = [path for path in present if path not in wanted and is_stale(path)]
    if not check:
        for path in changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(wanted[path], encoding="utf-8")
        for path in stale:
            path.unlink()
    return sorted(changed + stale)
