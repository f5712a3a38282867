"""Reads for training: plan progress, and the training needs derived from maturity gaps and
the skills matrix (who needs what, and why)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model

from maturity.models import MaturityModel
from maturity.selectors import gaps
from portal.models import Membership, Team
from training.models import PROFICIENCY_NAMES, Skill, SkillRating, TargetProficiency, TrainingPlan

User = get_user_model()


@dataclass
class Need:
    """A person (or the whole team, ``user`` None) who should learn ``skill``, and why."""

    skill: Skill
    user: User | None
    reasons: list[str] = field(default_factory=list)


def team_members(team: Team) -> dict[User, str]:
    """The team's people and their role in it."""
    return {
        m.user: m.role
        for m in Membership.objects.filter(team=team)
        .select_related("user")
        .order_by("user__username")
    }


def training_needs(team: Team) -> list[Need]:
    """Needs from the skills matrix (a member below the target proficiency of their role) and
    from maturity gaps (a capability below target: its skills, for whoever is below the target
    or has not rated themselves)."""
    members = team_members(team)
    levels = {
        (r.user_id, r.skill_id): r.level
        for r in SkillRating.objects.filter(user__in=members.keys())
    }
    targets = defaultdict(dict)  # skill id -> role -> level
    for target in TargetProficiency.objects.all():
        targets[target.skill_id][target.role] = target.level
    needs: dict[tuple[int, int | None], Need] = {}

    def need(skill, user, reason):
        found = needs.setdefault((skill.pk, user.pk if user else None), Need(skill, user))
        if reason not in found.reasons:
            found.reasons.append(reason)

    skills = {s.pk: s for s in Skill.objects.all()}
    for skill_id, by_role in targets.items():
        for user, role in members.items():
            target = by_role.get(role)
            level = levels.get((user.pk, skill_id), 0)
            if target is not None and level < target:
                need(
                    skills[skill_id],
                    user,
                    f"{PROFICIENCY_NAMES[level]} in {skills[skill_id].name}, "
                    f"the {role} target is {PROFICIENCY_NAMES[target]}",
                )

    model = MaturityModel.objects.order_by("slug", "-version").first()
    if model is not None:
        by_capability = defaultdict(list)
        for skill in skills.values():
            if skill.capability_key:
                by_capability[skill.capability_key].append(skill)
        for gap in gaps(Team.objects.filter(pk=team.pk), model):
            reason = (
                f"maturity gap: {gap.capability.name} at {gap.level}, "
                f"target {gap.target} ({gap.assessment.period})"
            )
            for skill in by_capability.get(gap.capability.key, []):
                need(skill, None, reason)
    return sorted(
        needs.values(), key=lambda n: (n.skill.name, n.user is not None, n.user and n.user.username)
    )


@dataclass(frozen=True)
class Progress:
    items: int
    done: int
    spent: Decimal
    budget: Decimal

    @property
    def share_done(self) -> float | None:
        return self.done / self.items if self.items else None

    @property
    def over_budget(self) -> bool:
        return self.spent > self.budget


def plan_progress(plan: TrainingPlan) -> Progress:
    """Items and spend, cancelled items left out."""
    items = [i for i in plan.items.all() if i.status != i.Status.CANCELLED]
    return Progress(
        items=len(items),
        done=sum(1 for i in items if i.status == i.Status.DONE),
        spent=sum((i.cost for i in items), Decimal(0)),
        budget=plan.budget,
    )
