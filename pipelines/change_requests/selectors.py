"""Reads of change requests: what a user sees, one request followed to production (timeline,
path through the environments), and the customer lead time per team beside DORA's.

**Customer lead time** of a request = ``delivered_at - accepted_at``: from the lead accepting
it to the finish of the first successful production deployment carrying it (never below zero:
a request accepted after production already carried it counts 0). A team's figure over a
period is the median over its requests *delivered* in the period (by ``delivered_at``, UTC
days), as DORA's lead time for changes counts each change at its first production deployment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.http import Http404
from django.shortcuts import get_object_or_404

from pipelines.change_requests import linking
from pipelines.change_requests.filtersets import ChangeRequestFilterSet
from pipelines.connectors.base import RunStatus
from pipelines.models import Change, ChangeRequest, Deployment
from portal.access import access_for, visible_teams
from portal.exceptions import ApplicationError
from portal.models import AuditEvent, Environment, Team
from reporting.metrics.dora import Window, median
from reporting.selectors import RollupScope, buckets, dora_overview

Status = ChangeRequest.Status


def visible_change_requests(user, queryset=None):
    """Requests of the teams the user sees (everyone who sees a team sees its requests)."""
    access = access_for(user)
    queryset = ChangeRequest.objects.all() if queryset is None else queryset
    if access.user_id is None:
        return queryset.none()
    return queryset if access.sees_all_teams else queryset.filter(team_id__in=access.team_ids)


def change_request_list(*, user, filters=None):
    """(the FilterSet, the requests it keeps), newest first. An invalid filter keeps none."""
    queryset = visible_change_requests(user).select_related(
        "team", "created_by", "delivered_by__environment"
    )
    filterset = ChangeRequestFilterSet(filters or None, queryset=queryset, user=user)
    rows = filterset.qs if not filterset.is_bound or filterset.is_valid() else queryset.none()
    return filterset, rows


def change_request_get(*, user, key: str) -> ChangeRequest:
    number = linking.parse_key(key)
    if number is None:
        raise Http404("No such change request.")
    return get_object_or_404(
        visible_change_requests(user).select_related("team", "created_by"), number=number
    )


def customer_lead_time(request: ChangeRequest) -> float | None:
    """Seconds from acceptance to delivery (0 when delivered first); None until delivered."""
    if request.accepted_at is None or request.delivered_at is None:
        return None
    return max(0.0, (request.delivered_at - request.accepted_at).total_seconds())


# --- one request followed to production ------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One environment on the way to production: when the request first got there."""

    environment: Environment
    deployment: Deployment | None  # the first successful deployment carrying it there
    count: int  # successful deployments carrying it there

    @property
    def reached_at(self) -> datetime | None:
        return self.deployment.finished_at if self.deployment else None


@dataclass(frozen=True)
class Moment:
    at: datetime | None
    what: str
    detail: str = ""
    kind: str = "event"  # event | commit | deployment | delivered


@dataclass
class Followed:
    request: ChangeRequest
    changes: list[linking.Carried]
    deployments: list[linking.Carried]
    path: list[Step]
    started_at: datetime | None
    rejected_at: datetime | None
    lead_time: float | None
    timeline: list[Moment] = field(default_factory=list)


def _audit_times(request: ChangeRequest) -> dict[str, datetime]:
    """When each workflow step was first taken, from the audit log."""
    times: dict[str, datetime] = {}
    for action, at in (
        AuditEvent.objects.filter(
            object_type=ChangeRequest._meta.label_lower,
            object_id=str(request.pk),
            action__in=["change_request.start", "change_request.reject"],
        )
        .order_by("created_at")
        .values_list("action", "created_at")
    ):
        times.setdefault(action.removeprefix("change_request."), at)
    return times


def path_to_production(deployments: list[linking.Carried]) -> list[Step]:
    """Every environment in promotion order, with the first successful deployment carrying
    the request there (None: not reached)."""
    reached: dict[int, list[Deployment]] = {}
    for carried in deployments:
        deployment = carried.record
        if deployment.status == RunStatus.SUCCESS and deployment.finished_at is not None:
            reached.setdefault(deployment.environment_id, []).append(deployment)
    steps = []
    for environment in Environment.objects.order_by("position", "name"):
        there = sorted(reached.get(environment.pk, []), key=lambda d: (d.finished_at, d.pk))
        steps.append(Step(environment, there[0] if there else None, len(there)))
    return steps


def change_request_followed(request: ChangeRequest) -> Followed:
    """The request, what carries it, its path to production and its timeline."""
    changes, deployments = linking.carriers_of(request)
    path = path_to_production(deployments)
    times = _audit_times(request)
    followed = Followed(
        request=request,
        changes=changes,
        deployments=deployments,
        path=path,
        started_at=times.get("start"),
        rejected_at=times.get("reject"),
        lead_time=customer_lead_time(request),
    )
    followed.timeline = _timeline(followed)
    return followed


def _timeline(followed: Followed) -> list[Moment]:
    request = followed.request
    by = request.created_by.get_full_name() or request.created_by.username
    moments = [Moment(request.created_at, "Requested", f"by {request.requester}, logged by {by}")]
    if request.accepted_at:
        moments.append(Moment(request.accepted_at, "Accepted", request.triage_comment))
    if followed.rejected_at:
        moments.append(Moment(followed.rejected_at, "Rejected", request.triage_comment))
    if followed.started_at:
        moments.append(Moment(followed.started_at, "In progress"))
    if followed.changes:
        first: Change = min((c.record for c in followed.changes), key=lambda c: c.committed_at)
        detail = f"{first.service.name}: {first.sha[:10]} {first.title}".strip()
        moments.append(Moment(first.committed_at, "First commit", detail, "commit"))
    for step in followed.path:
        if step.deployment is not None:
            detail = f"{step.deployment.service.name} at {step.deployment.sha[:10] or '—'}"
            moments.append(
                Moment(
                    step.reached_at, f"Deployed to {step.environment.name}", detail, "deployment"
                )
            )
    if request.delivered_at:
        moments.append(Moment(request.delivered_at, "Delivered", "", "delivered"))
    # Stable: two moments at the same time keep the workflow's order.
    return sorted(moments, key=lambda m: (m.at is None, m.at or datetime.max))


# --- customer lead time per team --------------------------------------------------------------


@dataclass(frozen=True)
class LeadTimeCell:
    """One team over one period: customer lead time and DORA lead time for changes."""

    window: Window
    requests: int  # requests delivered in the period
    customer_median: float | None  # seconds
    dora_median: float | None  # seconds
    dora_changes: int  # changes whose lead time DORA counted


@dataclass(frozen=True)
class TeamLeadTime:
    team: Team
    total: LeadTimeCell
    months: list[LeadTimeCell]


@dataclass(frozen=True)
class LeadTimeReport:
    window: Window
    months: list[Window]
    teams: list[TeamLeadTime]


def lead_time_window(today: date, months: int) -> Window:
    """From the first day of the month ``months - 1`` months back to ``today``."""
    year, month = today.year, today.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return Window(date(year, month, 1), today)


def _cell(window: Window, lead_times: list[float], dora) -> LeadTimeCell:
    return LeadTimeCell(
        window=window,
        requests=len(lead_times),
        customer_median=median(lead_times),
        dora_median=dora.lead_time_median,
        dora_changes=dora.lead_time_count,
    )


def team_lead_times(
    *, user, today: date, months: int = 6, team: Team | None = None
) -> LeadTimeReport:
    """Per team the user sees (or just ``team``): the median customer lead time over the
    last ``months`` calendar months (the current one up to ``today``) and per month, each beside
    the team's DORA lead time for changes over the same days (from the daily rollups).

    Teams without a change request are left out, unless asked for by ``team``.
    """
    window = lead_time_window(today, months)
    parts = buckets(window, "month")
    teams = visible_teams(user).order_by("name")
    if team is not None:
        teams = teams.filter(pk=team.pk)
    else:
        teams = teams.filter(change_requests__isnull=False).distinct()
    delivered: dict[int, list[tuple[datetime, float]]] = {}
    for request in ChangeRequest.objects.filter(
        team__in=teams,
        status=Status.DELIVERED,
        accepted_at__isnull=False,
        delivered_at__gte=window.begins,
        delivered_at__lt=window.ends,
    ).only("team_id", "accepted_at", "delivered_at"):
        delivered.setdefault(request.team_id, []).append(
            (request.delivered_at, customer_lead_time(request))
        )
    rows = []
    for each in teams:
        lead_times = delivered.get(each.pk, [])
        dora_total, dora_parts = dora_overview(
            scope=RollupScope.of_teams([each.pk]), window=window, bucket="month"
        )
        cells = [
            _cell(part, [lead for at, lead in lead_times if at in part], dora)
            for part, dora in dora_parts
        ]
        rows.append(
            TeamLeadTime(each, _cell(window, [lt for _, lt in lead_times], dora_total), cells)
        )
    return LeadTimeReport(window=window, months=parts, teams=rows)


# --- records named by people, for hand links ----------------------------------------------------

SHA_PREFIX_MIN = 7


def change_find(*, service, sha: str) -> Change:
    """The service's change with this sha, or the one whose sha starts with it (7+ characters)."""
    sha = sha.strip().lower()
    matches = list(service.changes.filter(sha__iexact=sha)[:1])
    if not matches and len(sha) >= SHA_PREFIX_MIN:
        matches = list(service.changes.filter(sha__istartswith=sha)[:2])
    if len(matches) != 1:
        problem = "Several changes start with this." if matches else "No such change."
        raise ApplicationError(
            f"{problem} Give a commit sha of {service.name}.",
            {"change": [problem]},
        )
    return matches[0]


def deployment_find(*, service, external_id: str) -> Deployment:
    """The service's deployment with this external id (unique per source and service)."""
    matches = list(service.deployments.filter(external_id=external_id.strip())[:2])
    if len(matches) != 1:
        problem = (
            "Several sources have a deployment with this id." if matches else "No such deployment."
        )
        raise ApplicationError(
            f"{problem} Give a deployment id of {service.name}.",
            {"deployment": [problem]},
        )
    return matches[0]
