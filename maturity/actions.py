"""Writes of the maturity app's targets and improvement actions: the levels a lead aims each
capability at, and the actions a team takes to close a gap."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from maturity.models import Assessment, ImprovementAction, MaturityModel, TargetLevel
from maturity.services import can_fill
from portal.access import require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError
from portal.models import Team


@transaction.atomic
def targets_set(*, actor, model: MaturityModel, levels: dict[str, int | None]) -> None:
    """The level leads aim for per capability key (None clears it), for every version."""
    require_lead(actor)
    keys = set(model.capabilities.values_list("key", flat=True))
    unknown = sorted(levels.keys() - keys)
    if unknown:
        raise ApplicationError("Unknown capabilities.", {"targets": [", ".join(unknown)]})
    for key, level in levels.items():
        if level is None:
            TargetLevel.objects.filter(model_slug=model.slug, capability_key=key).delete()
        elif level not in range(1, 6):
            raise ApplicationError("Levels go from 1 to 5.", {key: ["Choose a level from 1 to 5."]})
        else:
            TargetLevel.objects.update_or_create(
                model_slug=model.slug, capability_key=key, defaults={"level": level}
            )
    audit_record(
        actor=actor,
        action="maturity_targets.set",
        instance=model,
        after={"targets": {k: v for k, v in levels.items()}},
    )


@transaction.atomic
def action_create(
    *,
    actor,
    team: Team,
    capability_key: str,
    title: str,
    owner=None,
    due_date=None,
    assessment: Assessment | None = None,
) -> ImprovementAction:
    """An improvement action for a gap; the team's members and leads plan them."""
    if not can_fill(actor, team):
        raise PermissionDenied("Only the team's members and leads plan its actions.")
    if not title.strip():
        raise ApplicationError("Say what to do.", {"title": ["This field is required."]})
    if owner is not None and not can_fill(owner, team):
        raise ApplicationError(
            "The owner works elsewhere.", {"owner": ["Choose a member or lead of the team."]}
        )
    action = ImprovementAction.objects.create(
        team=team,
        capability_key=capability_key,
        title=title.strip(),
        owner=owner,
        due_date=due_date,
        assessment=assessment,
    )
    audit_record(actor=actor, action="improvement_action.create", instance=action)
    return action


@transaction.atomic
def action_set_status(*, actor, action: ImprovementAction, status: str) -> ImprovementAction:
    """Mark an improvement action done, or open it again."""
    action = ImprovementAction.objects.select_for_update().get(pk=action.pk)
    if not can_fill(actor, action.team):
        raise PermissionDenied("Only the team's members and leads update its actions.")
    if status not in ImprovementAction.Status.values:
        raise ApplicationError("Unknown status.", {"status": ["Choose open or done."]})
    before = audit_snapshot(action)
    action.status = status
    action.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="improvement_action.status",
        instance=action,
        before=before,
        after=audit_snapshot(action),
    )
    return action
