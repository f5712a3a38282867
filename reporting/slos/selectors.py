"""Reads of SLOs, scoped to what the user may see, and the rows their measurement needs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet

from pipelines.models import Incident
from portal.access import visible_services
from reporting.slos import budget
from reporting.slos.models import Slo, SloAlert


def _with_details(queryset: QuerySet[Slo]) -> QuerySet[Slo]:
    return queryset.select_related("service__team", "prometheus_source").prefetch_related(
        Prefetch(
            "alerts",
            SloAlert.objects.filter(resolved_at=None).order_by("level"),
            to_attr="open_alerts",
        )
    )


def visible_slos(user) -> QuerySet[Slo]:
    """The SLOs of the services the user may see, with their service, team and open alerts."""
    return _with_details(Slo.objects.filter(service__in=visible_services(user)))


def slos_of_service(*, service) -> list[Slo]:
    return list(_with_details(Slo.objects.filter(service=service)).order_by("name"))


def recent_alerts(*, slos: QuerySet[Slo], limit: int = 50) -> QuerySet[SloAlert]:
    return (
        SloAlert.objects.filter(slo__in=slos)
        .select_related("slo__service")
        .prefetch_related("notifications")[:limit]
    )


def impact_intervals(*, slo: Slo, since: datetime, now: datetime) -> list[budget.Interval]:
    """The impact windows of the SLO's incidents that reach past ``since`` (budget.impact_interval:
    opened to mitigated, else resolved, else now), for the severities it counts."""
    incidents = Incident.objects.filter(service_id=slo.service_id, opened_at__lt=now).filter(
        Q(mitigated_at__isnull=True, resolved_at__isnull=True)
        | Q(mitigated_at__gt=since)
        | Q(resolved_at__gt=since)
    )
    if slo.incident_severities:
        incidents = incidents.filter(severity__in=slo.incident_severities)
    return [
        budget.impact_interval(opened, mitigated, resolved, now=now)
        for opened, mitigated, resolved in incidents.values_list(
            "opened_at", "mitigated_at", "resolved_at"
        )
    ]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def report_section(*, viewer, period_start: date, period_end: date) -> dict:
    """The status report's SLO section (reporting.status.content): each SLO as of its last
    evaluation (the report's generation time, not the period's end: Prometheus is not asked
    while a report is built), the alerts opened in the period, and counts by state.
    ``viewer`` None: the organisation; else the SLOs of the services they may see."""
    slos = Slo.objects.filter(is_active=True)
    if viewer is not None:
        slos = slos.filter(service__in=visible_services(viewer))
    slos = _with_details(slos).order_by("service__team__name", "service__name", "name")
    begins = datetime.combine(period_start, time.min, tzinfo=UTC)
    ends = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=UTC)
    items, counts = [], {"page": 0, "ticket": 0, "ok": 0, "exhausted": 0}
    for slo in slos:
        counts[slo.level] = counts.get(slo.level, 0) + 1
        if slo.budget_remaining is not None and slo.budget_remaining <= 0:
            counts["exhausted"] += 1
        items.append(
            {
                "slug": slo.slug,
                "name": slo.name,
                "service": slo.service.name,
                "service_slug": slo.service.slug,
                "team": slo.service.team.name,
                "objective": slo.describe,
                "measurement": slo.measurement,
                "sli": slo.sli,
                "budget_remaining": slo.budget_remaining,
                "burn_1h": slo.burn_rates.get("1h"),
                "burn_6h": slo.burn_rates.get("6h"),
                "level": slo.level,
                "evaluated_at": _iso(slo.evaluated_at),
                "error": slo.last_error if slo.is_failing else "",
            }
        )
    alerts = (
        SloAlert.objects.filter(slo__in=slos, opened_at__lt=ends)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=begins))
        .select_related("slo__service")
        .order_by("-opened_at")
    )
    return {
        "counts": counts,
        "items": items,
        "alerts": [
            {
                "slo": alert.slo.name,
                "service": alert.slo.service.name,
                "level": alert.level,
                "message": alert.message,
                "opened_at": _iso(alert.opened_at),
                "resolved_at": _iso(alert.resolved_at),
            }
            for alert in alerts
        ],
    }
