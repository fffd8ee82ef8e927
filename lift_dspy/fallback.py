"""The fallback LM: the request it is sent, how its answer is checked, and where it is kept.

A ``GuidanceLM(fallback=...)`` answers with another ``dspy.LM`` when its own server cannot be
reached (a transport failure before any answer: :class:`~lift_dspy.BackendUnavailableError`),
for ``complete`` and ``stream`` alike. The fallback's answer is validated against the call's
constraint by value, says where it came from (``provider_data["lift_dspy"]``), and is kept out
of DSPy's cache entry of the primary call.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

from dspy.lm15 import Request, Response, StreamDeltaEvent, StreamEndEvent, StreamStartEvent, TextDelta

from lift_dspy.backends import response_format_for
from lift_dspy.constraints import Constraint
from lift_dspy.errors import BackendUnavailableError

__all__ = ["fallback_request", "from_fallback", "replay"]

logger = logging.getLogger("lift_dspy.engine")


def fallback_request(
    fallback: Any, constraint: Constraint | None, request: Request, error: BackendUnavailableError
) -> Request:
    """The same request for the fallback LM; a JSON call carries our closed schema, not DSPy's."""
    logger.warning("%s; answering with the fallback LM %s", error.message, fallback.model)
    request = dataclasses.replace(request, model=fallback.model)
    if constraint is not None and constraint.format == "json":
        nested = response_format_for(constraint)["json_schema"]
        config = dataclasses.replace(request.config, response_format={"type": "json_schema", **nested})
        request = dataclasses.replace(request, config=config)
    return request


def from_fallback(
    fallback: Any, constraint: Constraint | None, response: Response, error: BackendUnavailableError
) -> Response:
    """Check the fallback's answer like any other and say where it came from.

    The answer is kept out of DSPy's cache entry for this (primary) call: the fallback LM
    caches it under its own key, and the primary answers the same call itself once it is back.
    """
    _keep_out_of_primary_cache()
    if constraint is not None:
        constraint.validate(response.message.text or "", model_name=fallback.model, exact=False)
    data = {"lift_dspy": {"fallback": fallback.model, "primary_error": error.message[:300]}}
    return dataclasses.replace(response, provider_data=data)


def replay(response: Response) -> Iterator[Any]:
    """A fallback's (complete) answer as the events of a stream: start, the whole text, end.

    The text arrives as one delta, which DSPy's stream listeners treat like a cache hit: they emit
    no field chunks, and the final prediction holds the values.
    """
    yield StreamStartEvent(id=response.id, model=response.model)
    text = response.message.text or ""
    if text:
        yield StreamDeltaEvent(delta=TextDelta(text=text, part_index=0))
    yield StreamEndEvent(
        finish_reason=response.finish_reason, usage=response.usage, provider_data=response.provider_data
    )


def _keep_out_of_primary_cache() -> None:
    """Stop DSPy from storing the answer of the LM call being executed (a fallback answered it).

    DSPy decides to store a result in its cache after the engine returns, from the ``cache``
    flag of the call it is executing; that call object is a local of DSPy's ``execute`` (or
    ``aexecute``) frame, on this stack (a running coroutine chain is on the stack too).
    """
    from dspy.clients.execution import PreparedCall

    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in ("execute", "aexecute"):
            call = frame.f_locals.get("call")
            if isinstance(call, PreparedCall):
                call.cache = False
                return
        frame = frame.f_back
    logger.debug("fallback answer: DSPy's executing call not found; its cache entry may hold it")
