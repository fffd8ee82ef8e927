"""lm.stats() exported to Prometheus and OpenTelemetry (read at scrape time, nothing on the hot path)."""

from __future__ import annotations

import dspy
import pytest
from fakes import FakeVLLM
from zoo import Count

import lift_dspy
from lift_dspy.monitoring import PrometheusCollector, instrument_opentelemetry, register_prometheus, rows

ANSWER = "[[ ## count ## ]]\n{n}\n\n[[ ## completed ## ]]"


def _lm_with_traffic() -> lift_dspy.GuidanceLM:
    fake = FakeVLLM(
        [ANSWER.format(n=1), ANSWER.format(n=2), "[[ ## count ## ]]\nmany\n\n[[ ## completed ## ]]"]
    )
    lm = fake.lm()
    dspy.configure(lm=lm)
    dspy.Predict(Count)(text="a")
    dspy.Predict(Count)(text="b")
    with pytest.raises(lift_dspy.ConstraintViolationError):
        dspy.Predict(Count)(text="c")
    return lm


def test_rows_follow_stats() -> None:
    lm = _lm_with_traffic()
    series = {(name, tuple(sorted(labels.items()))): value for name, _, labels, value in rows(lm)}
    key = (("signature", "Count/chat"),)
    assert series[("calls", key)] == 3
    assert series[("ok", key)] == 2
    assert series[("output_tokens", key)] == 14
    assert series[("errors", (("error", "ConstraintViolationError"), ("signature", "Count/chat")))] == 1
    assert series[("latency_seconds", (("quantile", "0.5"), ("signature", "Count/chat")))] >= 0


def test_prometheus_exposition() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    lm = _lm_with_traffic()
    registry = prometheus_client.CollectorRegistry()
    collector = register_prometheus(lm, registry=registry)
    assert isinstance(collector, PrometheusCollector)
    text = prometheus_client.generate_latest(registry).decode()
    assert 'lift_dspy_calls_total{signature="Count/chat"} 3.0' in text
    assert 'lift_dspy_errors_total{error="ConstraintViolationError",signature="Count/chat"} 1.0' in text
    assert 'lift_dspy_latency_seconds{quantile="0.99",signature="Count/chat"}' in text
    # A second scrape reads the same counters (nothing is reset or double counted).
    assert (
        'lift_dspy_ok_total{signature="Count/chat"} 2.0'
        in prometheus_client.generate_latest(registry).decode()
    )


def test_opentelemetry_observable_instruments() -> None:
    sdk_metrics = pytest.importorskip("opentelemetry.sdk.metrics")
    export = pytest.importorskip("opentelemetry.sdk.metrics.export")
    lm = _lm_with_traffic()
    reader = export.InMemoryMetricReader()
    provider = sdk_metrics.MeterProvider(metric_readers=[reader])
    instrument_opentelemetry(lm, meter_provider=provider)
    data = reader.get_metrics_data()
    points = {
        (metric.name, tuple(sorted(point.attributes.items()))): point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    }
    assert points[("lift_dspy.calls", (("signature", "Count/chat"),))] == 3
    assert (
        points[("lift_dspy.errors", (("error", "ConstraintViolationError"), ("signature", "Count/chat")))]
        == 1
    )
    provider.shutdown()


def test_missing_library_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "prometheus_client.core", None)
    with pytest.raises(ImportError, match="pip install prometheus-client"):
        PrometheusCollector(_lm_with_traffic())
