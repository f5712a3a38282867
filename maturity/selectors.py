"""Reads for maturity: what a team's delivery data says for the automatic checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection

from maturity.checks import CHECK_DAYS
from portal.models import Team
from reporting.metrics.dora import Window
from reporting.selectors import RollupScope, dora_totals, health_for

_STAGE_SHARE = """
    SELECT count(*), count(*) FILTER (WHERE EXISTS (
        SELECT 1 FROM pipelines_jobrun j WHERE j.run_id = r.id AND j.name ~ %(pattern)s))
    FROM pipelines_pipelinerun r JOIN portal_service s ON s.id = r.service_id
    WHERE s.team_id = %(team)s AND r.created_at >= %(begins)s AND r.created_at < %(ends)s"""


def check_window(now: datetime) -> Window:
    end = now.astimezone(UTC).date()
    return Window(end - timedelta(days=CHECK_DAYS - 1), end)


def stage_share(team: Team, pattern: str, window: Window) -> float | None:
    """Percent of the team's runs created in ``window`` with a job whose name matches."""
    with connection.cursor() as cursor:
        cursor.execute(
            _STAGE_SHARE,
            {"team": team.pk, "pattern": pattern, "begins": window.begins, "ends": window.ends},
        )
        runs, matching = cursor.fetchone()
    return 100 * matching / runs if runs else None


def team_measurements(team: Team, *, now: datetime) -> dict[str, float | None]:
    """The checks' metrics for ``team`` over its last CHECK_DAYS days (stage_share aside:
    it depends on each check's pattern)."""
    window = check_window(now)
    scope = RollupScope.of_teams([team.pk])
    dora = dora_totals(scope=scope, window=window)
    health = health_for(scope=scope, window=window, now=now)

    def scaled(value, factor):
        return None if value is None else value * factor

    return {
        "deployment_frequency": dora.per_day if dora.deployment_count else None,
        "lead_time_hours": scaled(dora.lead_time_median, 1 / 3600),
        "change_failure_rate": scaled(dora.change_failure_rate, 100),
        "recovery_hours": scaled(dora.recovery_median, 1 / 3600),
        "pipeline_success_rate": scaled(health.success_rate, 100),
        "red_hours_per_week": health.red_seconds / 3600 / (window.days / 7)
        if health.runs_finished
        else None,
    }
