"""Writes on a deliverable's delivery: progress, actual costs, checked targets and the review
(the owner team submits, a lead accepts or returns it with comments). Not part of the plan, so
not frozen while a roadmap version awaits approval."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from portal.access import access_for, require_lead
from portal.audit import audit_record
from portal.exceptions import ApplicationError, ConflictError
from roadmap.models import CostEntry, Deliverable, DeliverableReview, QualityTarget

Status = Deliverable.Status


def works_on(actor, deliverable: Deliverable) -> bool:
    return access_for(actor).works_in(deliverable.team_id)


def _locked(deliverable: Deliverable, actor) -> Deliverable:
    deliverable = Deliverable.objects.select_for_update().get(pk=deliverable.pk)
    if not works_on(actor, deliverable):
        raise PermissionDenied("Only the owner team's members and leads update this deliverable.")
    return deliverable


@transaction.atomic
def progress_update(*, actor, deliverable: Deliverable, progress: int) -> Deliverable:
    deliverable = _locked(deliverable, actor)
    if deliverable.status == Status.ACCEPTED:
        raise ConflictError("The deliverable is accepted; its progress is final.")
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        raise ApplicationError("Progress is 0 to 100 %.", {"progress": ["Give 0 to 100."]})
    before = deliverable.progress
    deliverable.progress = progress
    deliverable.save(update_fields=["progress", "updated_at"])
    audit_record(
        actor=actor,
        action="deliverable.progress",
        instance=deliverable,
        before={"progress": before},
        after={"progress": progress},
    )
    return deliverable


@transaction.atomic
def cost_add(
    *, actor, deliverable: Deliverable, amount: Decimal, incurred_on: date, note: str = ""
) -> CostEntry:
    """An actual cost, incurred on a day that has happened."""
    deliverable = _locked(deliverable, actor)
    problems = {}
    if amount <= 0:
        problems["amount"] = ["A cost is more than 0 (correct a mistake with a note to a lead)."]
    if incurred_on > timezone.localdate():
        problems["incurred_on"] = ["Costs are recorded once incurred: not a future date."]
    if problems:
        raise ApplicationError("Check the cost.", problems)
    entry = CostEntry.objects.create(
        deliverable=deliverable,
        amount=amount,
        incurred_on=incurred_on,
        note=note.strip(),
        added_by=actor,
    )
    audit_record(
        actor=actor,
        action="deliverable.cost",
        instance=deliverable,
        after={"amount": str(amount), "incurred_on": incurred_on.isoformat(), "note": entry.note},
    )
    return entry


@transaction.atomic
def target_check(*, actor, target: QualityTarget, met: bool, note: str = "") -> QualityTarget:
    """A lead's verdict on a target checked by a reviewer."""
    require_lead(actor)
    target = QualityTarget.objects.select_for_update().get(pk=target.pk)
    if target.is_measured:
        raise ConflictError(
            "This target is measured from delivery data, not checked by hand.",
            {"met": ["Measured targets judge themselves."]},
        )
    target.met, target.check_note = met, note.strip()
    target.checked_by, target.checked_at = actor, timezone.now()
    target.save()
    audit_record(
        actor=actor,
        action="deliverable.check",
        instance=target.deliverable,
        after={"target": target.name, "met": met, "note": target.check_note},
    )
    return target


REVIEW_STEPS = {
    # step: (statuses it starts from, resulting status, leads only, needs a comment)
    "submit": ({Status.OPEN, Status.RETURNED}, Status.SUBMITTED, False, False),
    "accept": ({Status.SUBMITTED}, Status.ACCEPTED, True, False),
    "return": ({Status.SUBMITTED}, Status.RETURNED, True, True),
}


@transaction.atomic
def deliverable_review(
    *, actor, deliverable: Deliverable, step: str, comment: str = ""
) -> Deliverable:
    """submit (the owner team), accept or return (a lead, returning with comments)."""
    if step not in REVIEW_STEPS:
        raise ApplicationError(f"Unknown step {step!r}.")
    sources, target, leads_only, needs_comment = REVIEW_STEPS[step]
    if leads_only:
        require_lead(actor)
        deliverable = Deliverable.objects.select_for_update().get(pk=deliverable.pk)
    else:
        deliverable = _locked(deliverable, actor)
    if deliverable.status not in sources:
        raise ConflictError(
            f"A deliverable that is {deliverable.get_status_display().lower()} cannot be "
            f"{'submitted' if step == 'submit' else step + 'ed'}.",
            {"status": [f"Now {deliverable.status}."]},
        )
    if needs_comment and not comment.strip():
        raise ApplicationError("Say what is missing.", {"comment": ["A comment is needed."]})
    deliverable.status = target
    if target == Status.ACCEPTED:
        deliverable.progress = 100
    deliverable.save(update_fields=["status", "progress", "updated_at"])
    DeliverableReview.objects.create(
        deliverable=deliverable,
        step={"submit": "submitted", "accept": "accepted", "return": "returned"}[step],
        comment=comment.strip(),
        by=actor,
    )
    audit_record(
        actor=actor,
        action=f"deliverable.{step}",
        instance=deliverable,
        after={"status": target, "comment": comment.strip()},
    )
    return deliverable
