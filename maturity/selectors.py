"""Reads for maturity: what a team's delivery data says for the automatic checks, and the
latest levels per team for the heat map and the radar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from maturity.checks import CHECK_DAYS
from maturity.models import Assessment, Capability, MaturityModel, Rating, TargetLevel
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


def latest_ratings(teams, model_slug: str) -> dict[int, tuple[Assessment, dict[str, int]]]:
    """Team id -> its latest submitted or reviewed assessment of the model, and capability key
    -> level in it (the heat map)."""
    assessments = (
        Assessment.objects.filter(
            team__in=teams,
            model__slug=model_slug,
            status__in=[Assessment.Status.SUBMITTED, Assessment.Status.REVIEWED],
        )
        .order_by("team_id", "-period")
        .distinct("team_id")
    )
    latest = {a.pk: a for a in assessments.select_related("team")}
    levels: dict[int, dict[str, int]] = {pk: {} for pk in latest}
    for assessment_id, key, level in Rating.objects.filter(assessment_id__in=latest).values_list(
        "assessment_id", "capability__key", "level"
    ):
        levels[assessment_id][key] = level
    return {a.team_id: (a, levels[a.pk]) for a in latest.values()}


def previous_assessment(assessment: Assessment) -> Assessment | None:
    """The team's assessment of the same model just before this one (the radar's overlay)."""
    return (
        Assessment.objects.filter(
            team=assessment.team, model__slug=assessment.model.slug, period__lt=assessment.period
        )
        .order_by("-period")
        .first()
    )


def levels_by_key(assessment: Assessment) -> dict[str, int | None]:
    return dict(assessment.ratings.values_list("capability__key", "level"))


@dataclass(frozen=True)
class Gap:
    team: Team
    assessment: Assessment
    capability: Capability
    level: int
    target: int

    @property
    def size(self) -> int:
        return self.target - self.level


def gaps(teams, model: MaturityModel) -> list[Gap]:
    """Capabilities below their target in each team's latest submitted or reviewed round,
    largest gap first."""
    targets = dict(
        TargetLevel.objects.filter(model_slug=model.slug).values_list("capability_key", "level")
    )
    capabilities = {c.key: c for c in model.capabilities.all()}
    found = [
        Gap(assessment.team, assessment, capabilities[key], level, targets[key])
        for assessment, levels in latest_ratings(teams, model.slug).values()
        for key, level in levels.items()
        if key in targets and key in capabilities and level is not None and level < targets[key]
    ]
    return sorted(found, key=lambda g: (-g.size, g.team.name, g.capability.position))


def capability_trend(teams, model_slug: str, key: str) -> dict[str, list[tuple[str, int]]]:
    """Team name -> (period, level) of a capability over its submitted and reviewed rounds."""
    rows = (
        Rating.objects.filter(
            assessment__team__in=teams,
            assessment__model__slug=model_slug,
            assessment__status__in=[Assessment.Status.SUBMITTED, Assessment.Status.REVIEWED],
            capability__key=key,
            level__isnull=False,
        )
        .order_by("assessment__team__name", "assessment__period")
        .values_list("assessment__team__name", "assessment__period", "level")
    )
    trend: dict[str, list[tuple[str, int]]] = {}
    for team, period, level in rows:
        trend.setdefault(team, []).append((period, level))
    return trend
