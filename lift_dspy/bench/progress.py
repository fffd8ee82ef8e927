"""A plain-stderr progress bar: done/total, rate and ETA, no dependency.

On a terminal the bar redraws in place; in a log (CI, ``2> file``) it prints one line at most
every ``every`` seconds, and always the last one.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float | None) -> str:
    """``75.0`` -> ``"1m15s"``; ``None`` -> ``"?"``."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class Progress:
    """Count finished items and show ``[####....] 12/40 30% 2.1/min ETA 13m20s label``.

    Args:
        total: Items to do in this run (already-journaled items are not counted).
        stream: Where to draw (stderr by default).
        width: Bar width in characters.
        every: Seconds between lines when the stream is not a terminal.
        clock: Time source (tests).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> p = Progress(2, stream=out, clock=lambda: 0.0)
        >>> p.advance("a"); p.advance("b"); p.close()
        >>> "2/2" in out.getvalue()
        True
    """

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        width: int = 24,
        every: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(0, total)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.every = every
        self._clock = clock
        self._started = clock()
        self._last_line = -float("inf")
        self._lock = threading.Lock()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._label = ""

    def line(self) -> str:
        """The current progress line (without a line ending)."""
        elapsed = max(self._clock() - self._started, 1e-9)
        fraction = self.done / self.total if self.total else 1.0
        filled = round(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else None
        rate_text = f"{rate * 60:.1f}/min" if rate * 60 < 100 else f"{rate:.1f}/s"
        text = (
            f"[{bar}] {self.done}/{self.total} {fraction:4.0%} {rate_text} "
            f"elapsed {format_duration(elapsed)} ETA {format_duration(eta)}"
        )
        return f"{text} {self._label}".rstrip()

    def advance(self, label: str = "", n: int = 1) -> None:
        """Count ``n`` finished items; ``label`` names the last one."""
        with self._lock:
            self.done = min(self.total, self.done + n) if self.total else self.done + n
            self._label = label
            self._draw(final=self.done >= self.total)

    def note(self, message: str) -> None:
        """Print a message on its own line without breaking the bar."""
        with self._lock:
            if self._tty:
                self.stream.write("\r\033[K")
            self.stream.write(message + "\n")
            self._draw(final=False, force=self._tty)

    def _draw(self, *, final: bool, force: bool = False) -> None:
        now = self._clock()
        if self._tty:
            self.stream.write("\r\033[K" + self.line())
        elif final or force or now - self._last_line >= self.every:
            self.stream.write(self.line() + "\n")
            self._last_line = now
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line on a terminal."""
        with self._lock:
            if self._tty:
                self.stream.write("\n")
                self.stream.flush()
