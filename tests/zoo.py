"""A zoo of DSPy signatures covering every output type lift-dspy constrains.

Shared by the golden-file tests, the llguidance pass/fail tests, the hypothesis property and the
end-to-end suite against a real vLLM server.
"""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Annotated, Literal

import dspy
from pydantic import BaseModel, Field


class Priority(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Param(BaseModel):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,15}$")]
    type: Literal["int", "float", "str", "bool"]


class FunctionIR(BaseModel):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,23}$")]
    params: Annotated[list[Param], Field(max_length=4)]
    returns: Literal["int", "float", "str", "bool", "void"]
    pure: bool


class Point(BaseModel):
    x: int
    y: int


class Count(dspy.Signature):
    """Count the words."""

    text: str = dspy.InputField()
    count: int = dspy.OutputField()


class Ratio(dspy.Signature):
    """Give the ratio."""

    text: str = dspy.InputField()
    ratio: Annotated[float, Field(ge=0.0, le=1.0)] = dspy.OutputField(desc="between 0 and 1")


class YesNo(dspy.Signature):
    """Answer yes or no."""

    question: str = dspy.InputField()
    answer: bool = dspy.OutputField()


class Sentiment(dspy.Signature):
    """Classify the sentiment."""

    text: str = dspy.InputField()
    sentiment: Literal["positive", "negative", "neutral"] = dspy.OutputField()


class Triage(dspy.Signature):
    """Triage the ticket."""

    ticket: str = dspy.InputField()
    priority: Priority = dspy.OutputField()


class SpecToIR(dspy.Signature):
    """Turn a spec into the IR of one function."""

    spec: str = dspy.InputField()
    ir: FunctionIR = dspy.OutputField(desc="the function's IR")


class Points(dspy.Signature):
    """List a few points."""

    shape: str = dspy.InputField()
    points: Annotated[list[Point], Field(max_length=5)] = dspy.OutputField()


class MaybeAge(dspy.Signature):
    """Extract the age if it is stated."""

    text: str = dspy.InputField()
    age: Annotated[int, Field(ge=0, le=150)] | None = dspy.OutputField()


class WordCounts(dspy.Signature):
    """Count each word."""

    text: str = dspy.InputField()
    counts: Annotated[dict[str, Annotated[int, Field(ge=0)]], Field(max_length=8)] = dspy.OutputField()


class DueDate(dspy.Signature):
    """Find the due date."""

    text: str = dspy.InputField()
    due: datetime.date = dspy.OutputField()


class TicketCode(dspy.Signature):
    """Make a ticket code."""

    title: str = dspy.InputField()
    code: Annotated[str, Field(pattern=r"^[A-Z]{3}-[0-9]{3}$")] = dspy.OutputField(desc="like ABC-123")


class Essay(dspy.Signature):
    """Write a short essay."""

    topic: str = dspy.InputField()
    essay: str = dspy.OutputField()


class Summary(dspy.Signature):
    """Summarise and tag."""

    text: str = dspy.InputField()
    title: Annotated[str, Field(min_length=3, max_length=40)] = dspy.OutputField()
    summary: str = dspy.OutputField()
    tags: Annotated[list[Annotated[str, Field(max_length=12)]], Field(max_length=3)] = dspy.OutputField()


class Extent(dspy.Signature):
    """Give the bounding box corner and a request id."""

    text: str = dspy.InputField()
    corner: tuple[int, int] = dspy.OutputField()
    request_id: uuid.UUID = dspy.OutputField()


class Scored(dspy.Signature):
    """Score each option."""

    options: list[str] = dspy.InputField()
    best: Literal[1, 2, 3] = dspy.OutputField()
    scores: Annotated[list[Annotated[int, Field(ge=0, le=10)]], Field(min_length=1, max_length=3)] = (
        dspy.OutputField()
    )
    note: str | None = dspy.OutputField()


class Meeting(dspy.Signature):
    """Plan the meeting."""

    request: str = dspy.InputField()
    starts_at: datetime.datetime = dspy.OutputField()
    attendees: Annotated[list[Annotated[str, Field(max_length=20)]], Field(max_length=4)] = dspy.OutputField()
    priority: Priority = dspy.OutputField()
    online: bool = dspy.OutputField()


ZOO: dict[str, type[dspy.Signature]] = {
    cls.__name__: cls
    for cls in (
        Count,
        Ratio,
        YesNo,
        Sentiment,
        Triage,
        SpecToIR,
        Points,
        MaybeAge,
        WordCounts,
        DueDate,
        TicketCode,
        Essay,
        Summary,
        Extent,
        Scored,
        Meeting,
    )
}

# Input values for each signature (used by the end-to-end suite).
INPUTS: dict[str, dict[str, object]] = {
    "Count": {"text": "one two three"},
    "Ratio": {"text": "3 of 4 tests passed"},
    "YesNo": {"question": "Is water wet?"},
    "Sentiment": {"text": "I love this library"},
    "Triage": {"ticket": "Production is down"},
    "SpecToIR": {"spec": "add two integers"},
    "Points": {"shape": "a triangle"},
    "MaybeAge": {"text": "Ann is 31 years old"},
    "WordCounts": {"text": "a b a"},
    "DueDate": {"text": "Due on March 3rd 2025"},
    "TicketCode": {"title": "Login fails"},
    "Essay": {"topic": "why tests matter"},
    "Summary": {"text": "vLLM serves models fast; llguidance constrains them."},
    "Extent": {"text": "corner at 3,4"},
    "Scored": {"options": ["a", "b", "c"]},
    "Meeting": {"request": "sync with Bob tomorrow at 10"},
}
