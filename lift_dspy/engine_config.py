"""The engine's settings (shared by the sync and async engines, saved with a program)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lift_dspy.active import OnUnconstrained
from lift_dspy.backends import BackendChoice
from lift_dspy.constraints.schema import Options

__all__ = ["EngineConfig"]


@dataclass(frozen=True)
class EngineConfig:
    """Connection and constraint settings shared by the sync and async engines.

    Attributes:
        api_base: The server's OpenAI-compatible base URL (``http://host:8000/v1``), or None to
            use lift-dspy's embedded local server (started on first use).
        api_key: Bearer token, if the server wants one. Never logged, dumped or saved.
        timeout: Seconds to wait for a response (connect is bounded separately to 10 s).
        options: How constraints are built (``lenient``, ``max_text_chars``, ``derive_bounds``).
        constrain: False sends no constraint at all (a baseline; answers are not validated).
        backend: The server's structured-output backend (see :mod:`lift_dspy.backends`).
            ``guidance`` takes every constraint and is checked byte for byte; ``xgrammar`` (vLLM's
            other backends) and ``openai`` (any OpenAI-compatible provider, ``response_format``)
            take JSON Schemas only, so chat-layout calls run in JSON mode and answers are checked
            by value; ``auto`` asks the server on first use.
        on_unconstrained: A module call that cannot be constrained: ``raise`` (default, before
            anything is sent), ``warn`` or ``allow`` (sent unconstrained). See GuidanceLM.
        trim_prompt: Send the system message without DSPy's JSON Schema notes on output fields
            (the grammar forces that structure; :mod:`lift_dspy.trim`).
    """

    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 600.0
    options: Options = field(default_factory=Options)
    constrain: bool = True
    backend: BackendChoice = "guidance"
    on_unconstrained: OnUnconstrained = "raise"
    trim_prompt: bool = False

    def public_state(self) -> dict[str, Any]:
        """The settings that can be saved (everything but the key)."""
        return {
            "api_base": self.api_base,
            "timeout": self.timeout,
            "lenient": self.options.lenient,
            "max_text_chars": self.options.max_text_chars,
            "derive_bounds": self.options.derive_bounds,
            "constrain": self.constrain,
            "backend": self.backend,
            "on_unconstrained": self.on_unconstrained,
            "trim_prompt": self.trim_prompt,
        }
