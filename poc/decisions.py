"""The decision on a POC in review: the outcome, the tool's place on the radar, and the
follow-up work it asks for. The POC row is locked first, so two decisions racing on the same POC
cannot both count (the second finds it decided: 409)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from maturity.models import quarter_of
from poc import radar_services
from poc.models import Decision, FollowUp, Outcome, Poc, Ring
from poc.services import Status, locked
from portal.access import require_lead
from portal.audit import audit_record
from portal.exceptions import ApplicationError, ConflictError
from training import services as training_services
from training.models import TrainingItem, TrainingPlan


@transaction.atomic
def poc_decide(
    *,
    actor,
    poc: Poc,
    outcome: str,
    rationale: str,
    conditions: str = "",
    review_by: date | None = None,
    follow_ups: list[tuple[str, str]] = (),
) -> Decision:
    """A lead decides a POC in review: the decision, the tool's place on the radar (reject
    moves a tool already there to hold), and the follow-up work asked for."""
    require_lead(actor)
    poc = locked(poc)
    if poc.status != Status.IN_REVIEW:
        raise ConflictError(
            f"Only a POC in review is decided; this one is {poc.get_status_display().lower()}.",
            {"status": [f"Now {poc.status}."]},
        )
    if outcome not in Outcome.values:
        raise ApplicationError(
            "Unknown outcome.", {"outcome": [f"One of {', '.join(Outcome.values)}."]}
        )
    if not rationale.strip():
        raise ApplicationError("Say why.", {"rationale": ["A decision needs its rationale."]})
    if review_by is not None and review_by < timezone.localdate():
        raise ApplicationError("The review date is past.", {"review_by": ["Give a future date."]})
    bad_kinds = sorted({kind for kind, _title in follow_ups} - set(FollowUp.Kind.values))
    if bad_kinds:
        raise ApplicationError("Unknown follow-up kinds.", {"follow_ups": [", ".join(bad_kinds)]})
    decision = Decision.objects.create(
        poc=poc,
        outcome=outcome,
        rationale=rationale.strip(),
        conditions=conditions.strip(),
        review_by=review_by,
        decided_by=actor,
    )
    poc.status = Status.DECIDED
    reason = f"POC {poc.title}: {outcome}. {decision.rationale}"
    if outcome != Outcome.REJECT:
        poc.radar_entry = radar_services.place(actor=actor, poc=poc, ring=outcome, reason=reason)
    elif poc.radar_entry or radar_services.entry_for(poc):
        poc.radar_entry = radar_services.place(actor=actor, poc=poc, ring=Ring.HOLD, reason=reason)
    poc.save(update_fields=["status", "radar_entry", "updated_at"])
    for kind, title in follow_ups:
        _follow_up(actor, poc, kind, title)
    audit_record(
        actor=actor,
        action="poc.decide",
        instance=poc,
        before={"status": Status.IN_REVIEW},
        after={"status": poc.status, "outcome": outcome, "comment": decision.rationale},
    )
    return decision


def _follow_up(actor, poc: Poc, kind: str, title: str) -> FollowUp:
    """A training follow-up joins the team's plan for this quarter when there is one."""
    if not title.strip():
        raise ApplicationError("Name the follow-up.", {"follow_ups": ["Each needs a title."]})
    follow_up = FollowUp(poc=poc, kind=kind, title=title.strip())
    if kind == FollowUp.Kind.TRAINING:
        plan = TrainingPlan.objects.filter(
            team=poc.team, period=quarter_of(timezone.localdate())
        ).first()
        if plan is not None:
            follow_up.training_item = training_services.item_add(
                actor=actor,
                plan=plan,
                kind=TrainingItem.Kind.WORKSHOP,
                title=follow_up.title,
                reason=f"POC decision: {poc.title}",
            )
    follow_up.save()
    return follow_up
