"""Writes to the roadmap's plan: the roadmap itself, themes, initiatives, deliverables and their
quality targets. Leads edit; the plan is frozen while a version awaits approval.

Versions and their decisions are in roadmap.versions; a deliverable's progress, costs and review
in roadmap.deliverables.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from portal.access import require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from roadmap.models import Deliverable, Initiative, QualityTarget, Roadmap, RoadmapVersion, Theme


def unique_slug(model, text: str, fallback: str, **scope) -> str:
    """A free slug from ``text`` that fits the model's column, numbered -2, -3... when taken."""
    size = model._meta.get_field("slug").max_length
    base = slugify(text)[:size] or fallback
    slug, n = base, 2
    while model.objects.filter(slug=slug, **scope).exists():
        suffix = f"-{n}"
        slug, n = f"{base[: size - len(suffix)]}{suffix}", n + 1
    return slug


def editable(roadmap: Roadmap) -> Roadmap:
    """Lock the roadmap for a plan edit; refused while a version awaits approval."""
    roadmap = Roadmap.objects.select_for_update().get(pk=roadmap.pk)
    waiting = roadmap.versions.filter(status=RoadmapVersion.Status.SUBMITTED).first()
    if waiting is not None:
        raise ConflictError(
            f"Version {waiting.number} awaits approval: the plan is frozen until it is decided.",
            {"roadmap": ["Frozen while a version awaits approval."]},
        )
    return roadmap


def _check_rule(rule: str, quorum: int | None, approvers) -> None:
    if rule == Roadmap.Rule.QUORUM and not quorum:
        raise ApplicationError("Say how many approvals make a quorum.", {"quorum": ["Required."]})
    if rule == Roadmap.Rule.QUORUM and quorum > len(approvers):
        raise ApplicationError(
            "The quorum is larger than the list of approvers.",
            {"quorum": [f"At most {len(approvers)}."]},
        )


def _check_dates(start: date, end: date, end_field: str) -> None:
    if end < start:
        raise ApplicationError("Dates out of order.", {end_field: ["Not before the start."]})


def _check_budget(budget: Decimal) -> None:
    if budget < 0:
        raise ApplicationError("Money is not negative.", {"budget": ["Give 0 or more."]})


@transaction.atomic
def roadmap_create(
    *,
    actor,
    name: str,
    approvers=(),
    approval_rule: str = Roadmap.Rule.ALL,
    quorum: int | None = None,
    description: str = "",
) -> Roadmap:
    """A roadmap, with its first draft version."""
    require_lead(actor)
    if not name.strip():
        raise ApplicationError("Name the roadmap.", {"name": ["This field is required."]})
    approvers = list(approvers)
    _check_rule(approval_rule, quorum, approvers)
    roadmap = Roadmap.objects.create(
        slug=unique_slug(Roadmap, name, "roadmap"),
        name=name.strip(),
        description=description,
        approval_rule=approval_rule,
        quorum=quorum if approval_rule == Roadmap.Rule.QUORUM else None,
    )
    roadmap.approvers.set(approvers)
    RoadmapVersion.objects.create(roadmap=roadmap, number=1)
    audit_record(
        actor=actor, action="roadmap.create", instance=roadmap, after=audit_snapshot(roadmap)
    )
    return roadmap


@transaction.atomic
def roadmap_update(*, actor, roadmap: Roadmap, approvers=None, **fields: Any) -> Roadmap:
    """Name, description and the approval rule (used by versions submitted from now on)."""
    require_lead(actor)
    roadmap = Roadmap.objects.select_for_update().get(pk=roadmap.pk)
    before = audit_snapshot(roadmap)
    for name, value in fields.items():
        setattr(roadmap, name, value)
    approvers = list(roadmap.approvers.all()) if approvers is None else list(approvers)
    _check_rule(roadmap.approval_rule, roadmap.quorum, approvers)
    if roadmap.approval_rule == Roadmap.Rule.ALL:
        roadmap.quorum = None
    roadmap.save()
    roadmap.approvers.set(approvers)
    audit_record(
        actor=actor, action="roadmap.update", instance=roadmap, before=before,
        after=audit_snapshot(roadmap),
    )  # fmt: skip
    return roadmap


@transaction.atomic
def theme_create(*, actor, roadmap: Roadmap, name: str, description: str = "") -> Theme:
    require_lead(actor)
    roadmap = editable(roadmap)
    if not name.strip():
        raise ApplicationError("Name the theme.", {"name": ["This field is required."]})
    theme = Theme.objects.create(
        roadmap=roadmap,
        slug=unique_slug(Theme, name, "theme", roadmap=roadmap),
        name=name.strip(),
        description=description,
        position=roadmap.themes.count(),
    )
    audit_record(actor=actor, action="roadmap.theme", instance=theme, after=audit_snapshot(theme))
    return theme


@transaction.atomic
def initiative_create(
    *,
    actor,
    theme: Theme,
    title: str,
    starts_on: date,
    ends_on: date,
    **fields: Any,
) -> Initiative:
    """An initiative; ``fields`` may hold its links (LINKS) as well as its own fields."""
    require_lead(actor)
    editable(theme.roadmap)
    links = {name: fields.pop(name) for name in LINKS if name in fields}
    if not title.strip():
        raise ApplicationError("Name the initiative.", {"title": ["This field is required."]})
    _check_dates(starts_on, ends_on, "ends_on")
    initiative = Initiative.objects.create(
        theme=theme,
        slug=unique_slug(Initiative, title, "initiative"),
        title=title.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        **fields,
    )
    _set_links(initiative, **links)
    audit_record(
        actor=actor, action="roadmap.initiative", instance=initiative,
        after=audit_snapshot(initiative),
    )  # fmt: skip
    return initiative


# What an initiative links to, besides its own fields: given, a link replaces the old ones.
LINKS = ("teams", "depends_on", "improvement_actions", "poc_decisions", "change_requests")


def _set_links(
    initiative,
    teams=None,
    depends_on=None,
    improvement_actions=None,
    poc_decisions=None,
    change_requests=None,
) -> None:
    if teams is not None:
        initiative.teams.set(teams)
    if depends_on is not None:
        depends_on = list(depends_on)
        if any(other.pk == initiative.pk for other in depends_on):
            raise ApplicationError(
                "An initiative cannot depend on itself.", {"depends_on": ["Not itself."]}
            )
        if any(other.theme.roadmap_id != initiative.theme.roadmap_id for other in depends_on):
            raise ApplicationError(
                "Dependencies are on the same roadmap.", {"depends_on": ["Another roadmap."]}
            )
        initiative.depends_on.set(depends_on)
        _refuse_cycles(initiative)
    if improvement_actions is not None:
        initiative.improvement_actions.set(improvement_actions)
    if poc_decisions is not None:
        initiative.poc_decisions.set(poc_decisions)
    if change_requests is not None:
        initiative.change_requests.set(change_requests)


def _refuse_cycles(start: Initiative) -> None:
    seen, frontier = set(), [start.pk]
    while frontier:
        current = frontier.pop()
        for other in Initiative.depends_on.through.objects.filter(
            from_initiative_id=current
        ).values_list("to_initiative_id", flat=True):
            if other == start.pk:
                raise ApplicationError(
                    "These dependencies go round in a circle.",
                    {"depends_on": ["It would end up depending on itself."]},
                )
            if other not in seen:
                seen.add(other)
                frontier.append(other)


PLAN_FIELDS = {
    Initiative: {"title", "description", "owner", "starts_on", "ends_on", "status", "theme"},
    Deliverable: {"title", "description", "team", "starts_on", "due_on", "budget"},
}


def _apply(instance, fields: dict[str, Any]) -> None:
    unknown = sorted(fields.keys() - PLAN_FIELDS[type(instance)])
    if unknown:
        raise ApplicationError("These cannot change here.", {f: ["Read-only."] for f in unknown})
    for name, value in fields.items():
        setattr(instance, name, value)


@transaction.atomic
def initiative_update(
    *,
    actor,
    initiative: Initiative,
    **fields: Any,
) -> Initiative:
    """Fields and links (LINKS) of an initiative, in the draft."""
    require_lead(actor)
    editable(initiative.theme.roadmap)
    initiative = Initiative.objects.select_for_update().get(pk=initiative.pk)
    links = {name: fields.pop(name) for name in LINKS if name in fields}
    before, roadmap_id = audit_snapshot(initiative), initiative.theme.roadmap_id
    _apply(initiative, fields)
    if initiative.theme.roadmap_id != roadmap_id:
        raise ApplicationError("Themes are of the same roadmap.", {"theme": ["Another roadmap."]})
    _check_dates(initiative.starts_on, initiative.ends_on, "ends_on")
    initiative.save()
    _set_links(initiative, **links)
    audit_record(
        actor=actor, action="roadmap.initiative.update", instance=initiative, before=before,
        after=audit_snapshot(initiative),
    )  # fmt: skip
    return initiative


@transaction.atomic
def deliverable_create(
    *,
    actor,
    initiative: Initiative,
    title: str,
    team,
    starts_on: date,
    due_on: date,
    budget: Decimal = Decimal(0),
    services=(),
    targets: list[dict] | None = None,
    description: str = "",
) -> Deliverable:
    """A deliverable with its cost target (budget) and quality targets."""
    require_lead(actor)
    editable(initiative.theme.roadmap)
    if not title.strip():
        raise ApplicationError("Name the deliverable.", {"title": ["This field is required."]})
    _check_dates(starts_on, due_on, "due_on")
    _check_budget(budget)
    _check_services(team, services)
    deliverable = Deliverable.objects.create(
        initiative=initiative,
        slug=unique_slug(Deliverable, title, "deliverable"),
        title=title.strip(),
        description=description,
        team=team,
        starts_on=starts_on,
        due_on=due_on,
        budget=budget,
    )
    deliverable.services.set(services)
    _store_targets(deliverable, targets or [])
    audit_record(
        actor=actor, action="roadmap.deliverable", instance=deliverable,
        after=audit_snapshot(deliverable),
    )  # fmt: skip
    return deliverable


def _check_services(team, services) -> None:
    strangers = sorted(s.slug for s in services if s.team_id != team.pk)
    if strangers:
        raise ApplicationError(
            "A deliverable's services belong to its team.",
            {"services": [f"Not {team.name}'s: {', '.join(strangers)}."]},
        )


def _store_targets(deliverable: Deliverable, targets: list[dict]) -> None:
    """Replace the quality targets. Each: name, and for a measured one metric, comparison,
    threshold and window_days."""
    problems, rows = {}, []
    names = [t.get("name", "").strip() for t in targets]
    for index, target in enumerate(targets):
        name, metric = names[index], target.get("metric") or ""
        if not name:
            problems[f"targets.{index}"] = ["Name the target."]
        elif names.count(name) > 1:
            problems[f"targets.{index}"] = [f"“{name}” is given twice."]
        elif metric and metric not in QualityTarget.Metric.values:
            problems[f"targets.{index}"] = [f"Unknown metric {metric!r}."]
        elif metric and (
            target.get("comparison") not in QualityTarget.Comparison.values
            or target.get("threshold") is None
        ):
            problems[f"targets.{index}"] = ["A measured target needs a comparison and threshold."]
        elif metric and not 1 <= int(target.get("window_days") or 30) <= 365:
            problems[f"targets.{index}"] = ["The window is 1 to 365 days."]
        else:
            rows.append(
                QualityTarget(
                    deliverable=deliverable,
                    name=name,
                    metric=metric,
                    comparison=target.get("comparison") or "" if metric else "",
                    threshold=target.get("threshold") if metric else None,
                    window_days=int(target.get("window_days") or 30),
                )
            )
    if problems:
        raise ApplicationError("Check the quality targets.", problems)
    # A checked target kept under the same name keeps its reviewer's verdict.
    verdicts = {
        t.name: (t.met, t.checked_by_id, t.checked_at, t.check_note)
        for t in deliverable.targets.filter(metric="")
    }
    for row in rows:
        if not row.metric and row.name in verdicts:
            row.met, row.checked_by_id, row.checked_at, row.check_note = verdicts[row.name]
    deliverable.targets.all().delete()
    QualityTarget.objects.bulk_create(rows)


@transaction.atomic
def deliverable_update(
    *, actor, deliverable: Deliverable, services=None, targets=None, **fields: Any
) -> Deliverable:
    """The plan side of a deliverable: dates, budget, team, services, targets (leads)."""
    require_lead(actor)
    editable(deliverable.initiative.theme.roadmap)
    deliverable = Deliverable.objects.select_for_update().get(pk=deliverable.pk)
    before = audit_snapshot(deliverable)
    _apply(deliverable, fields)
    _check_dates(deliverable.starts_on, deliverable.due_on, "due_on")
    _check_budget(deliverable.budget)
    services = list(deliverable.services.all()) if services is None else list(services)
    _check_services(deliverable.team, services)
    deliverable.save()
    deliverable.services.set(services)
    if targets is not None:
        _store_targets(deliverable, targets)
    audit_record(
        actor=actor, action="roadmap.deliverable.update", instance=deliverable, before=before,
        after=audit_snapshot(deliverable),
    )  # fmt: skip
    return deliverable
