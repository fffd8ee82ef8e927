# Generated from schemas/json/plan.schema.json by datamodel-codegen. Do not edit:
# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

DependsOnItem = TypeAliasType("DependsOnItem", Annotated[int, Field(ge=1, le=20)])


class Step(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    id: Annotated[int, Field(ge=1, le=20)]
    action: Annotated[
        str, Field(description="What the step does, in a few words.", max_length=120, min_length=1)
    ]
    tool: Annotated[str, Field(description="Tool name, or none.", pattern="^[a-z][a-z0-9_]{0,39}$")]
    depends_on: Annotated[list[DependsOnItem], Field(max_length=3)]
    status: Literal["pending", "done", "failed", "skipped"]


class Plan(BaseModel):
    """
    An ordered plan of tool steps for the analysis agent.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    goal: Annotated[str, Field(max_length=200, min_length=1)]
    steps: Annotated[
        list[Step],
        Field(
            description="Steps in execution order (at most 8), ids 1, 2, 3, ...", max_length=8, min_length=1
        ),
    ]
    rationale: Annotated[
        str, Field(description="Why the plan looks like this, or what changed and why.", max_length=300)
    ]
