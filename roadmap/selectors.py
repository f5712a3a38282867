"""Reads for the roadmap: what a user sees, deliverables' RAG with measured targets, initiative
progress, and what awaits a stakeholder's decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.access import access_for
from reporting.metrics.dora import Window
from reporting.selectors import RollupScope, dora_totals, health_for
from roadmap import rag
from roadmap.diff import Change, diff
from roadmap.models import Deliverable, Initiative, QualityTarget, Roadmap, RoadmapVersion

Metric = QualityTarget.Metric
DORA_METRICS = {
    Metric.CHANGE_FAILURE_RATE: lambda t: _percent(t.change_failure_rate),
    Metric.DEPLOYS_PER_DAY: lambda t: t.per_day,
    Metric.LEAD_TIME_HOURS: lambda t: _hours(t.lead_time_median),
    Metric.RECOVERY_HOURS: lambda t: _hours(t.recovery_median),
    Metric.REWORK_RATE: lambda t: _percent(t.rework_rate),
}
HEALTH_METRICS = {
    Metric.SUCCESS_RATE: lambda h: _percent(h.success_rate),
    Metric.DURATION_P95_MINUTES: lambda h: None if h.duration_p95 is None else h.duration_p95 / 60,
}


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def visible_deliverables(user, queryset: QuerySet[Deliverable] | None = None):
    """Deliverables of the teams the user sees."""
    access = access_for(user)
    queryset = Deliverable.objects.all() if queryset is None else queryset
    if access.user_id is None:
        return queryset.none()
    return queryset if access.sees_all_teams else queryset.filter(team_id__in=access.team_ids)


def deliverables_for_rag(queryset: QuerySet[Deliverable]) -> QuerySet[Deliverable]:
    """What ``rag_of`` reads, loaded in a fixed number of queries."""
    return queryset.select_related("team", "initiative").prefetch_related(
        "services", Prefetch("targets", QualityTarget.objects.order_by("pk"))
    ).annotate(spent=Coalesce(Sum("costs__amount"), Decimal(0)))  # fmt: skip


def measured_value(target: QualityTarget, deliverable: Deliverable, today: date) -> float | None:
    """The target's metric over its window ending today, for the deliverable's services (or,
    with none named, its team's)."""
    service_ids = [s.pk for s in deliverable.services.all()]
    scope = (
        RollupScope.of_services(service_ids)
        if service_ids
        else RollupScope.of_teams([deliverable.team_id])
    )
    window = Window(today - timedelta(days=target.window_days - 1), today)
    if target.metric in DORA_METRICS:
        totals = dora_totals(scope=scope, window=window)
        if not totals.deployment_count and target.metric != Metric.DEPLOYS_PER_DAY:
            return None
        return DORA_METRICS[target.metric](totals)
    health = health_for(scope=scope, window=window, now=timezone.now())
    return HEALTH_METRICS[target.metric](health)


def _format(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def target_result(target: QualityTarget, deliverable: Deliverable, today: date) -> rag.TargetResult:
    if not target.is_measured:
        if target.met is None:
            return rag.TargetResult(target.name, None, "not checked yet")
        verdict = "met" if target.met else "not met"
        return rag.TargetResult(target.name, target.met, f"checked: {verdict}")
    value = measured_value(target, deliverable, today)
    wanted = f"{target.get_comparison_display()} {_format(target.threshold)}"
    if value is None:
        return rag.TargetResult(
            target.name, None, f"no data in the last {target.window_days} days (wanted {wanted})"
        )
    return rag.TargetResult(
        target.name,
        rag.met(value, target.comparison, target.threshold),
        f"{_format(value)} over {target.window_days} days (wanted {wanted})",
    )


@dataclass(frozen=True)
class DeliverableStatus:
    deliverable: Deliverable
    spent: Decimal
    targets: list[rag.TargetResult]
    rag: rag.RagStatus


def rag_of(deliverable: Deliverable, today: date | None = None) -> DeliverableStatus:
    today = today or timezone.localdate()
    spent = getattr(deliverable, "spent", None)
    if spent is None:
        spent = deliverable.costs.aggregate(total=Sum("amount"))["total"]
    spent = spent or Decimal(0)
    targets = [target_result(t, deliverable, today) for t in deliverable.targets.all()]
    status = rag.RagStatus(
        time=rag.time_verdict(
            starts_on=deliverable.starts_on,
            due_on=deliverable.due_on,
            progress=deliverable.progress,
            today=today,
            accepted=deliverable.status == Deliverable.Status.ACCEPTED,
        ),
        cost=rag.cost_verdict(
            budget=deliverable.budget, spent=spent, progress=deliverable.progress
        ),
        quality=rag.quality_verdict(targets),
    )
    return DeliverableStatus(deliverable, spent, targets, status)


def initiative_progress(initiative: Initiative) -> tuple[int, int]:
    """(accepted deliverables, all deliverables): only accepted work counts as delivered."""
    statuses = [d.status for d in initiative.deliverables.all()]
    return sum(1 for s in statuses if s == Deliverable.Status.ACCEPTED), len(statuses)


def awaiting_decision(user) -> QuerySet[RoadmapVersion]:
    """Submitted versions naming ``user`` as an approver who has not decided yet."""
    return (
        RoadmapVersion.objects.filter(status=RoadmapVersion.Status.SUBMITTED, approvers=user)
        .exclude(decisions__decider=user)
        .select_related("roadmap", "submitted_by")
        .order_by("submitted_at")
    )


def changes_since_sent_back(version: RoadmapVersion) -> tuple[RoadmapVersion | None, list[Change]]:
    """Against the version sent back just before it (newer than the last approved one), so an
    approver sees whether their requests were met; (None, []) when there is none."""
    previous = (
        version.roadmap.versions.filter(number__lt=version.number)
        .exclude(status=RoadmapVersion.Status.DRAFT)
        .order_by("-number")
        .first()
    )
    if previous is None or previous.status != RoadmapVersion.Status.CHANGES_REQUESTED:
        return None, []
    snapshot = version.snapshot if version.snapshot is not None else snapshot_of(version.roadmap)
    return previous, diff(previous.snapshot, snapshot)


def changes_of(version: RoadmapVersion) -> tuple[RoadmapVersion | None, list[Change]]:
    """The version's plan against the approved version before it (the live plan for a draft)."""
    previous = last_approved(version.roadmap, before=version.number)
    snapshot = version.snapshot if version.snapshot is not None else snapshot_of(version.roadmap)
    return previous, diff(previous.snapshot if previous else None, snapshot)


def _money(value) -> str:
    return f"{value:.2f}"


def snapshot_of(roadmap: Roadmap) -> dict:
    """The plan as JSON (slugs, ISO dates, money as strings): what a version freezes."""
    themes = list(roadmap.themes.all())
    initiatives = list(
        Initiative.objects.filter(theme__roadmap=roadmap)
        .select_related("theme", "owner")
        .prefetch_related(
            "teams", "depends_on", "change_requests", "deliverables__targets", "deliverables__team"
        )
        .order_by("starts_on", "slug")
    )
    return {
        "roadmap": {"name": roadmap.name, "description": roadmap.description},
        "themes": [{"slug": t.slug, "name": t.name, "description": t.description} for t in themes],
        "initiatives": [
            {
                "slug": i.slug,
                "title": i.title,
                "theme": i.theme.slug,
                "owner": i.owner.username if i.owner else "",
                "teams": sorted(t.slug for t in i.teams.all()),
                "starts_on": i.starts_on.isoformat(),
                "ends_on": i.ends_on.isoformat(),
                "status": i.status,
                "depends_on": sorted(d.slug for d in i.depends_on.all()),
                "change_requests": sorted(c.key for c in i.change_requests.all()),
            }
            for i in initiatives
        ],
        "deliverables": [
            {
                "slug": d.slug,
                "title": d.title,
                "initiative": i.slug,
                "team": d.team.slug,
                "starts_on": d.starts_on.isoformat(),
                "due_on": d.due_on.isoformat(),
                "budget": _money(d.budget),
                "targets": [
                    {
                        "name": t.name,
                        "metric": t.metric,
                        "comparison": t.comparison,
                        "threshold": t.threshold,
                        "window_days": t.window_days,
                    }
                    for t in d.targets.all()
                ],
            }
            for i in initiatives
            for d in sorted(i.deliverables.all(), key=lambda d: (d.due_on, d.slug))
        ],
    }


def draft_of(roadmap: Roadmap) -> RoadmapVersion | None:
    return roadmap.versions.filter(status=RoadmapVersion.Status.DRAFT).first()


def last_approved(roadmap: Roadmap, before: int | None = None) -> RoadmapVersion | None:
    versions = roadmap.versions.filter(status=RoadmapVersion.Status.APPROVED)
    if before is not None:
        versions = versions.filter(number__lt=before)
    return versions.order_by("-number").first()
