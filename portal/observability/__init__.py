"""Observability of the portal itself: request ids, JSON logs, Prometheus metrics, health.

``context`` holds the request id of the work in progress; ``logs`` puts it on every log record;
``middleware`` binds it per request and counts requests; ``metrics`` and ``collector`` are what
``/metrics`` exposes; ``probes`` reads database, broker, workers, beat and queues for ``/healthz``,
the health page and the metrics alike. This package imports no prometheus_client at import time,
so the gunicorn configuration can import it before choosing multiprocess mode.
"""
