# Generated from schemas/json/go_impl.schema.json by datamodel-codegen. Do not edit:
# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

Import = TypeAliasType("Import", Annotated[str, Field(pattern="^[a-z][a-z0-9/]{0,29}$")])


BodyStatement = TypeAliasType("BodyStatement", Annotated[str, Field(max_length=160, min_length=1)])


Identifier = TypeAliasType("Identifier", Annotated[str, Field(pattern="^[A-Za-z_][A-Za-z0-9_]{0,39}$")])


TypeExpr = TypeAliasType(
    "TypeExpr",
    Annotated[
        str,
        Field(
            description="A Go type, e.g. int, float64, string, []int, map[string]int, *Node, error.",
            pattern="^[A-Za-z0-9_\\[\\]{}*(),. ]{1,80}$",
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
    name: Annotated[Identifier, Field(description="MixedCaps function name.")]
    params: Annotated[list[Param], Field(max_length=5)]
    return_type: Annotated[
        str,
        Field(
            description="Result type, e.g. int or (int, error); empty string for none.",
            pattern="^[A-Za-z0-9_\\[\\]{}*(),. ]{0,80}$",
        ),
    ]


class HelperType(BaseModel):
    """
    Emitted as `type Name struct { Field type ... }`.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: Identifier
    fields: Annotated[list[Param], Field(max_length=6, min_length=1)]


class GoImplementation(BaseModel):
    """
    One Go function as parts; lift-dspy assembles them into `package lib`.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    function_signature: FunctionSignature
    imports: Annotated[
        list[Import],
        Field(
            description="Standard-library packages the body uses, e.g. strings, sort; every import must be used.",
            max_length=5,
        ),
    ]
    helper_types: Annotated[
        list[HelperType], Field(description="Structs the signature or body needs; usually [].", max_length=2)
    ]
    body_statements: Annotated[
        list[BodyStatement],
        Field(
            description="The function body, one line of code per item, without the enclosing braces.",
            max_length=40,
            min_length=1,
        ),
    ]
