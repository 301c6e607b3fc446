"""Prometheus metrics of the DDAS REST API, on jupyter-server's own ``/metrics``.

They are registered in prometheus_client's default registry, the one jupyter-server's
``PrometheusMetricsHandler`` exports, so an operator scraping a JupyterHub's single-user servers gets
DDAS figures with no extra port or configuration. Every name starts with ``ddas_``; label values come
from fixed sets (route names, lookup statuses, HTTP codes), never from user input, so the number of
series stays bounded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ddas.records import RegistryStats


def _metric(kind: type, name: str, documentation: str, **kwargs: Any) -> Any:
    """Create a collector once per process (a re-imported module reuses the registered one)."""
    existing = getattr(REGISTRY, "_names_to_collectors", {}).get(name)
    if existing is not None:
        return existing
    return kind(name, documentation, **kwargs)


REQUESTS = _metric(
    Counter,
    "ddas_http_requests",
    "DDAS REST requests by route, method and HTTP status.",
    labelnames=("route", "method", "code"),
)
LATENCY = _metric(
    Histogram,
    "ddas_http_request_duration_seconds",
    "Time to answer a DDAS REST request, by route and method.",
    labelnames=("route", "method"),
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LOOKUPS = _metric(
    Counter,
    "ddas_lookups",
    "URL lookups answered, by status (hit, miss, in_progress, ...).",
    labelnames=("status",),
)
HITS = _metric(Counter, "ddas_lookup_hits", "Lookups that found a present copy.")
HIT_BYTES = _metric(
    Counter,
    "ddas_lookup_hit_bytes",
    "Bytes that lookups found already present (what those downloads would have fetched).",
)
BYTES_SAVED = _metric(
    Gauge, "ddas_bytes_saved", "Registry-wide bytes saved by reuse, as of the last stats request."
)
DOWNLOADS_SAVED = _metric(
    Gauge, "ddas_downloads_saved", "Registry-wide downloads avoided, as of the last stats request."
)
SCANS = _metric(Counter, "ddas_scans", "Scans finished, by final state.", labelnames=("state",))


def observe_request(route: str, method: str, code: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(code)).inc()
    LATENCY.labels(route, method).observe(seconds)


def observe_lookup(result: dict[str, Any]) -> None:
    """Count a lookup; a hit also counts the bytes its first copy spares the network."""
    status = str(result.get("status", "unknown"))
    LOOKUPS.labels(status).inc()
    copies = result.get("copies") or []
    if status == "hit" and copies:
        HITS.inc()
        HIT_BYTES.inc(int(copies[0].get("size") or 0))


def observe_stats(stats: RegistryStats) -> None:
    """Publish the registry-wide savings; a reuse is a download avoided."""
    BYTES_SAVED.set(stats.bytes_saved)
    DOWNLOADS_SAVED.set(stats.reuses)
