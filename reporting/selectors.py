"""Reads for the metrics API and pages: the five keys from the daily rollups, pipeline health.

A scope is a list of service ids, or None for the whole organisation (its own daily rows:
a year is 365 rows). Pending rollup work is done first, so a read always sees every write.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet

from pipelines.models import JobRun, PipelineRun
from portal.models import Service
from reporting.metrics.daily import DayTotals, DoraTotals, combine
from reporting.metrics.dora import Window
from reporting.metrics.health import HealthResult, JobRow, RunRow, compute_health
from reporting.models import DoraDay, RollupDirt, unpack
from reporting.rollups import refresh_pending

ServiceIds = list[int] | None  # None: the whole organisation


def _days(service_ids: ServiceIds, window: Window) -> list[tuple[int | None, DayTotals]]:
    if RollupDirt.objects.exists():
        refresh_pending()
    rows = DoraDay.objects.filter(day__range=(window.start, window.end))
    if service_ids is None:
        rows = rows.filter(service__isnull=True)
    else:
        rows = rows.filter(service_id__in=service_ids)
    return [
        (
            service_id,
            DayTotals(
                day=day,
                deployments=deployments,
                failed=failed,
                rework=rework,
                lead_times=unpack(lead_times),
                recovery_times=unpack(recovery_times),
            ),
        )
        for service_id, day, deployments, failed, rework, lead_times, recovery_times in (
            rows.values_list(
                "service_id",
                "day",
                "deployments",
                "failed",
                "rework",
                "lead_times",
                "recovery_times",
            ).iterator(chunk_size=5000)
        )
    ]


def dora_totals(*, service_ids: ServiceIds, window: Window) -> DoraTotals:
    """The five keys of the scope over ``window``."""
    return combine((day for _service, day in _days(service_ids, window)), window)


def dora_trend(
    *, service_ids: ServiceIds, window: Window, bucket: str
) -> list[tuple[Window, DoraTotals]]:
    """The keys per week (Monday to Sunday) or calendar month inside ``window``: one read."""
    days = [day for _service, day in _days(service_ids, window)]
    return [(part, combine(days, part)) for part in buckets(window, bucket)]


def dora_grouped(*, groups: dict[str, list[int]], window: Window) -> dict[str, DoraTotals]:
    """The keys of each group of services (a team's, or one service's) over ``window``: one read."""
    days_of: dict[int, list[DayTotals]] = defaultdict(list)
    for service_id, day in _days(sorted({i for ids in groups.values() for i in ids}), window):
        days_of[service_id].append(day)
    return {
        key: combine((day for i in ids for day in days_of[i]), window)
        for key, ids in groups.items()
    }


def buckets(window: Window, bucket: str) -> list[Window]:
    """``window`` cut into weeks or months, the first and last cut to the window's bounds."""
    parts, start = [], window.start
    while start <= window.end:
        if bucket == "week":
            stop = start + timedelta(days=6 - start.weekday())
        else:
            next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
            stop = next_month - timedelta(days=1)
        parts.append(Window(start, min(stop, window.end)))
        start = min(stop, window.end) + timedelta(days=1)
    return parts


def health_for(*, services: QuerySet[Service], window: Window, now) -> HealthResult:
    """Pipeline health of ``services`` over ``window`` (runs created in it, plus the
    default-branch runs of the week before, so a red spell begun earlier is measured)."""
    service_rows = {s.pk: s.default_branch for s in services.only("id", "default_branch")}
    runs = [
        RunRow(
            id=r["id"],
            service_id=r["service_id"],
            status=r["status"],
            created_at=r["created_at"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            sha=r["sha"],
            on_default_branch=r["branch"] == service_rows[r["service_id"]],
        )
        for r in PipelineRun.objects.filter(
            service_id__in=list(service_rows),
            created_at__gte=window.begins - timedelta(days=7),
            created_at__lt=window.ends,
        ).values(
            "id", "service_id", "status", "created_at", "started_at", "finished_at", "sha", "branch"
        )
    ]
    in_window = [r.id for r in runs if r.created_at in window]
    jobs = [
        JobRow(
            run_id=j["run_id"],
            name=j["name"],
            status=j["status"],
            started_at=j["started_at"],
            finished_at=j["finished_at"],
            runner=j["runner"],
        )
        for j in JobRun.objects.filter(run_id__in=in_window).values(
            "run_id", "name", "status", "started_at", "finished_at", "runner"
        )
    ]
    return compute_health(
        window=window,
        runs=runs,
        jobs=jobs,
        cost_per_minute=settings.CI_COST_PER_MINUTE,
        runner_rates=settings.CI_COST_PER_MINUTE_BY_RUNNER,
        now=now,
    )
