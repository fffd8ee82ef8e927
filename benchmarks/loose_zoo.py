"""The zoo signatures whose lists and maps are bounded by the user, with those bounds taken away.

The zoo (tests/zoo.py) bounds every collection, so derived bounds (GuidanceLM(derive_bounds=...),
lift_dspy/constraints/bounds.py) change nothing on it. These variants are what a user who wrote no
bound sends: the arms ``lift-loose`` (bounds derived from max_tokens, the default) and
``lift-loose-unbounded`` (derive_bounds=False) run them in place of the zoo's (same names and inputs).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import dspy
from pydantic import BaseModel, Field
from zoo import Point, Priority


class LooseParam(BaseModel):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,15}$")]
    type: Literal["int", "float", "str", "bool"]


class LooseFunctionIR(BaseModel):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,23}$")]
    params: list[LooseParam]
    returns: Literal["int", "float", "str", "bool", "void"]
    pure: bool


class SpecToIR(dspy.Signature):
    """Turn a spec into the IR of one function."""

    spec: str = dspy.InputField()
    ir: LooseFunctionIR = dspy.OutputField(desc="the function's IR")


class Points(dspy.Signature):
    """List a few points."""

    shape: str = dspy.InputField()
    points: list[Point] = dspy.OutputField()


class WordCounts(dspy.Signature):
    """Count each word."""

    text: str = dspy.InputField()
    counts: dict[str, Annotated[int, Field(ge=0)]] = dspy.OutputField()


class Summary(dspy.Signature):
    """Summarise and tag."""

    text: str = dspy.InputField()
    title: Annotated[str, Field(min_length=3, max_length=40)] = dspy.OutputField()
    summary: str = dspy.OutputField()
    tags: list[Annotated[str, Field(max_length=12)]] = dspy.OutputField()


class Scored(dspy.Signature):
    """Score each option."""

    options: list[str] = dspy.InputField()
    best: Literal[1, 2, 3] = dspy.OutputField()
    scores: Annotated[list[Annotated[int, Field(ge=0, le=10)]], Field(min_length=1)] = dspy.OutputField()
    note: str | None = dspy.OutputField()


class Meeting(dspy.Signature):
    """Plan the meeting."""

    request: str = dspy.InputField()
    starts_at: datetime.datetime = dspy.OutputField()
    attendees: list[Annotated[str, Field(max_length=20)]] = dspy.OutputField()
    priority: Priority = dspy.OutputField()
    online: bool = dspy.OutputField()


LOOSE: dict[str, type[dspy.Signature]] = {
    cls.__name__: cls for cls in (SpecToIR, Points, WordCounts, Summary, Scored, Meeting)
}
