"""Raw records -> plain rows for the metric functions (reporting.metrics), for one window.

Reads exactly what the definitions need (docs/metrics.md):

- successful production deployments finished from the window's start on (later ones bound the
  time attribution of incidents to counted deployments);
- the changes those counted deployments brought, with all of each change's deployments, so a
  change first deployed before the window is not counted again;
- incidents opened from the window's start on, or open during the window (rework rule), or
  naming a counted deployment, and the deployments named by explicit attributions.

The rollups (reporting.rollups) are computed from these rows; the explanation page reads them
for the deployments it lists.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from pipelines.models import Change, Deployment, Incident
from portal.models import Service
from reporting.metrics.dora import (
    ChangeRow,
    DeploymentRow,
    DoraResult,
    IncidentRow,
    Window,
    compute,
)

SUCCESS = "success"


def _deployment_rows(queryset: QuerySet[Deployment]) -> dict[int, DeploymentRow]:
    return {
        row["id"]: DeploymentRow(
            id=row["id"],
            service_id=row["service_id"],
            finished_at=row["finished_at"],
            is_production=row["environment__is_production"],
            succeeded=row["status"] == SUCCESS,
            is_rework=row["is_rework"],
        )
        for row in queryset.values(
            "id", "service_id", "finished_at", "status", "is_rework", "environment__is_production"
        )
    }


@dataclass(frozen=True)
class DoraRows:
    """Everything the definitions need for one scope and window (and any window inside it)."""

    deployments: list[DeploymentRow]
    changes: list[ChangeRow]
    incidents: list[IncidentRow]


def dora_for(*, services: QuerySet[Service], window: Window) -> DoraResult:
    """The five keys for ``services`` over ``window``."""
    rows = dora_rows(services=services, window=window)
    return compute(
        window=window, deployments=rows.deployments, changes=rows.changes, incidents=rows.incidents
    )


def dora_rows(*, services: QuerySet[Service], window: Window) -> DoraRows:
    """Read the rows of ``services`` that ``window`` (or any window inside it) needs."""
    service_ids = list(services.values_list("id", flat=True))
    deployments = _deployment_rows(
        Deployment.objects.filter(
            service_id__in=service_ids,
            status=SUCCESS,
            environment__is_production=True,
            finished_at__gte=window.begins,
        )
    )
    counted_ids = [d.id for d in deployments.values() if d.finished_at in window]

    links = Deployment.changes.through.objects.filter(deployment_id__in=counted_ids)
    change_ids = set(links.values_list("change_id", flat=True))
    all_links = Deployment.changes.through.objects.filter(change_id__in=change_ids)
    deployments_of: dict[int, list[int]] = defaultdict(list)
    for change_id, deployment_id in all_links.values_list("change_id", "deployment_id"):
        deployments_of[change_id].append(deployment_id)
    earlier = {d for ids in deployments_of.values() for d in ids} - set(deployments)
    deployments.update(_deployment_rows(Deployment.objects.filter(id__in=earlier)))
    changes = [
        ChangeRow(
            service_id=c["service_id"],
            sha=c["sha"],
            committed_at=c["committed_at"],
            deployment_ids=tuple(deployments_of[c["id"]]),
        )
        for c in Change.objects.filter(id__in=change_ids).values(
            "id", "service_id", "sha", "committed_at"
        )
    ]

    incidents = [
        IncidentRow(
            id=i["id"],
            service_id=i["service_id"],
            opened_at=i["opened_at"],
            resolved_at=i["resolved_at"],
            deployment_id=i["deployment_id"],
        )
        for i in Incident.objects.filter(
            Q(service_id__in=service_ids)
            & (
                Q(opened_at__gte=window.begins)
                | Q(opened_at__lt=window.ends)
                & (Q(resolved_at__isnull=True) | Q(resolved_at__gt=window.begins))
            )
            # named by the source, whenever it opened
            | Q(deployment_id__in=counted_ids)
        ).values("id", "service_id", "opened_at", "resolved_at", "deployment_id")
    ]
    named = {i.deployment_id for i in incidents if i.deployment_id} - set(deployments)
    deployments.update(_deployment_rows(Deployment.objects.filter(id__in=named)))
    return DoraRows(deployments=list(deployments.values()), changes=changes, incidents=incidents)
