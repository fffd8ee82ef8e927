# Generated from schemas/json/function_ir.schema.json by datamodel-codegen. Do not edit:
# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

Precondition = TypeAliasType("Precondition", Annotated[str, Field(max_length=120, min_length=1)])


Postcondition = TypeAliasType("Postcondition", Annotated[str, Field(max_length=120, min_length=1)])


IRType = TypeAliasType(
    "IRType",
    Annotated[
        Literal["int", "float", "bool", "string", "list<int>", "list<float>", "list<string>", "list<bool>", "map<string,int>", "map<string,string>", "optional<int>", "optional<string>", "void"],
        Field(description="A language-neutral type."),
    ],
)


Effect = TypeAliasType("Effect", Literal["pure", "mutates_argument", "reads_input", "writes_output", "reads_file", "writes_file", "network", "may_fail", "nondeterministic"])


class Param(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    name: Annotated[str, Field(pattern="^[a-z][a-z0-9_]{0,29}$")]
    type: IRType
    description: Annotated[str, Field(max_length=100, min_length=1)]


class Returns(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    type: IRType
    description: Annotated[str, Field(max_length=100, min_length=1)]


class Example(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    input: Annotated[
        str, Field(description="Arguments in order, e.g. 15, 0, 10.", max_length=80, min_length=1)
    ]
    output: Annotated[str, Field(description="The result, e.g. 10.", max_length=80, min_length=1)]


class FunctionIR(BaseModel):
    """
    Language-neutral description of one function, before any code is written.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: Annotated[
        str,
        Field(description="Function name in snake_case, e.g. clamp_value.", pattern="^[a-z][a-z0-9_]{0,39}$"),
    ]
    purpose: Annotated[
        str, Field(description="One sentence: what the function does.", max_length=200, min_length=1)
    ]
    params: Annotated[list[Param], Field(description="Parameters in call order (at most 5).", max_length=5)]
    returns: Returns
    effects: Annotated[
        list[Effect],
        Field(description='Side effects; ["pure"] when there are none.', max_length=3, min_length=1),
    ]
    preconditions: Annotated[
        list[Precondition],
        Field(description="What must hold for the inputs (at most 3 short sentences).", max_length=3),
    ]
    postconditions: Annotated[
        list[Postcondition],
        Field(description="What holds for the result (at most 3 short sentences).", max_length=3),
    ]
    examples: Annotated[list[Example], Field(description="Worked examples (at most 3).", max_length=3)]
