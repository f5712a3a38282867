"""Reads for the metrics API and pages: the five keys from the daily rollups, pipeline health.

Pending rollup work is done first, so a read always sees every write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RollupScope:
    """Which daily rows to add up: the organisation's own, some teams', or some services'.

    A member's "organisation" is their teams' rows; a team's page reads its team row, not its
    services' (the same sums, ten times fewer rows)."""

    teams: tuple[int, ...] | None = None
    services: tuple[int, ...] | None = None

    @classmethod
    def of_teams(cls, ids) -> RollupScope:
        return cls(teams=tuple(sorted(ids)))

    @classmethod
    def of_services(cls, ids) -> RollupScope:
        return cls(services=tuple(sorted(ids)))


ORGANISATION = RollupScope()


def _days(scope: RollupScope, window: Window) -> list[tuple[int | None, DayTotals]]:
    """(team or service id, or None for the organisation; the day's totals), in day order."""
    if RollupDirt.objects.exists():
        refresh_pending()
    rows = DoraDay.objects.filter(day__range=(window.start, window.end))
    if scope.services is not None:
        rows, key = rows.filter(service_id__in=scope.services), "service_id"
    elif scope.teams is not None:
        rows, key = rows.filter(service=None, team_id__in=scope.teams), "team_id"
    else:
        rows, key = rows.filter(service=None, team=None), "service_id"
    return [
        (
            scope_id,
            DayTotals(
                day=day,
                deployments=deployments,
                failed=failed,
                rework=rework,
                lead_times=unpack(lead_times),
                recovery_times=unpack(recovery_times),
            ),
        )
        for scope_id, day, deployments, failed, rework, lead_times, recovery_times in (
            rows.order_by("day").values_list(
                key, "day", "deployments", "failed", "rework", "lead_times", "recovery_times"
            )
        )
    ]


def dora_totals(*, scope: RollupScope, window: Window) -> DoraTotals:
    """The five keys of the scope over ``window``."""
    return combine((day for _id, day in _days(scope, window)), window)


def dora_overview(
    *, scope: RollupScope, window: Window, bucket: str
) -> tuple[DoraTotals, list[tuple[Window, DoraTotals]]]:
    """The keys over ``window`` and per week (Monday to Sunday) or month inside it: one read."""
    days = [day for _id, day in _days(scope, window)]
    return combine(days, window), [(part, combine(days, part)) for part in buckets(window, bucket)]


def dora_grouped(*, scope: RollupScope, window: Window) -> dict[int, DoraTotals]:
    """The keys of each team (or service) of ``scope`` over ``window``: one read. Those
    without a counted deployment are absent."""
    days_of: dict[int, list[DayTotals]] = defaultdict(list)
    for scope_id, day in _days(scope, window):
        days_of[scope_id].append(day)
    return {scope_id: combine(days, window) for scope_id, days in days_of.items()}


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
