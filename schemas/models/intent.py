# Generated from schemas/json/intent.schema.json by datamodel-codegen. Do not edit:
# change the JSON Schema and run `python -m lift_dspy.schemas.regenerate`.
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Entity(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    kind: Literal["dataset", "column", "date", "number", "metric", "other"]
    value: Annotated[str, Field(max_length=80, min_length=1)]


class IntentClassification(BaseModel):
    """
    What a user of the analysis agent wants, as one intent plus the entities it mentions.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    intent: Literal["load_data", "describe_data", "filter_data", "aggregate", "visualize", "compare", "forecast", "explain", "modify_plan", "out_of_scope"]
    confidence: Literal["low", "medium", "high"]
    entities: Annotated[
        list[Entity],
        Field(
            description="Things the request names: datasets, columns, dates, numbers (at most 5).",
            max_length=5,
        ),
    ]
    needs_clarification: bool
    clarification_question: Annotated[
        str,
        Field(
            description="A question for the user when needs_clarification is true, else an empty string.",
            max_length=200,
        ),
    ]
