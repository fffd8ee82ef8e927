"""Read a vLLM worker's (or vllm-router's) Prometheus ``/metrics`` as plain numbers.

Used by the replica tests, ``doctor`` and ``benchmarks/router.py`` to tell which worker served how
many requests and how many prompt tokens came from the prefix cache.

Example:
    >>> parse_metrics('vllm:request_success_total{model_name="tiny",finished_reason="stop"} 3.0')
    {'vllm:request_success_total': 3.0}
"""

from __future__ import annotations

import math
import re

import httpx

__all__ = [
    "PREFIX_HITS",
    "PREFIX_QUERIES",
    "REQUESTS_DONE",
    "metric_by_label",
    "parse_metrics",
    "read_metrics",
    "read_metrics_text",
]

# vLLM V1 metric names (0.12 and later).
REQUESTS_DONE = "vllm:request_success_total"
PREFIX_QUERIES = "vllm:prefix_cache_queries_total"
PREFIX_HITS = "vllm:prefix_cache_hits_total"


def parse_metrics(text: str) -> dict[str, float]:
    """Sum each metric over its label sets (``name{labels} value`` lines; comments skipped)."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition("{") if "{" in line.split(" ", 1)[0] else (line, "", "")
        if rest:
            name = head
            value_part = rest.rsplit("}", 1)[-1].split()
        else:
            parts = line.split()
            name, value_part = parts[0], parts[1:]
        if not value_part:
            continue
        try:
            value = float(value_part[0])
        except ValueError:
            continue
        if math.isfinite(value):
            totals[name] = totals.get(name, 0.0) + value
    return totals


def metric_by_label(text: str, name: str, label: str) -> dict[str, float]:
    """Sum metric ``name`` per value of ``label``, e.g. router requests per ``worker``."""
    pattern = re.compile(rf"^{re.escape(name)}\{{([^}}]*)\}}\s+(\S+)", re.MULTILINE)
    out: dict[str, float] = {}
    for labels, value in pattern.findall(text):
        found = re.search(rf'(?:^|,){re.escape(label)}="([^"]*)"', labels)
        if found:
            out[found[1]] = out.get(found[1], 0.0) + float(value)
    return out


def read_metrics_text(url: str, *, timeout: float = 10.0) -> str:
    """GET a ``/metrics`` URL (or a server root / ``.../v1`` base: ``/metrics`` is added).

    Raises:
        httpx.HTTPError: the endpoint cannot be read.
    """
    base = url.rstrip("/")
    if not base.endswith("/metrics"):
        base = base.removesuffix("/v1") + "/metrics"
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        resp = client.get(base)
        resp.raise_for_status()
        return resp.text


def read_metrics(url: str, *, timeout: float = 10.0) -> dict[str, float]:
    """`read_metrics_text` then `parse_metrics`."""
    return parse_metrics(read_metrics_text(url, timeout=timeout))
