# Generated from schemas/json/tool_call.schema.json by datamodel-codegen. Do not edit:
# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Argument(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    name: Annotated[str, Field(pattern="^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    value: Annotated[str, Field(description="The value as text (JSON for lists), or auto.", max_length=200)]


class ToolCall(BaseModel):
    """
    A tool call with arguments as name/value pairs; the value auto asks the resolver to fill it.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: Annotated[str, Field(pattern="^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
    arguments: Annotated[list[Argument], Field(max_length=8)]
