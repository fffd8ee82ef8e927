"""Figures the reliability tests measure (compile times, fds, RSS, ...), printed at the end of the run.

Timings are never asserted (the machine is shared and noisy); they are recorded here and shown in
the "reliability figures" section of pytest's terminal summary, which RELIABILITY.md quotes.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["FIGURES", "record", "record_max"]

FIGURES: dict[str, Any] = {}
_lock = threading.Lock()


def record(name: str, value: Any) -> None:
    """Set one figure."""
    with _lock:
        FIGURES[name] = value


def record_max(name: str, value: float, detail: str = "") -> None:
    """Keep the largest value seen under ``name`` (with what produced it)."""
    with _lock:
        current = FIGURES.get(name)
        if current is None or value > current[0]:
            FIGURES[name] = (value, detail)
