"""The request metrics each web process records, and the registry ``/metrics`` serves.

Under gunicorn (``gunicorn.conf.py``) each worker process writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape sums them all, so the numbers do not depend on which
worker answers. Without that variable (tests, a single process) the process's own registry is
served. Everything read from Postgres or Redis comes from ``PortalCollector`` at scrape time
instead, so it is the same whichever process, web or Celery, did the work.
"""

from __future__ import annotations

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.multiprocess import MultiProcessCollector

from portal.observability.collector import PortalCollector

# `_created` series double the output and no dashboard of ours reads them.
disable_created_metrics()

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A request no URL pattern matched (404s, redirects of CommonMiddleware and SecurityMiddleware):
# one label value, never the raw path, so scanners cannot blow up the series count.
UNMATCHED_ROUTE = "<unmatched>"

HTTP_REQUESTS = Counter(
    "flightdeck_http_requests",
    "HTTP requests answered, by method, route (the URL pattern's name) and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "flightdeck_http_request_duration_seconds",
    "Seconds from the first middleware to the response, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def route_of(request) -> str:
    """The matched URL pattern's name (``admin:index``), else its pattern, else UNMATCHED_ROUTE."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED_ROUTE
    return match.view_name or match.route or UNMATCHED_ROUTE


def record_request(*, method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in KNOWN_METHODS else "OTHER"
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_LATENCY.labels(route=route).observe(seconds)


_portal_collector = PortalCollector()
REGISTRY.register(_portal_collector)


def registry_to_serve() -> CollectorRegistry:
    """All workers' request metrics plus the portal's state when gunicorn runs several workers;
    this process's default registry (with process metrics) otherwise."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(_portal_collector)
    return registry
