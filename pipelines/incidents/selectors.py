"""Reads of production support: the incidents and reviews a user sees, an incident's timeline,
the deployment an incident is attributed to, open incidents for the home page, overdue actions.

**Who sees an incident**: whoever sees its service's team (admins, leads and stakeholders all
of them), and the members of the team that owns it.

**Attributed deployment** (docs/metrics.md, rule 4, the same function the DORA keys use:
``reporting.metrics.dora.attribute_incidents``): the incident's explicit deployment when known,
otherwise the latest successful production deployment of its service that finished at or
before it opened, otherwise none. The query below only fetches that candidate; the rule decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Window
from django.shortcuts import get_object_or_404
from django.utils import timezone

from pipelines.connectors.base import RunStatus
from pipelines.incidents.filtersets import IncidentFilterSet, PostIncidentReviewFilterSet
from pipelines.models import (
    Deployment,
    Incident,
    IncidentEvent,
    IncidentStatus,
    PostIncidentReview,
    ReviewAction,
)
from portal.access import access_for
from reporting.metrics.dora import DeploymentRow, IncidentRow, attribute_incidents

Kind = IncidentEvent.Kind
HOME_LIMIT = 8


def visible_incidents(user, queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    access = access_for(user)
    queryset = Incident.objects.all() if queryset is None else queryset
    if access.user_id is None:
        return queryset.none()
    if access.sees_all_teams:
        return queryset
    teams = list(access.team_ids)
    return queryset.filter(Q(service__team_id__in=teams) | Q(owner_team_id__in=teams))


def incident_list(*, user, filters=None) -> tuple[IncidentFilterSet, QuerySet[Incident]]:
    """(the FilterSet, the incidents it keeps), newest first. An invalid filter keeps none."""
    queryset = visible_incidents(user).select_related(
        "service", "source", "owner_team", "commander", "deployment"
    )
    filterset = IncidentFilterSet(filters or None, queryset=queryset, user=user)
    rows = filterset.qs if not filterset.is_bound or filterset.is_valid() else queryset.none()
    return filterset, rows


def incident_get(*, user, pk: int) -> Incident:
    return get_object_or_404(
        visible_incidents(user).select_related(
            "service__team", "source", "owner_team", "commander", "deployment__environment"
        ),
        pk=pk,
    )


def open_incidents_for(*, user, limit: int = HOME_LIMIT) -> tuple[list[Incident], int]:
    """The open incidents of the user's own teams (their services' and those their teams own),
    most severe first, then newest; for organisation-wide readers without a team, all open
    ones. (the first ``limit``, how many in all)."""
    access = access_for(user)
    queryset = Incident.objects.exclude(status=IncidentStatus.RESOLVED)
    if access.team_ids:
        teams = list(access.team_ids)
        queryset = queryset.filter(Q(service__team_id__in=teams) | Q(owner_team_id__in=teams))
    else:
        queryset = visible_incidents(user, queryset)
    # One query (the home page counts its queries): the total rides along as a window count.
    # Untriaged ("") sorts first: someone has to look at it.
    rows = list(
        queryset.select_related("service", "owner_team", "commander")
        .annotate(total=Window(Count("id")))
        .order_by("severity", "-opened_at", "-id")[:limit]
    )
    return rows, rows[0].total if rows else 0


# --- the timeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A timeline entry: stored, or read from the incident's fields when no entry says it
    (incidents from before the workflow, or from tools that send only times)."""

    at: datetime
    kind: str
    label: str
    who: str
    text: str


_FIELD_MOMENTS = [
    (Kind.OPENED, "opened_at"),
    (Kind.ACKNOWLEDGED, "acknowledged_at"),
    (Kind.MITIGATED, "mitigated_at"),
    (Kind.RESOLVED, "resolved_at"),
]


def incident_timeline(incident: Incident) -> list[Moment]:
    """Every entry, oldest first; a state the incident is in (or went through) with no entry
    of its own is shown at its recorded moment, by the incident's source."""
    events = list(incident.events.select_related("actor"))
    moments = [Moment(e.at, e.kind, e.get_kind_display(), e.who, e.text) for e in events]
    recorded = {e.kind for e in events}
    for kind, field in _FIELD_MOMENTS:
        at = getattr(incident, field)
        if at is not None and kind not in recorded:
            moments.append(Moment(at, kind, Kind(kind).label, incident.source.name, ""))
    order = {kind: index for index, (kind, _field) in enumerate(_FIELD_MOMENTS)}
    return sorted(moments, key=lambda m: (m.at, order.get(m.kind, len(order))))


# --- attribution --------------------------------------------------------------------------------


def _candidates(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    latest = Deployment.objects.filter(
        service=OuterRef("service"),
        status=RunStatus.SUCCESS,
        environment__is_production=True,
        finished_at__lte=OuterRef("opened_at"),
    ).order_by("-finished_at", "-id")
    return incidents.annotate(candidate=Subquery(latest.values("id")[:1]))


def attributed_deployments(incidents) -> dict[int, Deployment | None]:
    """Incident id -> the deployment it is attributed to (or None), for many incidents in
    three queries."""
    ids = [incident.pk for incident in incidents]
    if not ids:
        return {}
    rows = list(
        _candidates(Incident.objects.filter(pk__in=ids)).values_list(
            "id", "service_id", "opened_at", "resolved_at", "deployment_id", "candidate"
        )
    )
    deployment_ids = {row[4] for row in rows if row[4]} | {row[5] for row in rows if row[5]}
    deployments = {
        d.pk: d
        for d in Deployment.objects.filter(pk__in=deployment_ids).select_related(
            "environment", "service"
        )
    }
    deployment_rows = [
        DeploymentRow(
            id=d.pk,
            service_id=d.service_id,
            finished_at=d.finished_at,
            is_production=d.environment.is_production,
            succeeded=d.status == RunStatus.SUCCESS,
            is_rework=d.is_rework,
        )
        for d in deployments.values()
    ]
    incident_rows = [IncidentRow(*row[:5]) for row in rows]
    found: dict[int, Deployment | None] = dict.fromkeys(ids)
    for deployment_id, attributed in attribute_incidents(incident_rows, deployment_rows).items():
        for incident in attributed:
            found[incident.id] = deployments.get(deployment_id)
    return found


def attributed_deployment(incident: Incident) -> Deployment | None:
    """The deployment ``incident`` is attributed to (explicitly or by time), or None."""
    return attributed_deployments([incident]).get(incident.pk)


# --- reviews and actions --------------------------------------------------------------------------


def visible_reviews(user) -> QuerySet[PostIncidentReview]:
    return PostIncidentReview.objects.filter(incident__in=visible_incidents(user))


def review_list(*, user, filters=None):
    """(the FilterSet, reviews with ``open_actions`` and ``overdue_actions`` counted), the
    earliest due first."""
    today = timezone.localdate()
    open_ = Q(actions__status=ReviewAction.Status.OPEN)
    queryset = (
        visible_reviews(user)
        .select_related("incident__service", "incident__owner_team", "author")
        .annotate(
            open_actions=Count("actions", filter=open_),
            overdue_actions=Count("actions", filter=open_ & Q(actions__due_on__lt=today)),
        )
        .order_by("status", "due_on", "-id")
    )
    filterset = PostIncidentReviewFilterSet(filters or None, queryset=queryset, user=user)
    rows = filterset.qs if not filterset.is_bound or filterset.is_valid() else queryset.none()
    return filterset, rows


def review_get(*, user, incident_pk: int) -> PostIncidentReview:
    return get_object_or_404(
        visible_reviews(user).select_related(
            "incident__service__team", "incident__owner_team", "author"
        ),
        incident_id=incident_pk,
    )


def visible_actions(user) -> QuerySet[ReviewAction]:
    return ReviewAction.objects.filter(review__in=visible_reviews(user))


def overdue_actions(*, user) -> QuerySet[ReviewAction]:
    """Open actions past their due date, in the reviews the user sees, the most late first."""
    return (
        visible_actions(user)
        .filter(status=ReviewAction.Status.OPEN, due_on__lt=timezone.localdate())
        .select_related("review__incident__service", "owner", "team")
        .order_by("due_on", "id")
    )
