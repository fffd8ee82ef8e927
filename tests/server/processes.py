"""Process checks the server tests share (independent of lift_dspy's own process-group code)."""

from __future__ import annotations

from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie (read from /proc)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
