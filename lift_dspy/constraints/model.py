"""DSPy signature -> the Pydantic model of its outputs.

The model is the single contract of a signature: its JSON Schema becomes the constraint sent to
vLLM and its validators check every answer. Field order is the signature's order, descriptions are
kept, ``Annotated`` constraints survive (DSPy's ``FieldInfo`` keeps them in ``.metadata``), and every
object is closed (``extra="forbid"``).
"""

from __future__ import annotations

import functools
import keyword
from typing import TYPE_CHECKING, Annotated, Any

import pydantic
import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

from lift_dspy.constraints.fields import code_check

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = ["field_annotation", "field_description", "output_fields", "output_model"]

# Names that would shadow BaseModel attributes are stored under a private name with an alias.
_RESERVED = frozenset(dir(BaseModel))


def output_fields(signature: Any) -> dict[str, FieldInfo]:
    """The output fields of a DSPy signature class, in order.

    Raises:
        TypeError: ``signature`` is not a DSPy signature class.
    """
    fields = getattr(signature, "output_fields", None)
    if not isinstance(fields, dict):
        raise TypeError(
            f"expected a dspy.Signature class, got {signature!r}; "
            "pass e.g. dspy.Signature('question -> answer') or a class deriving from dspy.Signature"
        )
    return fields


def field_annotation(info: FieldInfo) -> Any:
    """The field's annotation with its ``Annotated`` constraints put back."""
    annotation = info.annotation if info.annotation is not None else str
    if info.metadata:
        return Annotated[(annotation, *info.metadata)]
    return annotation


def field_description(info: FieldInfo) -> str | None:
    """The description a signature author gave (``desc=``), not DSPy's ``${name}`` placeholder."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    desc = extra.get("desc") or info.description
    if not isinstance(desc, str) or (desc.startswith("${") and desc.endswith("}")):
        return None
    return desc


def _python_name(name: str, index: int) -> str:
    if name in _RESERVED or name.startswith("_") or keyword.iskeyword(name) or not name.isidentifier():
        return f"field_{index}"
    return name


@functools.lru_cache(maxsize=1024)
def output_model(signature: Any) -> type[BaseModel]:
    """The generated Pydantic model of a signature's outputs.

    Args:
        signature: A ``dspy.Signature`` class.

    Returns:
        A closed Pydantic model named ``<Signature>Output`` with one required field per output
        field, in signature order. Field names that would shadow ``BaseModel`` attributes become
        aliases, so ``model_validate`` and ``model_json_schema`` use the signature's names.

    Example:
        >>> import dspy, lift_dspy
        >>> class QA(dspy.Signature):
        ...     question: str = dspy.InputField()
        ...     answer: int = dspy.OutputField(desc="a number")
        >>> lift_dspy.output_model(QA).model_json_schema()["properties"]["answer"]["type"]
        'integer'
    """
    fields = output_fields(signature)
    definitions: dict[str, Any] = {}
    for index, (name, info) in enumerate(fields.items()):
        python_name = _python_name(name, index)
        alias = name if python_name != name else None
        annotation = field_annotation(info)
        check = code_check(info.annotation)
        if check is not None:  # dspy.Code in a language with a grammar: validated by it
            annotation = Annotated[annotation, check]
        definitions[python_name] = (
            annotation,
            Field(..., description=field_description(info), alias=alias),
        )
    model_name = f"{getattr(signature, '__name__', 'Signature')}Output"
    try:
        return pydantic.create_model(
            model_name,
            __config__=ConfigDict(extra="forbid", populate_by_name=True, arbitrary_types_allowed=False),
            __doc__=f"Outputs of {model_name[: -len('Output')]}.",
            **definitions,
        )
    except (pydantic.PydanticSchemaGenerationError, pydantic_core.SchemaError, TypeError) as exc:
        from lift_dspy.errors import UnsupportedSchemaError

        raise UnsupportedSchemaError(
            f"{exc}. Use JSON-representable types (str, int, float, bool, Literal, Enum, "
            "pydantic models, list, dict[str, X], Optional, date, UUID)",
            field=None,
            keyword="python-type",
        ) from exc
