"""Shared fixtures: DSPy's global settings are reset after every test."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _reset_dspy_settings() -> Iterator[None]:
    """DSPy keeps global settings (lm, adapter, ...): no test may see another's."""
    import importlib

    settings_module = importlib.import_module("dspy.dsp.utils.settings")
    saved = copy.copy(settings_module.main_thread_config)
    yield
    settings_module.main_thread_config.clear()
    settings_module.main_thread_config.update(saved)
