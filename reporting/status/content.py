"""What a status report says about a period, as JSON-safe data (the API returns it as is, and
the HTML is rendered from it).

Sections, in the order a stakeholder reads them:

1. **DORA**: the five keys over the period with their tiers (DORA 2024), a trend per week
   (per month for periods over ``MONTHLY_TREND_AFTER_DAYS``) over at least the last
   ``TREND_WEEKS`` weeks, and one row per team.
2. **Pipeline health**: success rate, durations, red default-branch time, flaky jobs, CI cost.
3. **Deliverables by RAG**: those in flight in the period (started by its end, not dropped,
   not accepted before it began), coloured as of the period's last day with the reasons.
4. **Roadmap**: per roadmap the version approved by the period's end, its initiatives with
   accepted / all deliverables, and what changed in the versions approved during the period.
5. **Pending approvals**: versions awaiting stakeholders now, with who has not decided.
6. **Top risks**: red deliverables first, then alerts firing at the period's end; at most
   ``TOP_RISKS``.
7. **SLOs**: each active SLO as of its last evaluation (budget left, burn rates, alert state)
   and the SLO alerts open during the period (reporting.slos.selectors.report_section).

A report is organisation-wide, except one built for a member or viewer (``viewer``), which
covers their teams only: DORA, pipeline health and deliverables of those teams, no roadmap
sections and no alerts (those are the leads' and stakeholders').
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
from django.db.models import Prefetch
from django.utils import timezone

from portal.access import access_for, visible_teams
from portal.models import Team
from reporting.metrics.daily import combine
from reporting.metrics.dora import Window
from reporting.metrics.tiers import DEFAULT_REPORT
from reporting.models import Alert
from reporting.selectors import (
    ORGANISATION,
    RollupScope,
    dora_grouped,
    dora_overview,
    dora_totals,
    health_for,
)
from reporting.slos.selectors import report_section as slo_section
from reporting.status.periods import period_label, period_slug
from reporting.summary import dora_summary
from roadmap.models import Deliverable, Initiative, Roadmap, RoadmapVersion
from roadmap.rag import SEVERITY, Rag
from roadmap.selectors import (
    changes_of,
    deliverables_for_rag,
    initiative_progress,
    rag_of,
    visible_deliverables,
)
from roadmap.versions import needed

CONTENT_VERSION = 1
TREND_WEEKS = 8
MONTHLY_TREND_AFTER_DAYS = 92
TOP_RISKS = 8
FLAKIEST_SHOWN = 5


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _plain(value):
    """numpy numbers (from the rollups) as Python's, for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dora(scope: RollupScope, window: Window, teams: list[Team]) -> dict:
    summary = dora_summary(dora_totals(scope=scope, window=window), report=DEFAULT_REPORT)
    if window.days > MONTHLY_TREND_AFTER_DAYS:
        bucket, trend_window = "month", window
    else:
        start = min(window.start, window.end - timedelta(weeks=TREND_WEEKS) + timedelta(days=1))
        bucket = "week"
        trend_window = Window(start - timedelta(days=start.weekday()), window.end)
    _all, points = dora_overview(scope=scope, window=trend_window, bucket=bucket)
    grouped = (
        dora_grouped(scope=RollupScope.of_teams(t.pk for t in teams), window=window)
        if teams
        else {}
    )
    nothing = combine([], window)
    return {
        **summary,
        "report": DEFAULT_REPORT,
        "trend_bucket": bucket,
        "trend": [
            {
                "start": part.start.isoformat(),
                "end": part.end.isoformat(),
                "in_period": part.end >= window.start,
                **dora_summary(totals, report=DEFAULT_REPORT),
            }
            for part, totals in points
        ],
        "teams": [
            {
                "name": team.name,
                "slug": team.slug,
                **dora_summary(grouped.get(team.pk, nothing), report=DEFAULT_REPORT),
            }
            for team in teams
        ],
    }


def _health(scope: RollupScope, window: Window) -> dict:
    # Red spells still open are measured up to the period's end, or now for a current period.
    now = min(timezone.now(), window.ends)
    health = health_for(scope=scope, window=window, now=now)
    flakiest = sorted(health.flaky_jobs.items(), key=lambda item: (-item[1], item[0]))
    return {
        "success_rate": health.success_rate,
        "runs_finished": health.runs_finished,
        "duration_p50": health.duration_p50,
        "duration_p95": health.duration_p95,
        "queue_p50": health.queue_p50,
        "red_seconds": health.red_seconds,
        "red_recovery_median": health.red_recovery_median,
        "flaky_jobs": len(health.flaky_jobs),
        "flaky_commits": sum(health.flaky_jobs.values()),
        "flakiest": [
            {"name": name, "commits": commits} for name, commits in flakiest[:FLAKIEST_SHOWN]
        ],
        "ci_minutes": health.ci_minutes,
        "ci_cost": health.ci_cost,
    }


def _deliverables(viewer, window: Window) -> dict:
    in_flight = (
        Deliverable.objects.filter(starts_on__lte=window.end)
        .exclude(initiative__status=Initiative.Status.DROPPED)
        .exclude(status=Deliverable.Status.ACCEPTED, due_on__lt=window.start)
    )
    if viewer is not None:
        in_flight = visible_deliverables(viewer, in_flight)
    statuses = [
        rag_of(deliverable, today=window.end)
        for deliverable in deliverables_for_rag(in_flight).select_related(
            "initiative__theme__roadmap"
        )
    ]
    statuses.sort(key=lambda s: (-SEVERITY[s.rag.colour], s.deliverable.due_on, s.deliverable.slug))
    counts = {colour.value: 0 for colour in (Rag.RED, Rag.AMBER, Rag.GREEN)}
    items = []
    for status in statuses:
        deliverable, colour = status.deliverable, status.rag.colour
        counts[colour.value] += 1
        items.append(
            {
                "slug": deliverable.slug,
                "title": deliverable.title,
                "team": deliverable.team.name,
                "initiative": deliverable.initiative.title,
                "roadmap": deliverable.initiative.theme.roadmap.name,
                "due_on": deliverable.due_on.isoformat(),
                "progress": deliverable.progress,
                "status": deliverable.status,
                "status_label": deliverable.get_status_display(),
                "budget": f"{deliverable.budget:.2f}",
                "spent": f"{status.spent:.2f}",
                "rag": colour.value,
                "reasons": status.rag.reasons,
            }
        )
    return {"counts": counts, "total": len(items), "items": items}


def _roadmaps(window: Window) -> list[dict]:
    approved = RoadmapVersion.Status.APPROVED
    roadmaps = Roadmap.objects.prefetch_related(
        Prefetch(
            "versions",
            RoadmapVersion.objects.filter(status=approved, decided_at__lt=window.ends).order_by(
                "number"
            ),
            to_attr="approved_by_end",
        )
    )
    result = []
    for roadmap in roadmaps:
        versions = roadmap.approved_by_end
        latest = versions[-1] if versions else None
        initiatives = (
            Initiative.objects.filter(theme__roadmap=roadmap)
            .prefetch_related("deliverables")
            .order_by("starts_on", "title")
        )
        rows = []
        for initiative in initiatives:
            accepted, total = initiative_progress(initiative)
            rows.append(
                {
                    "slug": initiative.slug,
                    "title": initiative.title,
                    "status": initiative.status,
                    "status_label": initiative.get_status_display(),
                    "starts_on": initiative.starts_on.isoformat(),
                    "ends_on": initiative.ends_on.isoformat(),
                    "accepted": accepted,
                    "total": total,
                }
            )
        changes = []
        for version in versions:
            if version.decided_at < window.begins:
                continue
            previous, diff = changes_of(version)
            changes.append(
                {
                    "number": version.number,
                    "decided_at": _iso(version.decided_at),
                    "previous": previous.number if previous else None,
                    "texts": [str(change) for change in diff],
                }
            )
        result.append(
            {
                "name": roadmap.name,
                "slug": roadmap.slug,
                "approved": {"number": latest.number, "decided_at": _iso(latest.decided_at)}
                if latest
                else None,
                "initiatives": rows,
                "changes": changes,
            }
        )
    return result


def _pending_approvals() -> list[dict]:
    versions = (
        RoadmapVersion.objects.filter(status=RoadmapVersion.Status.SUBMITTED)
        .select_related("roadmap", "submitted_by")
        .prefetch_related("approvers", "decisions__decider")
        .order_by("submitted_at")
    )
    pending = []
    for version in versions:
        decisions = list(version.decisions.all())
        decided = {d.decider_id for d in decisions}
        undecided = sorted(
            (u for u in version.approvers.all() if u.pk not in decided), key=lambda u: u.username
        )
        pending.append(
            {
                "roadmap": version.roadmap.name,
                "roadmap_slug": version.roadmap.slug,
                "number": version.number,
                "note": version.note,
                "submitted_by": _name(version.submitted_by),
                "submitted_at": _iso(version.submitted_at),
                "approvals": sum(1 for d in decisions if d.approves),
                "needed": needed(version),
                "undecided": [_name(u) for u in undecided],
                "undecided_usernames": [u.username for u in undecided],
            }
        )
    return pending


def _risks(deliverables: dict, window: Window, *, with_alerts: bool) -> list[dict]:
    risks = [
        {
            "kind": "deliverable",
            "title": item["title"],
            "slug": item["slug"],
            "detail": "; ".join(item["reasons"]),
        }
        for item in deliverables["items"]
        if item["rag"] == Rag.RED
    ]
    if with_alerts and len(risks) < TOP_RISKS:
        # Firing at the period's end: opened by then and not resolved before it.
        firing = (
            Alert.objects.filter(opened_at__lt=window.ends)
            .exclude(resolved_at__lt=window.ends)
            .select_related("rule")
            .order_by("-opened_at")[: TOP_RISKS - len(risks)]
        )
        risks += [
            {
                "kind": "alert",
                "title": alert.rule.name,
                "slug": "",
                "detail": alert.message,
                "since": _iso(alert.opened_at),
            }
            for alert in firing
        ]
    return risks[:TOP_RISKS]


def build_report(*, period_start: date, period_end: date, viewer=None) -> dict:
    """The report of ``period_start`` to ``period_end`` (UTC days, both included): for the
    organisation, or for ``viewer``'s teams when they do not see every team."""
    window = Window(period_start, period_end)
    organisation = viewer is None or access_for(viewer).sees_all_teams
    if organisation:
        teams = list(Team.objects.order_by("name"))
        scope = ORGANISATION
    else:
        teams = list(visible_teams(viewer).order_by("name"))
        scope = RollupScope.of_teams(t.pk for t in teams)
    deliverables = _deliverables(None if organisation else viewer, window)
    content = {
        "version": CONTENT_VERSION,
        "period": {
            "start": period_start.isoformat(),
            "end": period_end.isoformat(),
            "days": window.days,
            "slug": period_slug(period_start, period_end),
            "label": period_label(period_start, period_end),
        },
        "generated_at": _iso(timezone.now()),
        "scope": {"kind": "organisation", "teams": []}
        if organisation
        else {"kind": "teams", "teams": [t.name for t in teams]},
        "dora": _dora(scope, window, teams),
        "pipeline_health": _health(scope, window),
        "deliverables": deliverables,
        "roadmaps": _roadmaps(window) if organisation else [],
        "pending_approvals": _pending_approvals() if organisation else [],
        "risks": _risks(deliverables, window, with_alerts=organisation),
        "slos": slo_section(
            viewer=None if organisation else viewer,
            period_start=period_start,
            period_end=period_end,
        ),
    }
    return json.loads(json.dumps(content, default=_plain))
