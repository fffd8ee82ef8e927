"""Stock-DSPy baselines shared by ``lift-dspy bench`` and ``benchmarks/fair_arms.py``.

Stock DSPy is measured two ways: as configured by default (``dspy.LM("openai/<model>")``: DSPy
knows nothing about the model, so its JSONAdapter sends no ``response_format``) and at its best,
with the provider declared to support response schemas the way DSPy 3.4 documents
(:func:`declared_lm`): JSONAdapter then sends a strict ``json_schema`` built from the signature.
"""

from __future__ import annotations

import threading
from typing import Any

import dspy

__all__ = ["DECLARED_PROVIDER", "declared_lm"]

DECLARED_PROVIDER = "vllm-bench"
"""The provider name :func:`declared_lm` registers with DSPy (the LM's model is ``<provider>/<model>``)."""

_declared: set[str] = set()
_declare_lock = threading.Lock()


def declared_lm(model: str, api_base: str, **kwargs: Any) -> dspy.LM:
    """A stock ``dspy.LM`` whose provider is declared with response-schema support, as DSPy 3.4 documents.

    ``dspy.lm15.register_provider`` with ``supports=ModelSupport(response_schema=True)``: DSPy's
    JSONAdapter then sends a strict ``json_schema`` response_format built from the signature.
    The provider is registered once per ``api_base`` (thread-safe); ``kwargs`` go to ``dspy.LM``.
    """
    # dspy.lm15 re-exports its vendored lm15 (which ships py.typed): importing dspy._vendor directly
    # would make mypy analyse dspy as a partial typed package.
    from dspy.lm15 import AccessPolicy, ModelSupport, OpenAIChatCompat, ProviderDefinition, register_provider

    with _declare_lock:
        if api_base not in _declared:
            definition = ProviderDefinition.chat(
                AccessPolicy(provider=DECLARED_PROVIDER, base_url=api_base),
                compat=OpenAIChatCompat.preset("openai"),
            )
            register_provider(definition, supports=ModelSupport(response_schema=True), replace=True)
            _declared.add(api_base)
    return dspy.LM(f"{DECLARED_PROVIDER}/{model}", api_base=api_base, api_key="x", **kwargs)
