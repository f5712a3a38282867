"""Writes of POC reviews: propose, move through the lifecycle, criteria, evaluations, evidence
(the decision is in poc.decisions).

Every transition locks the POC row first: two steps racing on one POC cannot both count. The
audit log keeps each step with its comment; the POC page reads it back as the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from poc.models import (
    Criterion,
    Evaluation,
    Evidence,
    Poc,
    Score,
)
from portal.access import access_for, require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from portal.uploads import Upload

DEFAULT_CRITERIA = [
    ("fit", "Fit to the problem", 3),
    ("security", "Security and compliance", 2),
    ("cost", "Cost", 1),
    ("operability", "Operability", 2),
    ("integration", "Integration with our pipelines", 2),
    ("skills", "Team skills", 1),
]

Status = Poc.Status


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    leads_only: bool
    done: str  # how the refusal names it: "cannot be <done>"
    needs_comment: bool = False


TRANSITIONS = {
    "approve": Transition(frozenset({Status.PROPOSED}), Status.APPROVED, True, "approved"),
    "start": Transition(frozenset({Status.APPROVED}), Status.RUNNING, False, "started"),
    "review": Transition(frozenset({Status.RUNNING}), Status.IN_REVIEW, False, "sent for review"),
    "withdraw": Transition(
        frozenset({Status.PROPOSED, Status.APPROVED, Status.RUNNING, Status.IN_REVIEW}),
        Status.WITHDRAWN,
        False,
        "withdrawn",
        needs_comment=True,
    ),
}


def works_on(actor, poc: Poc) -> bool:
    """Leads, and the members of the POC's team, run it."""
    return access_for(actor).works_in(poc.team_id)


def locked(poc: Poc) -> Poc:
    return Poc.objects.select_for_update().get(pk=poc.pk)


def _unique_slug(title: str) -> str:
    base = slugify(title)[:100] or "poc"
    slug, n = base, 2
    while Poc.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_dates_and_money(starts_on: date, ends_on: date, budget: Decimal, cost: Decimal) -> None:
    if ends_on < starts_on:
        raise ApplicationError(
            "The time box ends before it starts.", {"ends_on": ["Not before the start."]}
        )
    for field, value in (("budget", budget), ("actual_cost", cost)):
        if value < 0:
            raise ApplicationError("Money is not negative.", {field: ["Give 0 or more."]})


def _check_evaluators(poc: Poc, evaluators, team_ids: set[int]) -> None:
    """Evaluators work in one of the POC's teams (its own, or the teams in its scope), or lead."""
    strangers = [
        u.username for u in evaluators if not any(access_for(u).works_in(t) for t in team_ids)
    ]
    if strangers:
        raise ApplicationError(
            "Evaluators work in the POC's teams (or lead).",
            {
                "evaluators": [
                    f"Not in {poc.team.name} or its scope: {', '.join(sorted(strangers))}."
                ]
            },
        )


@transaction.atomic
def poc_propose(
    *,
    actor,
    team,
    title: str,
    tool: str,
    quadrant,
    problem: str,
    starts_on: date,
    ends_on: date,
    owner=None,
    evaluators=(),
    scope_teams=(),
    scope_services=(),
    criteria: list[tuple[str, str, Any]] | None = None,
    budget: Decimal = Decimal(0),
    **fields: Any,
) -> Poc:
    """A team proposes a POC; it starts with the default criteria unless others are given."""
    if not access_for(actor).works_in(team.pk):
        raise PermissionDenied("Only the team's members and leads propose its POCs.")
    owner = owner or actor
    _check_dates_and_money(starts_on, ends_on, budget, Decimal(0))
    poc = Poc(
        slug=_unique_slug(title),
        title=title.strip(),
        tool=tool.strip(),
        quadrant=quadrant,
        problem=problem.strip(),
        team=team,
        starts_on=starts_on,
        ends_on=ends_on,
        budget=budget,
        owner=owner,
        **fields,
    )
    if not poc.title or not poc.tool or not poc.problem:
        missing = [f for f in ("title", "tool", "problem") if not getattr(poc, f)]
        raise ApplicationError(
            "Say what, with what, and why.", {f: ["This field is required."] for f in missing}
        )
    _check_evaluators(poc, [owner, *evaluators], {team.pk, *(t.pk for t in scope_teams)})
    poc.save()
    poc.evaluators.set(evaluators)
    poc.scope_teams.set(scope_teams)
    poc.scope_services.set(scope_services)
    _store_criteria(poc, criteria or DEFAULT_CRITERIA)
    audit_record(actor=actor, action="poc.propose", instance=poc, after=audit_snapshot(poc))
    return poc


def _store_criteria(poc: Poc, criteria) -> None:
    if not criteria:
        raise ApplicationError("Give at least one criterion.", {"criteria": ["None given."]})
    keys = [key for key, _name, _weight in criteria]
    if len(set(keys)) != len(keys):
        raise ApplicationError("Criteria keys repeat.", {"criteria": ["Each key once."]})
    problems = {}
    for index, (key, name, weight) in enumerate(criteria):
        if not key or not name:
            problems[f"criteria.{index}"] = ["Give a key and a name."]
        elif not isinstance(weight, (int, Decimal)) or isinstance(weight, bool) or weight <= 0:
            problems[f"criteria.{index}"] = [f"The weight of {name} must be a positive number."]
    if problems:
        raise ApplicationError("Check the criteria.", problems)
    Criterion.objects.bulk_create(
        Criterion(poc=poc, key=key, name=name, weight=Decimal(weight), position=index)
        for index, (key, name, weight) in enumerate(criteria)
    )


@transaction.atomic
def criteria_set(*, actor, poc: Poc, criteria: list[tuple[str, str, Any]]) -> Poc:
    """Replace the criteria and weights, while nobody has scored yet."""
    poc = locked(poc)
    if not works_on(actor, poc):
        raise PermissionDenied("Only the team's members and leads edit its criteria.")
    if poc.status in {Status.DECIDED, Status.WITHDRAWN}:
        raise ConflictError(f"The POC is {poc.get_status_display().lower()}.")
    if poc.evaluations.exists():
        raise ConflictError(
            "Evaluators have scored already.",
            {"criteria": ["Criteria are fixed once the first evaluation is in."]},
        )
    before = _criteria_for_audit(poc)
    poc.criteria.all().delete()
    _store_criteria(poc, criteria)
    audit_record(
        actor=actor,
        action="poc.criteria",
        instance=poc,
        before={"criteria": before},
        after={"criteria": _criteria_for_audit(poc)},
    )
    return poc


def _criteria_for_audit(poc: Poc) -> list[dict]:
    # Weights are Decimals, which the audit's JSON columns cannot store as they are.
    rows = poc.criteria.values("key", "name", "weight")
    return [{**row, "weight": str(row["weight"])} for row in rows]


@transaction.atomic
def poc_transition(*, actor, poc: Poc, action: str, comment: str = "") -> Poc:
    """approve (leads), start, review (send for review), withdraw (with a reason)."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ApplicationError(f"Unknown action {action!r}.")
    poc = locked(poc)
    if transition.leads_only:
        require_lead(actor)
    elif not works_on(actor, poc):
        raise PermissionDenied("Only the team's members and leads move its POC along.")
    if poc.status not in transition.sources:
        raise ConflictError(
            f"A POC that is {poc.get_status_display().lower()} cannot be {transition.done}.",
            {
                "status": [
                    f"Now {poc.status}; {action} needs {' or '.join(sorted(transition.sources))}."
                ]
            },
        )
    if transition.needs_comment and not comment.strip():
        raise ApplicationError("Say why.", {"comment": ["A reason is needed."]})
    before = poc.status
    poc.status = transition.target
    poc.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action=f"poc.{action}",
        instance=poc,
        before={"status": before},
        after={"status": poc.status, "comment": comment.strip()},
    )
    return poc


@transaction.atomic
def poc_update(*, actor, poc: Poc, evaluators=None, **fields: Any) -> Poc:
    """Actual cost, the time box, hypothesis and the evaluators, until the POC is decided."""
    poc = locked(poc)
    if not works_on(actor, poc):
        raise PermissionDenied("Only the team's members and leads edit its POC.")
    if poc.status in {Status.DECIDED, Status.WITHDRAWN}:
        raise ConflictError(f"The POC is {poc.get_status_display().lower()}.")
    allowed = {"actual_cost", "ends_on", "hypothesis", "success_criteria", "budget"}
    unknown = sorted(fields.keys() - allowed)
    if unknown:
        raise ApplicationError("These cannot change.", {name: ["Read-only."] for name in unknown})
    before = audit_snapshot(poc)
    for name, value in fields.items():
        setattr(poc, name, value)
    _check_dates_and_money(poc.starts_on, poc.ends_on, poc.budget, poc.actual_cost)
    if evaluators is not None:
        team_ids = {poc.team_id, *poc.scope_teams.values_list("pk", flat=True)}
        _check_evaluators(poc, evaluators, team_ids)
        poc.evaluators.set(evaluators)
    poc.save()
    audit_record(
        actor=actor, action="poc.update", instance=poc, before=before, after=audit_snapshot(poc)
    )
    return poc


@transaction.atomic
def evaluation_submit(
    *, actor, poc: Poc, scores: dict[str, tuple[int, str]], summary: str = ""
) -> Evaluation:
    """One evaluator's scores, 1-5 with a note, for every criterion; once per evaluator."""
    poc = locked(poc)
    if not poc.evaluators.filter(pk=actor.pk).exists():
        raise PermissionDenied("Only the POC's evaluators score it.")
    if poc.status not in {Status.RUNNING, Status.IN_REVIEW}:
        state = poc.get_status_display().lower()
        raise ConflictError(f"Scores are given while the POC runs or is in review; it is {state}.")
    criteria = {c.key: c for c in poc.criteria.all()}
    problems = {}
    for key in sorted(scores.keys() - criteria.keys()):
        problems[key] = ["Not a criterion of this POC."]
    for key in criteria.keys() - scores.keys():
        problems[key] = ["Score every criterion."]
    for key, (score, _note) in scores.items():
        if key in criteria and (
            not isinstance(score, int) or isinstance(score, bool) or score not in range(1, 6)
        ):
            problems[key] = ["Scores go from 1 to 5."]
    if problems:
        raise ApplicationError("Check the scores.", problems)
    try:
        with transaction.atomic():
            evaluation = Evaluation.objects.create(
                poc=poc, evaluator=actor, summary=summary.strip()
            )
    except IntegrityError:
        raise ConflictError(
            "You have scored this POC already.", {"evaluator": ["One evaluation per evaluator."]}
        ) from None
    Score.objects.bulk_create(
        Score(evaluation=evaluation, criterion=criteria[key], score=score, note=note.strip())
        for key, (score, note) in scores.items()
    )
    audit_record(
        actor=actor,
        action="poc.evaluate",
        instance=poc,
        after={"scores": {key: score for key, (score, _note) in scores.items()}},
    )
    return evaluation


@transaction.atomic
def evidence_add(
    *,
    actor,
    poc: Poc,
    title: str,
    url: str = "",
    measurement: str = "",
    upload: Upload | None = None,
) -> Evidence:
    """A link, a measured result or a file backing the evaluation."""
    poc = locked(poc)
    if not (works_on(actor, poc) or poc.evaluators.filter(pk=actor.pk).exists()):
        raise PermissionDenied("Only the team, its evaluators and leads add evidence.")
    if poc.status == Status.WITHDRAWN:
        raise ConflictError("The POC is withdrawn.")
    if not title.strip():
        raise ApplicationError("Name the evidence.", {"title": ["This field is required."]})
    if not (url or measurement or upload):
        raise ApplicationError(
            "Give a link, a measured result or a file.",
            {"url": ["Give a link, a measured result or a file."]},
        )
    evidence = Evidence(
        poc=poc, title=title.strip(), url=url, measurement=measurement.strip(), added_by=actor
    )
    if upload is not None:
        evidence.file_name, evidence.file_size = upload.name, len(upload.data)
        evidence.file_sha256, evidence.file_data = upload.sha256, upload.data
    evidence.save()
    audit_record(
        actor=actor,
        action="poc.evidence",
        instance=poc,
        after={
            "title": evidence.title,
            "url": url,
            "measurement": evidence.measurement,
            "file": evidence.file_name,
        },
    )
    return evidence
