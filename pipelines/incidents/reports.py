"""Incident reports: how fast incidents are acknowledged and resolved, how many come per
production deployment, and which causes come back. The formulas are pure functions over
plain rows (``response_times``, ``cause_tags``); ``incident_report`` reads the rows.

Over a range ``start..end`` (inclusive UTC days, as docs/metrics.md), the incidents **opened**
in it, among those the user sees:

1. **MTTA** (mean time to acknowledge, reported as a median like DORA's durations): the median
   of ``acknowledged_at - opened_at`` over the acknowledged incidents. Mitigating or resolving
   an incident in the portal acknowledges it if nobody had (services.incidents).
2. **MTTR** (time to resolve): the median of ``resolved_at - opened_at`` over the resolved ones.
   Both per severity (untriaged apart) and per team, the team being the owner team when set,
   else the service's team. A duration below zero (a tool's clock behind ours) counts as 0.
   Medians of an even count are the mean of the two middle values; none to measure is None.
3. **Incidents per production deployment**, per team: the team's services' incidents / the
   team's counted production deployments in the range (DORA's rule 1, from the daily
   rollups), beside DORA's deployments with an attributed incident. No deployment: None.
4. **Repeat causes**, two ways, both needing at least two incidents:
   - *the same alert*: incidents whose ``alertname`` label (Alertmanager's, or what a
     connector puts there) is the same, on any service;
   - *the same cause tag*: reviews whose causes carry the same ``#tag`` (``#config-drift``,
     case-insensitive). Tags, not shared words: a word in common ("database", "the") says
     little, a tag is the reviewers' deliberate "this again".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Max, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from pipelines.incidents.selectors import visible_incidents
from pipelines.models import PostIncidentReview, Severity
from portal.access import visible_teams
from portal.models import Team
from reporting.metrics.dora import Window, median
from reporting.selectors import RollupScope, dora_grouped

TAG = re.compile(r"(?<![\w#&/])#([a-z][a-z0-9_-]{0,49})", re.IGNORECASE)
UNTRIAGED = ""


@dataclass(frozen=True)
class IncidentTimes:
    severity: str  # "" when untriaged
    team_id: int  # the owner team, else the service's team
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class ResponseTimes:
    incidents: int
    acknowledged: int
    mtta: float | None  # seconds
    resolved: int
    mttr: float | None  # seconds


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def response_times(rows: Iterable[IncidentTimes]) -> ResponseTimes:
    """MTTA and MTTR (medians, seconds) of ``rows``, with what each was taken over."""
    rows = list(rows)
    acknowledged = [_seconds(r.opened_at, r.acknowledged_at) for r in rows if r.acknowledged_at]
    resolved = [_seconds(r.opened_at, r.resolved_at) for r in rows if r.resolved_at]
    return ResponseTimes(
        incidents=len(rows),
        acknowledged=len(acknowledged),
        mtta=median(acknowledged),
        resolved=len(resolved),
        mttr=median(resolved),
    )


def grouped(
    rows: Iterable[IncidentTimes], key: Callable[[IncidentTimes], Hashable]
) -> dict[Hashable, ResponseTimes]:
    groups: dict[Hashable, list[IncidentTimes]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {name: response_times(members) for name, members in groups.items()}


def cause_tags(text: str) -> set[str]:
    """The ``#tags`` in a review's causes, lower case (``#DB-Failover`` is ``db-failover``)."""
    return {tag.lower() for tag in TAG.findall(text or "")}


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str  # severity value, "" for untriaged, or team slug
    label: str
    times: ResponseTimes


@dataclass(frozen=True)
class DeploymentRate:
    team: Team
    deployments: int  # counted production deployments
    incidents: int  # incidents of the team's services opened in the range
    with_incident: int  # DORA: counted deployments with an attributed incident

    @property
    def per_deployment(self) -> float | None:
        return self.incidents / self.deployments if self.deployments else None


@dataclass(frozen=True)
class RepeatAlert:
    alertname: str
    incidents: int
    services: list[str]
    last_opened_at: datetime


@dataclass(frozen=True)
class RepeatCause:
    tag: str
    reviews: list[PostIncidentReview]


@dataclass(frozen=True)
class IncidentReport:
    window: Window
    team: Team | None
    overall: ResponseTimes
    by_severity: list[Row]
    by_team: list[Row]
    per_deployment: list[DeploymentRate]
    repeat_alerts: list[RepeatAlert]
    repeat_causes: list[RepeatCause]


def incident_report(*, user, window: Window, team: Team | None = None) -> IncidentReport:
    """The report over ``window`` for the incidents ``user`` sees (of ``team`` when given:
    its services' and those it owns)."""
    incidents = visible_incidents(user).filter(
        opened_at__gte=window.begins, opened_at__lt=window.ends
    )
    if team is not None:
        incidents = incidents.filter(Q(service__team=team) | Q(owner_team=team))
    rows = [
        IncidentTimes(*values)
        for values in incidents.annotate(
            responsible=Coalesce("owner_team_id", "service__team_id")
        ).values_list("severity", "responsible", "opened_at", "acknowledged_at", "resolved_at")
    ]
    severities = grouped(rows, lambda r: r.severity)
    labels = dict(Severity.choices) | {UNTRIAGED: "Untriaged"}
    by_severity = [
        Row(value, labels[value], severities[value])
        for value in [*Severity.values, UNTRIAGED]
        if value in severities
    ]
    teams = grouped(rows, lambda r: r.team_id)
    by_team = [
        Row(each.slug, each.name, teams[each.pk])
        for each in Team.objects.filter(pk__in=teams).order_by("name")
    ]
    return IncidentReport(
        window=window,
        team=team,
        overall=response_times(rows),
        by_severity=by_severity,
        by_team=by_team,
        per_deployment=_per_deployment(user, window, team, incidents),
        repeat_alerts=_repeat_alerts(incidents),
        repeat_causes=_repeat_causes(incidents),
    )


def _per_deployment(user, window: Window, team: Team | None, incidents) -> list[DeploymentRate]:
    teams = visible_teams(user).order_by("name")
    if team is not None:
        teams = teams.filter(pk=team.pk)
    teams = list(teams)
    dora = dora_grouped(scope=RollupScope.of_teams([t.pk for t in teams]), window=window)
    counts = dict(
        incidents.order_by()
        .values_list("service__team_id")
        .annotate(n=Count("id"))
        .values_list("service__team_id", "n")
    )
    rates = []
    for each in teams:
        totals = dora.get(each.pk)
        deployments = totals.deployment_count if totals else 0
        if deployments or counts.get(each.pk):
            rates.append(
                DeploymentRate(
                    team=each,
                    deployments=deployments,
                    incidents=counts.get(each.pk, 0),
                    with_incident=totals.failed_count if totals else 0,
                )
            )
    return rates


def _repeat_alerts(incidents) -> list[RepeatAlert]:
    groups = (
        incidents.order_by()
        .annotate(alert=KT("labels__alertname"))
        .exclude(alert__isnull=True)
        .exclude(alert="")
        .values("alert")
        .annotate(
            n=Count("id"),
            last=Max("opened_at"),
            services=ArrayAgg("service__name", distinct=True, order_by="service__name"),
        )
        .filter(n__gte=2)
        .order_by("-n", "alert")
    )
    return [RepeatAlert(g["alert"], g["n"], g["services"], g["last"]) for g in groups]


def _repeat_causes(incidents) -> list[RepeatCause]:
    by_tag: dict[str, list[PostIncidentReview]] = defaultdict(list)
    reviews = PostIncidentReview.objects.filter(incident__in=incidents).select_related(
        "incident__service"
    )
    for review in reviews.order_by("incident__opened_at", "id"):
        for tag in sorted(cause_tags(review.causes)):
            by_tag[tag].append(review)
    repeats = [RepeatCause(tag, found) for tag, found in by_tag.items() if len(found) >= 2]
    return sorted(repeats, key=lambda r: (-len(r.reviews), r.tag))
