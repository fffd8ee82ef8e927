"""Progress lines on stderr while lift-dspy prepares models and waits for servers.

Starting vLLM on a CPU takes minutes; without a word on the terminal a new user thinks it hangs.
`Progress` says what is being prepared or waited for and the elapsed seconds: a spinner redrawn in
place on a terminal, plain lines otherwise (one at the start, one every ``heartbeat`` seconds, one
at the end), so CI logs stay readable.

Silence it with ``LIFT_DSPY_PROGRESS=0``, with ``progress=False`` where a function takes it, or by
setting the ``lift_dspy.progress`` (or ``lift_dspy``) logger above INFO, which ``lift-dspy -q`` does.
``LIFT_DSPY_PROGRESS=1`` forces it on.

Example:
    >>> from lift_dspy.server.progress import Progress
    >>> with Progress("waiting for vLLM at http://127.0.0.1:8000/v1", enabled=False) as step:
    ...     step.update("waiting for vLLM (model loaded)")
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import IO

__all__ = ["PROGRESS_LOGGER", "Progress", "progress_enabled"]

PROGRESS_LOGGER = "lift_dspy.progress"
_ENV = "LIFT_DSPY_PROGRESS"
_FRAMES = "|/-\\"
_OFF = ("0", "false", "no", "off")


def progress_enabled(explicit: bool | None = None) -> bool:
    """Whether progress is shown: ``explicit`` if given, else ``$LIFT_DSPY_PROGRESS``, else loggers.

    Only a level set explicitly on ``lift_dspy.progress`` or ``lift_dspy`` counts (the root logger's
    default WARNING does not), so progress is on unless someone asked for quiet.
    """
    if explicit is not None:
        return explicit
    env = os.environ.get(_ENV, "").strip().lower()
    if env:
        return env not in _OFF
    logger: logging.Logger | None = logging.getLogger(PROGRESS_LOGGER)
    while logger is not None and logger.name.startswith("lift_dspy"):
        if logger.level != logging.NOTSET:
            return logger.level <= logging.INFO
        logger = logger.parent
    return True


class Progress:
    """One step being waited for, shown on ``stream`` (stderr) until the ``with`` block ends.

    Args:
        what: What is being prepared or waited for, e.g. ``"starting vLLM (tiny) on :8001"``.
        detail: Shown once, on the first line (e.g. where the log is).
        enabled: Force on/off; default `progress_enabled`.
        stream: Where to write; default ``sys.stderr``.
        heartbeat: Seconds between plain lines when ``stream`` is not a terminal.
    """

    def __init__(
        self,
        what: str,
        *,
        detail: str = "",
        enabled: bool | None = None,
        stream: IO[str] | None = None,
        heartbeat: float = 15.0,
    ) -> None:
        self.what = what
        self.detail = detail
        self.enabled = progress_enabled(enabled)
        self._stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._heartbeat = heartbeat
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the step started."""
        return time.monotonic() - self._started

    def update(self, what: str) -> None:
        """Change the description (a new plain line when not on a terminal)."""
        with self._lock:
            changed = what != self.what
            self.what = what
        if changed and self.enabled and not self._tty:
            self._line(f"{what} ({self.elapsed:.0f} s)")

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if not self.enabled:
            return self
        if not self._tty or self.detail:
            self._line(f"{self.what}..." + (f" ({self.detail})" if self.detail else ""))
        self._thread = threading.Thread(target=self._run, name="lift-dspy-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if not self.enabled:
            return
        outcome = "done" if exc_type is None else "failed"
        if exc_type is KeyboardInterrupt:
            outcome = "interrupted"
        if self._tty:
            self._write("\r\x1b[K")
        self._line(f"{self.what}: {outcome} after {self.elapsed:.1f} s")

    def _run(self) -> None:
        frame = 0
        next_beat = self._heartbeat
        while not self._stop.wait(0.2 if self._tty else 1.0):
            with self._lock:
                what = self.what
            if self._tty:
                self._write(f"\r\x1b[K{_FRAMES[frame % len(_FRAMES)]} lift-dspy: {what} {self.elapsed:.0f} s")
                frame += 1
            elif self.elapsed >= next_beat:
                self._line(f"still {what} ({self.elapsed:.0f} s)")
                next_beat += self._heartbeat

    def _line(self, text: str) -> None:
        self._write(f"lift-dspy: {text}\n")

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # closed stream (interpreter shutdown): progress is optional
            pass
