"""``PortalCollector``: the portal's state, read from Postgres and Redis at each scrape.

Computed at scrape time rather than counted in the process that did the work: syncs run in
Celery workers, webhooks arrive in any gunicorn worker, and a counter in one of them would be
invisible to (or counted twice by) the others. Reading the rows gives every process the same
answer with no shared state, at the price of a few grouped queries per scrape (their number does
not grow with the number of sources).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

from django.db import DatabaseError
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from portal.observability import probes

WINDOW = timedelta(hours=24)
# Upper bounds (seconds) of the sync-duration buckets: a webhook-sized sync to a full backfill.
SYNC_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels or [])


def _timestamp(moment) -> float | None:
    return moment.timestamp() if moment is not None else None


class PortalCollector(Collector):
    """Sync, raw-event, queue, worker and beat metrics (names and labels: docs/observability.md)."""

    def describe(self) -> list[Metric]:
        # Registering a collector without describe() would run collect(), a database query,
        # at import time. The families are only listed here, without samples.
        return []

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = _gauge(
            "flightdeck_collector_up",
            "1 if the scrape could read this store, 0 if it failed (its metrics are missing).",
            ["store"],
        )
        try:
            yield from self._database_metrics()
            up.add_metric(["postgres"], 1)
        except DatabaseError:
            up.add_metric(["postgres"], 0)
        snapshot = probes.broker_snapshot()
        up.add_metric(["redis"], 1 if snapshot.reachable else 0)
        if snapshot.reachable:
            yield from self._broker_metrics(snapshot)
        yield up
        took = _gauge(
            "flightdeck_collector_duration_seconds",
            "Seconds this scrape spent reading Postgres and Redis.",
        )
        took.add_metric([], time.perf_counter() - started)
        yield took

    # --- Postgres ----------------------------------------------------------------------------

    def _database_metrics(self) -> Iterator[Metric]:
        from pipelines.models import CISource, RawEvent, SyncRun

        now = timezone.now()
        since = now - WINDOW
        # Evaluated here, inside the caller's try: a database outage becomes collector_up 0.
        sources = list(
            CISource.objects.exclude(kind__in=CISource.BUILT_IN_KINDS).values(
                "slug", "kind", "is_active", "last_success_at", "last_error_at"
            )
        )
        duration = ExpressionWrapper(
            F("finished_at") - F("started_at"), output_field=DurationField()
        )
        finished = SyncRun.objects.filter(finished_at__isnull=False, started_at__isnull=False)
        last_runs = list(
            finished.order_by("source_id", "-finished_at")
            .distinct("source_id")
            .annotate(duration=duration)
            .values("source__slug", "status", "duration", "finished_at")
        )
        by_status = list(
            SyncRun.objects.filter(queued_at__gte=since)
            .values("source__slug", "status")
            .annotate(runs=Count("id"))
            .order_by()
        )
        durations = list(
            finished.filter(finished_at__gte=since)
            .annotate(duration=duration)
            .values("source__slug")
            .annotate(
                total=Sum("duration"),
                runs=Count("id"),
                **{
                    f"le_{bound}": Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
                    for bound in SYNC_DURATION_BUCKETS
                },
            )
            .order_by()
        )
        waiting = list(
            RawEvent.objects.filter(status=RawEvent.Status.PENDING)
            .values("source__slug")
            .annotate(events=Count("id"), oldest=Min("received_at"))
            .order_by()
        )

        yield from self._source_families(sources)
        yield from self._sync_families(last_runs, by_status, durations)
        yield from self._raw_event_families(waiting, now)

    def _source_families(self, sources: list[dict]) -> Iterator[Metric]:
        info = _gauge(
            "flightdeck_source_info", "1 per CI or monitoring source.", ["source", "kind"]
        )
        active = _gauge(
            "flightdeck_source_active", "1 if the source is polled, 0 if paused.", ["source"]
        )
        success = _gauge(
            "flightdeck_source_last_success_timestamp_seconds",
            "When the source last synced without error (Unix time).",
            ["source"],
        )
        error = _gauge(
            "flightdeck_source_last_error_timestamp_seconds",
            "When the source last failed (Unix time).",
            ["source"],
        )
        for source in sources:
            info.add_metric([source["slug"], source["kind"]], 1)
            active.add_metric([source["slug"]], 1 if source["is_active"] else 0)
            if (at := _timestamp(source["last_success_at"])) is not None:
                success.add_metric([source["slug"]], at)
            if (at := _timestamp(source["last_error_at"])) is not None:
                error.add_metric([source["slug"]], at)
        yield from (info, active, success, error)

    def _sync_families(self, last_runs, by_status, durations) -> Iterator[Metric]:
        last = _gauge(
            "flightdeck_sync_last_duration_seconds",
            "Seconds the source's most recent finished sync took, labelled with its outcome.",
            ["source", "status"],
        )
        finished_at = _gauge(
            "flightdeck_sync_last_finished_timestamp_seconds",
            "When the source's most recent sync finished (Unix time).",
            ["source"],
        )
        for run in last_runs:
            slug = run["source__slug"]
            last.add_metric([slug, run["status"]], run["duration"].total_seconds())
            finished_at.add_metric([slug], run["finished_at"].timestamp())
        runs = _gauge(
            "flightdeck_sync_runs_24h",
            "Syncs queued in the last 24 hours, by source and status (failed ones are errors).",
            ["source", "status"],
        )
        for row in by_status:
            runs.add_metric([row["source__slug"], row["status"]], row["runs"])
        histogram = GaugeHistogramMetricFamily(
            "flightdeck_sync_duration_seconds_24h",
            "Durations of the syncs finished in the last 24 hours (a sliding window: a gauge "
            "histogram, so read it as is, never through rate()).",
            labels=["source"],
        )
        for row in durations:
            buckets = [(str(float(b)), row[f"le_{b}"]) for b in SYNC_DURATION_BUCKETS]
            buckets.append(("+Inf", row["runs"]))
            histogram.add_metric(
                [row["source__slug"]], buckets, gsum_value=row["total"].total_seconds()
            )
        yield from (last, finished_at, runs, histogram)

    def _raw_event_families(self, waiting: list[dict], now) -> Iterator[Metric]:
        pending = _gauge(
            "flightdeck_raw_events_pending",
            "Received payloads (webhooks, polls) waiting to be normalised, by source.",
            ["source"],
        )
        oldest = _gauge(
            "flightdeck_raw_events_oldest_pending_age_seconds",
            "Age of the oldest payload still waiting, by source.",
            ["source"],
        )
        for row in waiting:
            pending.add_metric([row["source__slug"]], row["events"])
            oldest.add_metric([row["source__slug"]], (now - row["oldest"]).total_seconds())
        yield from (pending, oldest)

    # --- Redis -------------------------------------------------------------------------------

    def _broker_metrics(self, snapshot: probes.BrokerSnapshot) -> Iterator[Metric]:
        queued = _gauge(
            "flightdeck_celery_queue_length",
            "Tasks waiting in each Celery queue (all priority levels).",
            ["queue"],
        )
        for queue, length in snapshot.queue_lengths.items():
            queued.add_metric([queue], length)
        unacked = _gauge(
            "flightdeck_celery_unacked_tasks",
            "Tasks delivered to a worker and not yet acknowledged (running, or lost with a "
            "worker until the visibility timeout returns them).",
        )
        unacked.add_metric([], snapshot.unacked or 0)
        workers = _gauge(
            "flightdeck_celery_workers", "Celery workers with a fresh heartbeat (last 30 s)."
        )
        workers.add_metric([], len(snapshot.workers))
        yield from (queued, unacked, workers)
        if snapshot.beat_tick_age is not None:
            beat = _gauge(
                "flightdeck_beat_last_tick_age_seconds",
                "Seconds since Celery beat last sent a task (missing: never, or over a day ago).",
            )
            beat.add_metric([], snapshot.beat_tick_age)
            yield beat
