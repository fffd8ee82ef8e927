"""The engine's flows as steps: what a flow asks its driver for, and the sync and async drivers.

A flow (:class:`~lift_dspy.engine._EngineCore`) is a generator written once: it yields a
:class:`Step` when it needs I/O and gets the step's result back (or the step's exception, thrown
into it at that point), and yields anything else as an output for the caller. :func:`drive` and
:func:`adrive` perform the steps synchronously or awaited; nothing else differs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from lift_dspy.backends import Backend
from lift_dspy.constraints import Constraint

__all__ = ["Flow", "Plan", "Step", "adrive", "drive"]


@dataclass
class Plan:
    """One planned request: where it goes, what is sent, and what its answer is checked against."""

    url: str
    payload: dict[str, Any]
    constraint: Constraint | None
    started: float
    backend: Backend = "guidance"


@dataclass(frozen=True)
class Step:
    """One I/O step a flow asks its driver for; the driver sends back the step's result.

    ``plan`` (arg: the request) -> a :class:`Plan`; ``post`` (the plan) -> (status, body);
    ``fallback`` ((request, resolution handed on)) -> the fallback LM's Response; ``open`` (the plan) -> the
    stream's status; ``read`` -> the opened stream's whole body; ``line`` -> its next line or None.
    """

    kind: Literal["plan", "post", "fallback", "open", "read", "line"]
    arg: Any = None


Flow = Generator[Any, Any, None]


def drive(flow: Flow, perform: Callable[[Step], Any]) -> Iterator[Any]:
    """Run a flow: perform its steps (their errors are thrown back into it), yield its outputs."""
    sent: Any = None
    thrown: Exception | None = None
    try:
        while True:
            try:
                step = flow.throw(thrown) if thrown is not None else flow.send(sent)
            except StopIteration:
                return
            sent, thrown = None, None
            if not isinstance(step, Step):
                yield step
                continue
            try:
                sent = perform(step)
            except Exception as exc:
                thrown = exc
    finally:
        flow.close()


async def adrive(flow: Flow, perform: Callable[[Step], Awaitable[Any]]) -> AsyncIterator[Any]:
    """:func:`drive` with awaited steps."""
    sent: Any = None
    thrown: Exception | None = None
    try:
        while True:
            try:
                step = flow.throw(thrown) if thrown is not None else flow.send(sent)
            except StopIteration:
                return
            sent, thrown = None, None
            if not isinstance(step, Step):
                yield step
                continue
            try:
                sent = await perform(step)
            except Exception as exc:
                thrown = exc
    finally:
        flow.close()
