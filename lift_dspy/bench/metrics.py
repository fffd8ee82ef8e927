"""Figures from journal records. Pure: records in, numbers out (no I/O, no plotting).

The headline figure is **latency per valid answer**: the summed wall time of a configuration's
samples divided by its structurally valid samples. A configuration that is fast but rarely valid
pays for its failures here; one with no valid answer has an infinite cost.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Summary",
    "ThroughputSummary",
    "latest",
    "paired_ratios",
    "percentile",
    "ratios",
    "run_window",
    "server_starts",
    "summarize",
    "throughput",
]


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (``p`` in [0, 1]) of ``values``, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))]


def latest(records: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    """The records of one kind, one per key (the last written wins), in first-seen order."""
    by_key: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for record in records:
        if record.get("kind") == kind:
            by_key[(record.get("config"), record.get("task"), record.get("sample"))] = record
    return list(by_key.values())


@dataclass
class Summary:
    """Aggregate of a group of sample records."""

    samples: int = 0
    structural_ok: int = 0
    code_samples: int = 0
    compile_ok: int = 0
    task_ok: int = 0
    repairs: int = 0
    seconds: list[float] = field(default_factory=list)
    lm_seconds: float = 0.0
    output_tokens: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    call_errors: Counter[str] = field(default_factory=Counter)

    def add(self, record: Mapping[str, Any]) -> None:
        """Count one sample record."""
        self.samples += 1
        self.structural_ok += bool(record.get("structural_ok"))
        if record.get("group") == "code":
            self.code_samples += 1
            self.compile_ok += record.get("compile_ok") is True
            self.repairs += int(record.get("repairs") or 0)
        self.task_ok += bool(record.get("task_ok"))
        self.seconds.append(float(record.get("seconds") or 0.0))
        self.lm_seconds += float(record.get("lm_seconds") or 0.0)
        self.output_tokens += int(record.get("output_tokens") or 0)
        if record.get("error"):
            self.errors[str(record["error"])] += 1
        self.call_errors.update({str(k): int(v) for k, v in (record.get("call_errors") or {}).items()})

    @property
    def structural_rate(self) -> float | None:
        """Share of samples whose every answer parsed and validated."""
        return self.structural_ok / self.samples if self.samples else None

    @property
    def compile_rate(self) -> float | None:
        """Share of code samples whose final implementation compiled (None without code samples)."""
        return self.compile_ok / self.code_samples if self.code_samples else None

    @property
    def task_rate(self) -> float | None:
        """Share of samples that passed their task's checker."""
        return self.task_ok / self.samples if self.samples else None

    @property
    def repairs_mean(self) -> float | None:
        """Repair rounds per code sample."""
        return self.repairs / self.code_samples if self.code_samples else None

    @property
    def total_seconds(self) -> float:
        """Summed wall time of the samples."""
        return sum(self.seconds)

    @property
    def seconds_per_valid(self) -> float | None:
        """Summed wall time / structurally valid samples (inf when none is valid, None when empty)."""
        if not self.samples:
            return None
        return self.total_seconds / self.structural_ok if self.structural_ok else math.inf

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens per second of LM-call time."""
        return self.output_tokens / self.lm_seconds if self.lm_seconds > 0 else None

    def latency(self, p: float) -> float | None:
        """Percentile of per-sample wall time."""
        return percentile(self.seconds, p)


def summarize(
    records: Iterable[Mapping[str, Any]], by: Sequence[str] = ("config",)
) -> dict[tuple[str, ...], Summary]:
    """Sample records grouped by the given fields (e.g. ``("config", "family")``)."""
    out: dict[tuple[str, ...], Summary] = {}
    for record in latest(records, "sample"):
        key = tuple(str(record.get(name)) for name in by)
        out.setdefault(key, Summary()).add(record)
    return out


def ratios(summaries: Mapping[str, Summary], headline: str) -> dict[str, float | None]:
    """How many times more wall time per valid answer each configuration needs than ``headline``.

    ``> 1`` means the headline configuration is cheaper. ``inf``: the other configuration has no
    valid answer; None: no figure (the headline has none, or no samples).
    """
    base = summaries.get(headline)
    base_cost = base.seconds_per_valid if base else None
    out: dict[str, float | None] = {}
    for name, summary in summaries.items():
        if name == headline:
            continue
        cost = summary.seconds_per_valid
        if base_cost is None or cost is None or math.isinf(base_cost):
            out[name] = None
        else:
            out[name] = cost / base_cost if base_cost > 0 else None
    return out


@dataclass
class ThroughputSummary:
    """Aggregate of the concurrency rounds of one side."""

    rounds: int = 0
    calls: int = 0
    ok: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    per_round: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    concurrency: int = 0

    @property
    def tokens_per_s(self) -> float | None:
        """Aggregate output tokens / summed wall time of the rounds."""
        return self.output_tokens / self.seconds if self.seconds > 0 else None


def throughput(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], ThroughputSummary]:
    """Throughput records grouped by (task, config), e.g. ``("concurrency-16", "raw-httpx")``."""
    out: dict[tuple[str, str], ThroughputSummary] = {}
    for record in latest(records, "throughput"):
        s = out.setdefault((str(record["task"]), str(record["config"])), ThroughputSummary())
        s.rounds += 1
        s.calls += int(record.get("calls") or 0)
        s.ok += int(record.get("ok") or 0)
        s.output_tokens += int(record.get("output_tokens") or 0)
        s.seconds += float(record.get("seconds") or 0.0)
        s.concurrency = int(record.get("concurrency") or 0)
        if record.get("tokens_per_s") is not None:
            s.per_round.append(float(record["tokens_per_s"]))
        s.errors.update({str(k): int(v) for k, v in (record.get("errors") or {}).items()})
    return out


def paired_ratios(records: Iterable[Mapping[str, Any]], task: str, side: str, reference: str) -> list[float]:
    """Per-round tokens/s ratios ``side / reference`` for one throughput task, paired by round index.

    Each round of one side runs right next to the same round of the other, so a pair saw nearly the
    same machine state; the median of these ratios resists a noisy neighbour better than the
    aggregate does.
    """
    rates: dict[tuple[str, int], float] = {}
    for record in latest(records, "throughput"):
        if record.get("task") == task and record.get("tokens_per_s"):
            rates[(str(record["config"]), int(record["sample"]))] = float(record["tokens_per_s"])
    rounds = sorted({r for (_, r) in rates})
    return [
        rates[(side, r)] / rates[(reference, r)]
        for r in rounds
        if (side, r) in rates and (reference, r) in rates
    ]


def server_starts(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The server-start records, in order."""
    return [r for r in records if r.get("kind") == "server"]


def utc(timestamp: float) -> str:
    """A Unix timestamp as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_window(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """When the last sample finished and the 1-minute load range, from journal sample records."""
    window: dict[str, Any] = {}
    finished = [float(r["finished"]) for r in samples if r.get("finished")]
    if finished:
        window["last_sample_utc"] = utc(max(finished))
    loads = [float(r["load"]) for r in samples if r.get("load") is not None]
    if loads:
        window["load_average_1m"] = {"min": round(min(loads), 1), "max": round(max(loads), 1)}
    return window
