# Generated from schemas/json/typescript_impl.schema.json by datamodel-codegen. Do not edit:
# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

BodyStatement = TypeAliasType("BodyStatement", Annotated[str, Field(max_length=160, min_length=1)])


Identifier = TypeAliasType("Identifier", Annotated[str, Field(pattern="^[A-Za-z_][A-Za-z0-9_]{0,39}$")])


TypeExpr = TypeAliasType(
    "TypeExpr",
    Annotated[
        str,
        Field(
            description="A TypeScript type, e.g. number, string[], Map<string, number>, number | null.",
            pattern="^[A-Za-z0-9_<>\\[\\](){}:;,.|&?' =-]{1,80}$",
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
    name: Annotated[Identifier, Field(description="camelCase function name.")]
    params: Annotated[list[Param], Field(max_length=5)]
    return_type: TypeExpr


class Import(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    names: Annotated[list[Identifier], Field(max_length=4, min_length=1)]
    module: Annotated[str, Field(pattern="^[a-z@.][a-z0-9@./_-]{0,59}$")]


class HelperType(BaseModel):
    """
    Emitted as `export interface Name { field: type; ... }`.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: Identifier
    fields: Annotated[list[Param], Field(max_length=6, min_length=1)]


class TypeScriptImplementation(BaseModel):
    """
    One TypeScript function as parts; lift-dspy assembles them into a .ts module.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    function_signature: FunctionSignature
    imports: Annotated[
        list[Import],
        Field(
            description="Named imports; usually [] (only the standard library is available).", max_length=3
        ),
    ]
    helper_types: Annotated[
        list[HelperType],
        Field(description="Interfaces the signature or body needs; usually [].", max_length=2),
    ]
    body_statements: Annotated[
        list[BodyStatement],
        Field(
            description="The function body, one line of code per item, without the enclosing braces.",
            max_length=40,
            min_length=1,
        ),
    ]
