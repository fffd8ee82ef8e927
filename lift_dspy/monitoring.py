"""Export ``GuidanceLM.stats()`` to Prometheus or OpenTelemetry (both optional).

Nothing here runs on the request path: the exporters read the LM's counters when they are scraped
or collected, so monitoring costs nothing between scrapes.

Prometheus (``pip install prometheus-client``)::

    from prometheus_client import start_http_server
    from lift_dspy.monitoring import register_prometheus

    register_prometheus(lm)        # the default registry
    start_http_server(9100)        # GET :9100/metrics

OpenTelemetry metrics (``pip install opentelemetry-api`` plus an SDK/exporter of your choice)::

    from lift_dspy.monitoring import instrument_opentelemetry

    instrument_opentelemetry(lm)   # observable instruments on the global MeterProvider

Series (``signature`` is ``"<SignatureName>/<chat|json>"`` or ``"<unconstrained>"``):

* ``lift_dspy_calls_total{signature}``, ``lift_dspy_ok_total{signature}``
* ``lift_dspy_errors_total{signature, error}`` (``ConstraintViolationError``,
  ``TruncatedOutputError``, ``BackendUnavailableError``, ...)
* ``lift_dspy_output_tokens_total{signature}``
* ``lift_dspy_latency_seconds{signature, quantile}`` for 0.5, 0.95 and 0.99
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Protocol

__all__ = ["PrometheusCollector", "instrument_opentelemetry", "register_prometheus", "rows"]

_QUANTILES = (("0.5", "latency_p50_s"), ("0.95", "latency_p95_s"), ("0.99", "latency_p99_s"))


class _HasStats(Protocol):
    def stats(self) -> dict[str, dict[str, Any]]: ...


def rows(lm: _HasStats) -> Iterator[tuple[str, str, dict[str, str], float]]:
    """Every series as (name, kind, labels, value); ``kind`` is ``counter`` or ``gauge``.

    The ``"total"`` bucket of ``stats()`` is left out: it is the sum of the others.
    """
    for signature, bucket in lm.stats().items():
        if signature == "total":
            continue
        labels = {"signature": signature}
        yield "calls", "counter", labels, float(bucket["calls"])
        yield "ok", "counter", labels, float(bucket["ok"])
        yield "output_tokens", "counter", labels, float(bucket["output_tokens"])
        for error, count in sorted(bucket["errors"].items()):
            yield "errors", "counter", {**labels, "error": error}, float(count)
        for quantile, key in _QUANTILES:
            if bucket[key] is not None:
                yield "latency_seconds", "gauge", {**labels, "quantile": quantile}, float(bucket[key])


def _require(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{module} is not installed: pip install {package}") from exc


class PrometheusCollector:
    """A ``prometheus_client`` collector over one LM's ``stats()``, read at scrape time.

    Args:
        lm: A :class:`~lift_dspy.GuidanceLM` (anything with ``stats()``).
        namespace: Prefix of every series name.
    """

    _HELP: ClassVar[dict[str, str]] = {
        "calls": "LM calls, by signature",
        "ok": "LM calls answered and validated, by signature",
        "output_tokens": "Generated tokens, by signature",
        "errors": "Failed LM calls, by signature and error type",
        "latency_seconds": "Call latency quantiles over the last 10 000 calls, by signature",
    }

    def __init__(self, lm: _HasStats, namespace: str = "lift_dspy") -> None:
        self._metrics = _require("prometheus_client.core", "prometheus-client")
        self.lm = lm
        self.namespace = namespace

    def describe(self) -> list[Any]:
        """Nothing up front: the label sets are only known at scrape time."""
        return []

    def collect(self) -> Iterator[Any]:
        """One metric family per series name (prometheus_client's collector protocol)."""
        families: dict[str, Any] = {}
        label_names = {
            "errors": ["signature", "error"],
            "latency_seconds": ["signature", "quantile"],
        }
        for name, kind, labels, value in rows(self.lm):
            family = families.get(name)
            if family is None:
                full = f"{self.namespace}_{name}"
                factory = (
                    self._metrics.CounterMetricFamily
                    if kind == "counter"
                    else self._metrics.GaugeMetricFamily
                )
                family = factory(full, self._HELP[name], labels=label_names.get(name, ["signature"]))
                families[name] = family
            family.add_metric(list(labels.values()), value)
        yield from families.values()


def register_prometheus(
    lm: _HasStats, registry: Any = None, namespace: str = "lift_dspy"
) -> PrometheusCollector:
    """Register a :class:`PrometheusCollector` for ``lm`` (default: prometheus_client's REGISTRY)."""
    collector = PrometheusCollector(lm, namespace)
    if registry is None:
        registry = _require("prometheus_client", "prometheus-client").REGISTRY
    registry.register(collector)
    return collector


def instrument_opentelemetry(lm: _HasStats, meter_provider: Any = None, namespace: str = "lift_dspy") -> None:
    """Create observable OpenTelemetry instruments that read ``lm.stats()`` when collected.

    Args:
        lm: A :class:`~lift_dspy.GuidanceLM`.
        meter_provider: An OpenTelemetry ``MeterProvider``; the global one by default.
        namespace: Prefix of every instrument name (``lift_dspy.calls``, ...).
    """
    metrics = _require("opentelemetry.metrics", "opentelemetry-api")
    meter = metrics.get_meter("lift_dspy", meter_provider=meter_provider)

    def observe(name: str) -> Any:
        def callback(options: Any) -> list[Any]:
            return [
                metrics.Observation(value, labels) for series, _, labels, value in rows(lm) if series == name
            ]

        return callback

    for name, description in PrometheusCollector._HELP.items():
        full = f"{namespace}.{name}"
        if name == "latency_seconds":
            meter.create_observable_gauge(full, callbacks=[observe(name)], unit="s", description=description)
        else:
            meter.create_observable_counter(full, callbacks=[observe(name)], description=description)
