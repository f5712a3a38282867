"""Writes of the training app: skills, the skills matrix, plans and their items, and needs
accepted into a plan. Leads manage; people rate themselves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from portal.access import access_for, require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from portal.models import Role, Team
from training.models import Skill, SkillRating, TargetProficiency, TrainingItem, TrainingPlan


def _clean(instance) -> None:
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ApplicationError("Check the fields.", error.message_dict) from None


def _level(value, field: str = "level") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value not in range(5):
        raise ApplicationError("Proficiency goes from 0 to 4.", {field: ["Choose 0 to 4."]})
    return value


@transaction.atomic
def skill_create(*, actor, **fields: Any) -> Skill:
    require_lead(actor)
    skill = Skill(**fields)
    _clean(skill)
    if Skill.objects.filter(slug=skill.slug).exists():
        raise ConflictError("That slug is taken.", {"slug": ["A skill has this slug already."]})
    skill.save()
    audit_record(actor=actor, action="skill.create", instance=skill, after=audit_snapshot(skill))
    return skill


@transaction.atomic
def skill_targets_set(*, actor, skill: Skill, levels: dict[str, int | None]) -> None:
    """The proficiency each role should reach in ``skill`` (None: no target for that role)."""
    require_lead(actor)
    unknown = sorted(levels.keys() - set(Role.values))
    if unknown:
        raise ApplicationError("Unknown roles.", {"targets": [", ".join(unknown)]})
    for role, level in levels.items():
        if level is None:
            TargetProficiency.objects.filter(skill=skill, role=role).delete()
        else:
            TargetProficiency.objects.update_or_create(
                skill=skill, role=role, defaults={"level": _level(level, role)}
            )
    audit_record(actor=actor, action="skill.targets", instance=skill, after={"targets": levels})


@transaction.atomic
def skill_rate_self(*, actor, skill: Skill, level: int) -> SkillRating:
    """Your own proficiency; a new self-rating clears an older confirmation that differs."""
    rating, _created = SkillRating.objects.select_for_update().get_or_create(
        user=actor, skill=skill, defaults={"self_level": _level(level)}
    )
    rating.self_level = _level(level)
    if rating.confirmed_level is not None and rating.confirmed_level != rating.self_level:
        rating.confirmed_level, rating.confirmed_by = None, None
    rating.save()
    audit_record(actor=actor, action="skill_rating.self", instance=rating)
    return rating


@transaction.atomic
def skill_confirm(*, actor, rating: SkillRating, level: int) -> SkillRating:
    require_lead(actor)
    rating = SkillRating.objects.select_for_update().get(pk=rating.pk)
    rating.confirmed_level, rating.confirmed_by = _level(level), actor
    rating.save()
    audit_record(actor=actor, action="skill_rating.confirm", instance=rating)
    return rating


@transaction.atomic
def plan_create(*, actor, team: Team, period: str, budget: Decimal) -> TrainingPlan:
    require_lead(actor)
    plan = TrainingPlan(
        team=team, period=period, budget=budget, slug=f"{team.slug}-{period.lower()}"
    )
    _clean(plan)
    if budget < 0:
        raise ApplicationError("A budget is not negative.", {"budget": ["Give 0 or more."]})
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError:
        raise ConflictError(
            "This team has a plan for that period.",
            {"period": [f"{team.name} has a plan for {period}; add to it instead."]},
        ) from None
    audit_record(actor=actor, action="training_plan.create", instance=plan)
    return plan


@transaction.atomic
def item_add(*, actor, plan: TrainingPlan, attendees=(), **fields: Any) -> TrainingItem:
    require_lead(actor)
    item = TrainingItem(plan=plan, **fields)
    _clean(item)
    if item.starts_on and item.ends_on and item.ends_on < item.starts_on:
        raise ApplicationError("It ends before it starts.", {"ends_on": ["Not before the start."]})
    if item.cost < 0:
        raise ApplicationError("A cost is not negative.", {"cost": ["Give 0 or more."]})
    item.save()
    item.attendees.set(attendees)
    audit_record(actor=actor, action="training_item.add", instance=item, after=audit_snapshot(item))
    return item


@transaction.atomic
def item_update(*, actor, item: TrainingItem, status: str, evidence: str = "") -> TrainingItem:
    """Leads, and the item's attendees, move it along; done needs its evidence."""
    item = TrainingItem.objects.select_for_update().get(pk=item.pk)
    if not (access_for(actor).is_lead or item.attendees.filter(pk=actor.pk).exists()):
        raise PermissionDenied("Only leads and the attendees update an item.")
    if status not in TrainingItem.Status.values:
        raise ApplicationError("Unknown status.", {"status": ["Choose a listed status."]})
    if status == TrainingItem.Status.DONE and not (evidence or item.evidence):
        raise ApplicationError(
            "Say how it was completed.", {"evidence": ["A done item needs evidence (a link)."]}
        )
    before = audit_snapshot(item)
    item.status, item.evidence = status, evidence or item.evidence
    _clean(item)
    item.save()
    audit_record(
        actor=actor,
        action="training_item.update",
        instance=item,
        before=before,
        after=audit_snapshot(item),
    )
    return item
