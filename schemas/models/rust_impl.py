# Generated from schemas/json/rust_impl.schema.json by datamodel-codegen. Do not edit:
# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

Use = TypeAliasType(
    "Use",
    Annotated[
        str,
        Field(max_length=80, pattern="^(std|core|alloc)(::[A-Za-z0-9_]+)*(::\\{[A-Za-z0-9_, ]+\\}|::\\*)?$"),
    ],
)


BodyStatement = TypeAliasType("BodyStatement", Annotated[str, Field(max_length=160, min_length=1)])


Identifier = TypeAliasType("Identifier", Annotated[str, Field(pattern="^[A-Za-z_][A-Za-z0-9_]{0,39}$")])


TypeExpr = TypeAliasType(
    "TypeExpr",
    Annotated[
        str,
        Field(
            description="A Rust type, e.g. i64, &str, String, Vec<i64>, &[f64], Option<usize>, HashMap<String, i64>; () for none.",
            pattern="^[A-Za-z0-9_<>\\[\\]():;,&' *+-]{1,80}$",
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
    name: Annotated[Identifier, Field(description="snake_case function name.")]
    params: Annotated[list[Param], Field(max_length=5)]
    return_type: TypeExpr


class HelperType(BaseModel):
    """
    Emitted as `#[derive(Debug, Clone, PartialEq)] pub struct Name { pub field: type, ... }`.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: Identifier
    fields: Annotated[list[Param], Field(max_length=6, min_length=1)]


class RustImplementation(BaseModel):
    """
    One Rust function as parts; lift-dspy assembles them into a library crate.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    function_signature: FunctionSignature
    uses: Annotated[
        list[Use],
        Field(
            description="Paths for `use` lines from std, e.g. std::collections::HashMap; usually [].",
            max_length=4,
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
