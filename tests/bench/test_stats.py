"""Interval and provenance helpers of the benchmarks."""

from __future__ import annotations

from lift_dspy.bench import codeforms
from lift_dspy.bench.stats import (
    bootstrap_per_valid_ratio,
    bootstrap_ratio,
    paired_median_ratio,
    provenance,
    rate,
    rate_difference,
    wilson,
)


def test_one_wilson_implementation() -> None:
    assert wilson is codeforms.wilson
    assert rate(0, 0) == {"k": 0, "n": 0, "rate": None, "ci95": None}
    low, high = rate(26, 33)["ci95"]
    assert low < 26 / 33 < high


def test_rate_difference_significance() -> None:
    assert rate_difference(26, 33, 25, 33)["significant"] is False  # the old suite's 26 vs 25
    assert rate_difference(32, 32, 23, 32)["significant"] is True
    assert rate_difference(1, 0, 1, 1)["difference"] is None


def test_bootstrap_ratios() -> None:
    fast, slow = [1.0, 1.1, 0.9, 1.0] * 5, [2.0, 2.2, 1.8, 2.1] * 5
    result = bootstrap_ratio(fast, slow)
    assert result["significant"] is True
    assert result["ci95"][0] <= result["ratio"] <= result["ci95"][1] < 1
    same = paired_median_ratio([0.8, 1.16, 1.04, 0.95, 1.02, 0.99, 1.05, 0.97, 1.01, 1.0])
    assert same["significant"] is False
    assert same["n"] == 10
    per_valid = bootstrap_per_valid_ratio([(1.0, True)] * 10, [(1.0, True), (1.0, False)] * 5)
    assert per_valid["ratio"] == 0.5
    assert bootstrap_per_valid_ratio([(1.0, True)], [(1.0, False)])["ratio"] == 0.0


def test_provenance_records_commit_versions_machine_load() -> None:
    p = provenance()
    assert p["commit"] is None or len(p["commit"]) == 40
    assert "dspy" in p["versions"]
    assert p["machine"]["cpus"]
    assert "load_average" in p
