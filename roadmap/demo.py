"""Demo part of the roadmap (shared/DEMO.md): a roadmap with two approved versions and a third
awaiting sam's approval, and deliverables in all three colours. Mobile's release train (raised by
the spring incident) is amber on time; Catalog's flaky-suite clean-up is red (past due) and
spending ahead of its progress; Checkout's and Payments' moves to the standard pipeline are
accepted and green.

Built through the services, as a lead would: plan, submit, sam approves, edit, submit again.
"""

# ruff: noqa: E501 (the story's tables read best one record per line)
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from maturity.models import ImprovementAction
from poc.models import Decision
from portal.models import Service, Team
from roadmap import deliverables, services, versions
from roadmap.models import Deliverable, Initiative, Roadmap, RoadmapVersion, VersionDecision
from roadmap.selectors import draft_of

DAY = timedelta(days=1)


def _quarter(today: date, offset: int) -> tuple[date, date]:
    """The quarter ``offset`` quarters from today's: its first and last day."""
    index = today.year * 4 + (today.month - 1) // 3 + offset
    start = date(index // 4, index % 4 * 3 + 1, 1)
    following = date((index + 1) // 4, (index + 1) % 4 * 3 + 1, 1)
    return start, following - DAY


def _span(today: date, first: int, last: int) -> tuple[date, date]:
    return _quarter(today, first)[0], _quarter(today, last)[1]


# slug-ish key: (theme, title, quarters from today's (first, last), teams, status, depends on)
INITIATIVES = {
    "standard-pipeline": ("Standard delivery", "Standard pipeline for every team", (-3, -1), ["Platform", "Checkout", "Payments", "Catalog"], "in_progress", []),
    "flaky-tests": ("Standard delivery", "Flaky test clean-up in Catalog", (-2, -1), ["Catalog"], "in_progress", []),
    "release-train": ("Reliability", "Mobile release train", (-1, 0), ["Mobile"], "in_progress", ["standard-pipeline"]),
}  # fmt: skip
# initiative, title, team, services, days from today (start, due), budget, progress, spent, targets, review
DELIVERABLES = [
    ("standard-pipeline", "Checkout on the standard pipeline", "Checkout", ["checkout-web", "cart-api"], (-250, -120), 30000, 100, 27500,
     [{"name": "Deploys at least daily", "metric": "deploys_per_day", "comparison": "gte", "threshold": 1, "window_days": 30}], "accepted"),
    ("standard-pipeline", "Payments on the standard pipeline", "Payments", ["payments-api", "ledger"], (-250, -150), 20000, 100, 16000,
     [{"name": "Change failure rate at most 10%", "metric": "change_failure_rate", "comparison": "lte", "threshold": 10, "window_days": 90}], "accepted"),
    ("standard-pipeline", "Runner autoscaling", "Platform", ["ci-runners"], (-120, 20), 15000, 90, 12000,
     [{"name": "Capacity review with Finance"}], "submitted"),
    ("flaky-tests", "Catalog test suite green for a month", "Catalog", ["catalog-api", "search-indexer"], (-150, -12), 20000, 40, 18400,
     [{"name": "Pipeline success rate at least 95%", "metric": "success_rate", "comparison": "gte", "threshold": 95, "window_days": 30}], "returned"),
    ("release-train", "Fortnightly mobile releases", "Mobile", ["ios-app", "android-app"], (-60, 40), 25000, 57, 13000,
     [{"name": "Release checklist agreed with QA"}], None),
]  # fmt: skip


@transaction.atomic
def load() -> None:
    if Roadmap.objects.exists():
        return
    users = {u.username: u for u in get_user_model().objects.all()}
    if not {"lee", "sam", "kim"} <= users.keys():
        return
    lee, sam = users["lee"], users["sam"]
    today = timezone.localdate()
    teams = {t.name: t for t in Team.objects.all()}
    roadmap = services.roadmap_create(
        actor=lee,
        name="DevOps roadmap",
        description="How delivery gets faster and safer across Acme Retail's teams.",
        approvers=[sam],
    )
    themes = {
        name: services.theme_create(actor=lee, roadmap=roadmap, name=name)
        for name in ("Standard delivery", "Reliability", "Developer enablement")
    }
    initiatives: dict[str, Initiative] = {}
    for key, (theme, title, (first, last), team_names, status, after) in INITIATIVES.items():
        starts_on, ends_on = _span(today, first, last)
        initiatives[key] = services.initiative_create(
            actor=lee, theme=themes[theme], title=title, starts_on=starts_on, ends_on=ends_on,
            teams=[teams[n] for n in team_names], depends_on=[initiatives[k] for k in after],
            owner=lee, status=status,
        )  # fmt: skip
    _deliverables(lee, initiatives, teams, today, DELIVERABLES[:2] + DELIVERABLES[3:])
    _approve(
        lee,
        sam,
        roadmap,
        "The first plan: one standard pipeline, then the release train.",
        days_ago=200,
    )

    # Version 2: the release train slips a quarter after the spring incident; monitoring first.
    train = initiatives["release-train"]
    services.initiative_update(
        actor=lee, initiative=train, starts_on=_quarter(today, -1)[0], ends_on=_quarter(today, 1)[1]
    )
    monitoring = services.initiative_create(
        actor=lee, theme=themes["Reliability"], title="Monitoring for the mobile apps",
        starts_on=_quarter(today, -1)[0], ends_on=_quarter(today, 0)[1], teams=[teams["Mobile"]],
        owner=users.get("kim"), status="in_progress",
        improvement_actions=ImprovementAction.objects.filter(team=teams["Mobile"]),
    )  # fmt: skip
    _deliverables(lee, {"monitoring": monitoring}, teams, today, [
        ("monitoring", "Crash-free-session alerts page on-call", "Mobile", ["ios-app", "android-app", "mobile-bff"], (-50, 60), 8000, 50, 1500,
         [{"name": "Recovery within 4 hours", "metric": "recovery_hours", "comparison": "lte", "threshold": 4, "window_days": 90}], None),
    ])  # fmt: skip
    _approve(
        lee,
        sam,
        roadmap,
        "Release train moved a quarter: monitoring for the apps first.",
        days_ago=90,
    )

    # Version 3, awaiting sam: GitOps trial in Checkout (from the Argo CD POC), runner autoscaling.
    argo = services.initiative_create(
        actor=lee, theme=themes["Developer enablement"], title="GitOps deployments with Argo CD",
        starts_on=_quarter(today, 1)[0], ends_on=_quarter(today, 2)[1],
        teams=[teams["Platform"], teams["Checkout"]], owner=lee, depends_on=[initiatives["standard-pipeline"]],
        poc_decisions=Decision.objects.filter(poc__tool="Argo CD"),
    )  # fmt: skip
    _deliverables(lee, {"standard-pipeline": initiatives["standard-pipeline"], "argo": argo}, teams, today, [
        DELIVERABLES[2],
        ("argo", "Checkout deploys through Argo CD", "Checkout", ["checkout-web"], (40, 160), 18000, 0, 0,
         [{"name": "Change failure rate at most 15%", "metric": "change_failure_rate", "comparison": "lte", "threshold": 15, "window_days": 30}], None),
    ])  # fmt: skip
    draft = draft_of(roadmap)
    versions.version_submit(
        actor=lee,
        version=draft,
        note="Adds the Argo CD trial agreed in the POC, and runner autoscaling.",
    )
    RoadmapVersion.objects.filter(pk=draft.pk).update(submitted_at=timezone.now() - 2 * DAY)


def _deliverables(lee, initiatives, teams, today, rows) -> None:
    for key, title, team, slugs, (start, due), budget, progress, spent, targets, review in rows:
        deliverable = services.deliverable_create(
            actor=lee, initiative=initiatives[key], title=title, team=teams[team],
            starts_on=today + start * DAY, due_on=today + due * DAY, budget=Decimal(budget),
            services=Service.objects.filter(slug__in=slugs), targets=targets,
        )  # fmt: skip
        if spent:
            for part, share in ((1, Decimal("0.6")), (2, Decimal("0.4"))):
                deliverables.cost_add(
                    actor=lee, deliverable=deliverable, amount=Decimal(spent) * share,
                    incurred_on=min(today, today + (start + (due - start) * part // 3) * DAY),
                    note=("Pipeline work" if part == 1 else "Contractor days"),
                )  # fmt: skip
        Deliverable.objects.filter(pk=deliverable.pk).update(progress=progress)
        _review(lee, deliverable, review)


def _review(lee, deliverable, review) -> None:
    if review is None:
        return
    deliverables.deliverable_review(actor=lee, deliverable=deliverable, step="submit")
    if review == "accepted":
        deliverables.deliverable_review(actor=lee, deliverable=deliverable, step="accept")
    elif review == "returned":
        deliverables.deliverable_review(
            actor=lee, deliverable=deliverable, step="return",
            comment="The suite still fails one run in five: not green for a month yet.",
        )  # fmt: skip


def _approve(lee, sam, roadmap, note: str, *, days_ago: int) -> None:
    """Submit the draft and have sam approve it, dated ``days_ago``."""
    draft = draft_of(roadmap)
    versions.version_submit(actor=lee, version=draft, note=note)
    versions.version_decide(actor=sam, version=draft, kind="approve")
    when = timezone.now() - days_ago * DAY
    RoadmapVersion.objects.filter(pk=draft.pk).update(submitted_at=when - 3 * DAY, decided_at=when)
    VersionDecision.objects.filter(version=draft).update(decided_at=when)
