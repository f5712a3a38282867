"""The DORA dashboard: organisation -> team -> service, with tiers, trends and drill-down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from pipelines.models import Deployment, Incident
from portal.access import access_for, visible_services, visible_teams
from portal.models import Service, Team
from reporting.charts import trend_html
from reporting.metrics.daily import combine
from reporting.metrics.dora import Window
from reporting.metrics.tiers import DEFAULT_REPORT
from reporting.raw_rows import dora_for
from reporting.selectors import (
    ORGANISATION,
    RollupScope,
    dora_grouped,
    dora_overview,
    health_for,
)
from reporting.summary import dora_summary

RANGES = {"30": 30, "90": 90, "180": 180, "365": 365}


@dataclass
class Scope:
    """What a metrics page is about: the services, their name, and the window (last N days)."""

    name: str
    services: QuerySet[Service]
    team: Team | None
    window: Window
    days: int
    rollup: RollupScope


def _scope(request, *, default_days: int) -> Scope:
    """The page's scope from ``?service=`` / ``?team=`` / ``?days=``; 404 for one not visible."""
    days = RANGES.get(request.GET.get("days", str(default_days)), default_days)
    end = timezone.now().astimezone(UTC).date()
    window = Window(end - timedelta(days=days - 1), end)
    services = visible_services(request.user)
    if request.GET.get("service"):
        service = services.filter(slug=request.GET["service"]).first()
        if service is None:
            raise Http404
        return Scope(
            service.name,
            services.filter(pk=service.pk),
            None,
            window,
            days,
            RollupScope.of_services([service.pk]),
        )
    if request.GET.get("team"):
        team = visible_teams(request.user).filter(slug=request.GET["team"]).first()
        if team is None:
            raise Http404
        return Scope(
            team.name,
            services.filter(team=team),
            team,
            window,
            days,
            RollupScope.of_teams([team.pk]),
        )
    access = access_for(request.user)
    rollup = ORGANISATION if access.sees_all_teams else RollupScope.of_teams(access.team_ids)
    return Scope("Organisation", services, None, window, days, rollup)


@login_required
def dora_dashboard(request):
    scope = _scope(request, default_days=90)
    services, window, days, scope_name = scope.services, scope.window, scope.days, scope.name
    team_slug, service_slug = request.GET.get("team"), request.GET.get("service")
    if service_slug:
        parts, by = [], None
    elif scope.team is not None:
        parts = list(services.order_by("name").values_list("pk", "slug", "name"))
        by = RollupScope.of_services(pk for pk, _slug, _name in parts)
    else:
        parts = list(visible_teams(request.user).order_by("name").values_list("pk", "slug", "name"))
        by = RollupScope.of_teams(pk for pk, _slug, _name in parts)
    kind = "service" if scope.team is not None else "team"
    grouped = dora_grouped(scope=by, window=window) if by else {}
    nothing = combine([], window)
    totals, trend = dora_overview(scope=scope.rollup, window=window, bucket="week")
    summary = dora_summary(totals, report=DEFAULT_REPORT)
    rows = [
        {
            "kind": kind,
            "slug": slug,
            "name": name,
            **dora_summary(grouped.get(pk, nothing), report=DEFAULT_REPORT),
        }
        for pk, slug, name in parts
    ]
    drill = {
        "production": "true",
        "since": window.begins.isoformat(),
        "until": window.ends.isoformat(),
    }
    if service_slug:
        drill["service"] = service_slug
    elif team_slug:
        drill["team"] = team_slug
    context = {
        "scope_name": scope_name,
        "team_slug": team_slug,
        "service_slug": service_slug,
        "days": str(days),
        "ranges": RANGES,
        "window": window,
        "summary": summary,
        "rows": rows,
        "trend": trend_html(trend),
        "deployments_url": "/deployments/?" + urlencode(drill),
        "incidents_url": "/incidents/?"
        + urlencode(
            {k: v for k, v in drill.items() if k not in {"production", "since", "until"}}
            | {"since": window.begins.isoformat()}
        ),
        "has_services": services.exists(),
        "can_manage_alerts": access_for(request.user).is_lead,
    }
    return render(request, "reporting/dora.html", context)


EXPLAIN_LIMIT = 200


@login_required
def dora_explain(request):
    """Every counted deployment of the scope and range, and why each number counts it."""
    scope = _scope(request, default_days=90)
    services, window, days, scope_name = scope.services, scope.window, scope.days, scope.name
    result = dora_for(services=services, window=window)
    counted = sorted(result.counted, key=lambda d: d.finished_at, reverse=True)[:EXPLAIN_LIMIT]
    records = Deployment.objects.select_related("service", "environment").in_bulk(
        [d.id for d in counted]
    )
    incident_ids = {i.id for rows in result.attributed.values() for i in rows} | {
        i.id for rows in result.open_incidents.values() for i in rows
    }
    incidents = Incident.objects.in_bulk(incident_ids)
    rows = []
    for row in counted:
        attributed = [
            {
                "incident": incidents[i.id],
                "how": "explicit" if i.deployment_id else "by time",
                "recovered": (i.resolved_at - row.finished_at).total_seconds()
                if i.resolved_at
                else None,
            }
            for i in result.attributed.get(row.id, [])
        ]
        rows.append(
            {
                "deployment": records[row.id],
                "changes": sorted(result.first_changes.get(row.id, []), key=lambda c: -c[1]),
                "attributed": attributed,
                "rework": "marked rework"
                if row.is_rework
                else ", ".join(
                    f"{incidents[i.id].external_id} open"
                    for i in result.open_incidents.get(row.id, [])
                ),
            }
        )
    context = {
        "scope_name": scope_name,
        "window": window,
        "rows": rows,
        "days": str(days),
        "total": result.deployment_count,
        "limit": EXPLAIN_LIMIT,
        "back": "/metrics/?" + request.GET.urlencode(),
    }
    return render(request, "reporting/dora_explain.html", context)


@login_required
def pipeline_health(request):
    """Run success, durations, queue, red main, CI minutes, and the slowest and flakiest jobs."""
    scope = _scope(request, default_days=30)
    window, days, scope_name = scope.window, scope.days, scope.name
    health = health_for(
        scope=scope.rollup,
        window=window,
        now=timezone.now(),
    )
    scope = {k: v for k, v in request.GET.items() if k in {"team", "service"}}
    context = {
        "scope_name": scope_name,
        "window": window,
        "health": health,
        "days": str(days),
        "ranges": RANGES,
        "scope_query": urlencode(scope),
        "runs_url": "/runs/?" + urlencode(scope | {"since": window.begins.isoformat()}),
    }
    return render(request, "reporting/pipeline_health.html", context)
