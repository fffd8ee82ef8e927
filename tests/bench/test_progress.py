"""The plain-stderr progress bar."""

from __future__ import annotations

import io

from lift_dspy.bench.progress import Progress, format_duration


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_format_duration() -> None:
    assert format_duration(5.2) == "5s"
    assert format_duration(75) == "1m15s"
    assert format_duration(3 * 3600 + 120) == "3h02m"
    assert format_duration(None) == "?"


def test_line_shows_done_total_rate_and_eta() -> None:
    clock = Clock()
    progress = Progress(10, stream=io.StringIO(), width=10, clock=clock)
    clock.now = 60.0
    progress.advance("rust/gcd ok", n=2)
    line = progress.line()
    assert line.startswith("[##........] 2/10  20% 2.0/min elapsed 1m00s ETA 4m00s")
    assert line.endswith("rust/gcd ok")


def test_a_log_gets_a_line_at_most_every_interval_and_always_the_last() -> None:
    clock = Clock()
    out = io.StringIO()
    progress = Progress(3, stream=out, every=30.0, clock=clock)
    for t in (1.0, 2.0, 3.0):
        clock.now = t
        progress.advance()
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "3/3"]


def test_note_prints_its_own_line() -> None:
    out = io.StringIO()
    progress = Progress(1, stream=out, clock=Clock())
    progress.note("-- guidance server")
    assert out.getvalue().splitlines()[0] == "-- guidance server"


def test_a_terminal_redraws_in_place() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    progress = Progress(2, stream=out, clock=Clock())
    progress.advance()
    progress.advance()
    progress.close()
    assert out.getvalue().count("\r\033[K") == 2
    assert out.getvalue().endswith("\n")
