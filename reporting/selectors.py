"""Reads for the metrics API and pages: the five keys from the daily rollups, pipeline health.

Pending rollup work is done first, so a read always sees every write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db.models import Aggregate, BinaryField, QuerySet, Sum

from reporting.metrics.daily import DayTotals, DoraTotals, combine
from reporting.metrics.dora import Window
from reporting.metrics.health import (
    MAIN_RUN,
    RED_LOOKBACK,
    HealthDay,
    HealthResult,
    combine_health,
)
from reporting.models import DoraDay, PipelineDay, RollupDirt, unpack, unpack_split
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


def _scoped(scope: RollupScope, window: Window) -> tuple[QuerySet[DoraDay], str]:
    """The scope's rows in ``window`` (pending rollup work done first), and their key column."""
    if RollupDirt.objects.exists():
        refresh_pending()
    rows = DoraDay.objects.filter(day__range=(window.start, window.end))
    if scope.services is not None:
        return rows.filter(service_id__in=scope.services), "service_id"
    if scope.teams is not None:
        return rows.filter(service=None, team_id__in=scope.teams), "team_id"
    return rows.filter(service=None, team=None), "service_id"


class _Concatenated(Aggregate):
    """``string_agg(bytea, '')``: a group's packed values joined in the database."""

    function = "string_agg"
    template = "%(function)s(%(expressions)s, ''::bytea)"
    output_field = BinaryField()


def _days(scope: RollupScope, window: Window) -> list[tuple[int | None, DayTotals]]:
    """(team or service id, or None for the organisation; the day's totals), in day order."""
    rows, key = _scoped(scope, window)
    return [
        (
            scope_id,
            DayTotals(
                day=day,
                deployments=deployments,
                failed=failed,
                rework=rework,
                lead_times=unpack_split(lead_whole, lead_other),
                recovery_times=unpack_split(recovery_whole, recovery_other),
            ),
        )
        for (
            scope_id,
            day,
            deployments,
            failed,
            rework,
            lead_whole,
            lead_other,
            recovery_whole,
            recovery_other,
        ) in rows.order_by("day").values_list(
            key,
            "day",
            "deployments",
            "failed",
            "rework",
            "lead_times_whole",
            "lead_times",
            "recovery_times_whole",
            "recovery_times",
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
    """The keys of each team (or service) of ``scope`` over ``window``, added up in the
    database (one row per team, not one per team and day). Those without a counted deployment
    are absent."""
    rows, key = _scoped(scope, window)
    groups = (
        rows.order_by()
        .values(key)
        .annotate(
            deployments=Sum("deployments"),
            failed=Sum("failed"),
            rework=Sum("rework"),
            lead_whole=_Concatenated("lead_times_whole"),
            lead_other=_Concatenated("lead_times"),
            recovery_whole=_Concatenated("recovery_times_whole"),
            recovery_other=_Concatenated("recovery_times"),
        )
    )
    return {
        group[key]: DoraTotals(
            days=window.days,
            deployment_count=group["deployments"],
            failed_count=group["failed"],
            rework_count=group["rework"],
            lead_times=unpack_split(group["lead_whole"], group["lead_other"]),
            recovery_times=unpack_split(group["recovery_whole"], group["recovery_other"]),
        )
        for group in groups
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


def health_for(*, scope: RollupScope, window: Window, now) -> HealthResult:
    """Pipeline health of the runs created in ``window`` in ``scope``, from the pipeline days
    (and those of the week before: red spells and first failures that began earlier)."""
    if RollupDirt.objects.exists():
        refresh_pending()
    rows = PipelineDay.objects.filter(
        day__range=(window.start - RED_LOOKBACK, window.end)
    ).order_by("day")
    if scope.services is not None:
        rows = rows.filter(service_id__in=scope.services)
    elif scope.teams is not None:
        rows = rows.filter(service__team_id__in=scope.teams)
    days = [
        HealthDay(
            day=day,
            decided=decided,
            succeeded=succeeded,
            durations=unpack(durations),
            queues=unpack(queues),
            main_runs=np.frombuffer(bytes(main_runs), dtype=MAIN_RUN),
            runner_minutes=details["runners"],
            job_durations=details["jobs"],
            flaky=details["flaky"],
        )
        for day, decided, succeeded, durations, queues, main_runs, details in rows.values_list(
            "day", "decided", "succeeded", "durations", "queues", "main_runs", "details"
        )
    ]
    return combine_health(
        days,
        window=window,
        cost_per_minute=settings.CI_COST_PER_MINUTE,
        runner_rates=settings.CI_COST_PER_MINUTE_BY_RUNNER,
        now=now,
    )
