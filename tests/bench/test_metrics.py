"""Benchmark figures from records: percentiles, rates, latency per valid answer, ratios."""

from __future__ import annotations

import math

import pytest
from synthetic import journal_records, sample

from lift_dspy.bench.metrics import latest, paired_ratios, percentile, ratios, summarize, throughput


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0  # index round(0.5 * 99) = 50 (banker's rounding)
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([], 0.5) is None


def test_rates_latency_and_cost_per_valid_answer() -> None:
    by_config = {k[0]: v for k, v in summarize(journal_records()).items()}
    lift = by_config["lift-guidance"]
    assert (lift.samples, lift.structural_ok, lift.code_samples, lift.compile_ok) == (4, 4, 2, 1)
    assert lift.compile_rate == 0.5
    assert lift.repairs_mean == 1.5
    assert lift.seconds_per_valid == pytest.approx(10.0)
    assert lift.tokens_per_s == pytest.approx(400 / 36.0)
    assert by_config["dspy-chat"].seconds_per_valid == pytest.approx(20.0)
    assert math.isinf(by_config["dspy-json"].seconds_per_valid or 0.0)
    assert by_config["dspy-chat"].errors == {"AdapterParseError": 3}


def test_ratios_against_the_headline() -> None:
    by_config = {k[0]: v for k, v in summarize(journal_records()).items()}
    rel = ratios(by_config, "lift-guidance")
    assert rel["dspy-chat"] == pytest.approx(2.0)
    assert math.isinf(rel["dspy-json"] or 0.0)
    assert "lift-guidance" not in rel


def test_no_ratio_when_the_headline_has_no_valid_answer() -> None:
    records = [
        sample("lift-guidance", "rust/gcd", ok=False, seconds=1.0),
        sample("dspy-chat", "rust/gcd", ok=True, seconds=1.0),
    ]
    by_config = {k[0]: v for k, v in summarize(records).items()}
    assert ratios(by_config, "lift-guidance") == {"dspy-chat": None}
    assert ratios(by_config, "missing") == {"lift-guidance": None, "dspy-chat": None}


def test_grouping_by_family() -> None:
    groups = summarize(journal_records(), ("config", "family"))
    assert groups[("lift-guidance", "agent")].samples == 2
    assert groups[("lift-guidance", "rust")].compile_ok == 1
    assert groups[("lift-guidance", "agent")].compile_rate is None


def test_a_rewritten_key_counts_once() -> None:
    first = sample("lift-guidance", "rust/gcd", ok=False, seconds=9.0)
    second = sample("lift-guidance", "rust/gcd", ok=True, seconds=1.0)
    assert latest([first, second], "sample") == [second]


def test_throughput_aggregates_tokens_over_wall_time() -> None:
    groups = throughput(journal_records())
    lift = groups[("concurrency-16", "lift-guidance")]
    raw = groups[("concurrency-16", "raw-httpx")]
    assert lift.rounds == 2
    assert lift.ok == 32
    assert lift.tokens_per_s == pytest.approx(3200 / 42.0)
    assert raw.tokens_per_s == pytest.approx(3200 / 41.0)


def test_paired_ratios_match_rounds_by_index() -> None:
    pairs = paired_ratios(journal_records(), "concurrency-16", "lift-guidance", "raw-httpx")
    assert pairs == pytest.approx([21.0 / 20.0, 20.0 / 22.0])
    assert paired_ratios(journal_records(), "concurrency-4", "lift-guidance", "raw-httpx") == []
