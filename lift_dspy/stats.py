"""Per-signature call statistics: success rate, violations, truncations, latency percentiles, tokens."""

from __future__ import annotations

import statistics
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lift_dspy.constraints import Constraint

__all__ = ["Stats"]

_MAX_SAMPLES = 10_000


@dataclass
class _Bucket:
    calls: int = 0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    output_tokens: int = 0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not ordered:
                return None
            return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]

        return {
            "calls": self.calls,
            "ok": self.ok,
            "success_rate": self.ok / self.calls if self.calls else None,
            "violations": self.errors.get("ConstraintViolationError", 0),
            "truncations": self.errors.get("TruncatedOutputError", 0),
            "errors": dict(self.errors),
            "latency_p50_s": pct(0.50),
            "latency_p95_s": pct(0.95),
            "latency_p99_s": pct(0.99),
            "latency_mean_s": statistics.fmean(ordered) if ordered else None,
            "output_tokens": self.output_tokens,
        }


class Stats:
    """Thread-safe counters, one bucket per signature (``"<unconstrained>"`` for plain calls)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: defaultdict[str, _Bucket] = defaultdict(_Bucket)

    def __getstate__(self) -> dict[str, Any]:
        # Locks cannot be pickled (program.save(..., save_program=True) pickles the LM).
        with self._lock:
            return {"buckets": dict(self._buckets)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._buckets = defaultdict(_Bucket, state["buckets"])

    @staticmethod
    def _key(constraint: Constraint | None) -> str:
        return f"{constraint.signature_name}/{constraint.format}" if constraint else "<unconstrained>"

    def _add(self, bucket: _Bucket, seconds: float) -> None:
        bucket.calls += 1
        if len(bucket.latencies) < _MAX_SAMPLES:
            bucket.latencies.append(seconds)

    def record_success(
        self, constraint: Constraint | None, seconds: float, output_tokens: int | None
    ) -> None:
        """Count one answered call."""
        with self._lock:
            bucket = self._buckets[self._key(constraint)]
            self._add(bucket, seconds)
            bucket.ok += 1
            bucket.output_tokens += output_tokens or 0

    def record_error(self, constraint: Constraint | None, error: str, seconds: float) -> None:
        """Count one failed call by error type."""
        with self._lock:
            bucket = self._buckets[self._key(constraint)]
            self._add(bucket, seconds)
            bucket.errors[error] += 1

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per-signature summaries plus ``"total"``."""
        with self._lock:
            result = {key: bucket.summary() for key, bucket in self._buckets.items()}
            total = _Bucket()
            for bucket in self._buckets.values():
                total.calls += bucket.calls
                total.ok += bucket.ok
                total.errors.update(bucket.errors)
                total.latencies.extend(bucket.latencies)
                total.output_tokens += bucket.output_tokens
            result["total"] = total.summary()
            return result
