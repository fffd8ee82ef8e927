# Generated from schemas/json/java_impl.schema.json by datamodel-codegen. Do not edit:
# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

Import = TypeAliasType(
    "Import",
    Annotated[str, Field(max_length=60, pattern="^java\\.[a-z]+(\\.[a-z]+)*\\.([A-Z][A-Za-z0-9]*|\\*)$")],
)


BodyStatement = TypeAliasType("BodyStatement", Annotated[str, Field(max_length=160, min_length=1)])


Identifier = TypeAliasType("Identifier", Annotated[str, Field(pattern="^[A-Za-z_][A-Za-z0-9_]{0,39}$")])


TypeExpr = TypeAliasType(
    "TypeExpr",
    Annotated[
        str,
        Field(
            description="A Java type, e.g. int, long, double, boolean, String, int[], List<Integer>, Map<String, Integer>.",
            pattern="^[A-Za-z0-9_<>\\[\\],.? ]{1,80}$",
        ),
    ],
)


class Param(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    name: Identifier
    type: TypeExpr


class FunctionSignature(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    name: Annotated[Identifier, Field(description="camelCase method name.")]
    params: Annotated[list[Param], Field(max_length=5)]
    return_type: TypeExpr


class HelperType(BaseModel):
    """
    Emitted as a nested `record Name(type field, ...) {}`.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: Identifier
    fields: Annotated[list[Param], Field(max_length=6, min_length=1)]


class JavaImplementation(BaseModel):
    """
    One Java method as parts; lift-dspy wraps it as a public static method of a final class.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    function_signature: FunctionSignature
    imports: Annotated[
        list[Import],
        Field(
            description="Classes from the JDK, e.g. java.util.List, java.util.*; every type used must be imported.",
            max_length=5,
        ),
    ]
    helper_types: Annotated[
        list[HelperType], Field(description="Records the signature or body needs; usually [].", max_length=2)
    ]
    body_statements: Annotated[
        list[BodyStatement],
        Field(
            description="The method body, one line of code per item, without the enclosing braces.",
            max_length=40,
            min_length=1,
        ),
    ]
