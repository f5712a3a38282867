"""The sources part of the health page: each source's last sync and the events it has waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from pipelines.connectors.base import POLLED_KINDS
from pipelines.models import CISource, RawEvent, SyncRun
from pipelines.selectors import source_overview
from portal.observability.probes import seconds_text


@dataclass(frozen=True)
class SourceHealth:
    source: CISource
    polled: bool
    last_sync: SyncRun | None
    last_sync_at: datetime | None  # finished, else started, else queued
    last_sync_duration: timedelta | None  # so far, while it runs
    events_waiting: int
    oldest_waiting_since: datetime | None

    @property
    def duration_text(self) -> str:
        duration = self.last_sync_duration
        return seconds_text(duration.total_seconds() if duration is not None else None)

    @property
    def failing(self) -> bool:
        """The latest outcome was an error: it came after the last success, if any."""
        source = self.source
        if not source.last_error or source.last_error_at is None:
            return False
        return source.last_success_at is None or source.last_error_at > source.last_success_at


def source_health_list() -> list[SourceHealth]:
    """Every CI and monitoring source, in name order, in three queries whatever their number."""
    sources = source_overview()
    waiting = {
        row["source_id"]: row
        for row in RawEvent.objects.filter(status=RawEvent.Status.PENDING, source__in=sources)
        .values("source_id")
        .annotate(events=Count("id"), oldest=Min("received_at"))
        .order_by()
    }
    now = timezone.now()
    rows = []
    for source in sources:
        run = source.latest_sync
        waits = waiting.get(source.pk, {})
        rows.append(
            SourceHealth(
                source=source,
                polled=source.kind in POLLED_KINDS,
                last_sync=run,
                last_sync_at=run and (run.finished_at or run.started_at or run.queued_at),
                last_sync_duration=_duration(run, now),
                events_waiting=waits.get("events", 0),
                oldest_waiting_since=waits.get("oldest"),
            )
        )
    return rows


def _duration(run: SyncRun | None, now: datetime) -> timedelta | None:
    if run is None or run.started_at is None:
        return None
    return (run.finished_at or now) - run.started_at
