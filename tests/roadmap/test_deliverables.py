"""A deliverable's delivery: progress, costs, target checks and the review, refused cleanly."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from portal.exceptions import ApplicationError, ConflictError
from roadmap import deliverables, services
from roadmap.models import CostEntry, DeliverableReview


def test_the_review_cycle(org, deliverable):
    deliverables.deliverable_review(actor=org.users["mo"], deliverable=deliverable, step="submit")
    with pytest.raises(PermissionDenied):
        deliverables.deliverable_review(
            actor=org.users["mo"], deliverable=deliverable, step="accept"
        )
    with pytest.raises(ApplicationError, match="Say what is missing"):
        deliverables.deliverable_review(
            actor=org.users["lee"], deliverable=deliverable, step="return"
        )
    deliverables.deliverable_review(
        actor=org.users["lee"], deliverable=deliverable, step="return", comment="No runbook"
    )
    deliverables.deliverable_review(actor=org.users["mo"], deliverable=deliverable, step="submit")
    accepted = deliverables.deliverable_review(
        actor=org.users["lee"], deliverable=deliverable, step="accept"
    )
    assert (accepted.status, accepted.progress) == ("accepted", 100)
    with pytest.raises(ConflictError, match="accepted cannot be submitted"):
        deliverables.deliverable_review(
            actor=org.users["mo"], deliverable=deliverable, step="submit"
        )
    steps = list(DeliverableReview.objects.values_list("step", "by__username", "comment"))
    assert steps == [
        ("submitted", "mo", ""),
        ("returned", "lee", "No runbook"),
        ("submitted", "mo", ""),
        ("accepted", "lee", ""),
    ]


def test_costs_are_positive_and_not_in_the_future(org, deliverable):
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(ApplicationError) as refused:
        deliverables.cost_add(
            actor=org.users["mo"], deliverable=deliverable, amount=Decimal(0), incurred_on=tomorrow
        )
    assert set(refused.value.extra) == {"amount", "incurred_on"}
    with pytest.raises(PermissionDenied):
        deliverables.cost_add(
            actor=org.users["kim"], deliverable=deliverable, amount=Decimal(5),
            incurred_on=date.today(),
        )  # fmt: skip
    assert not CostEntry.objects.exists()


@pytest.mark.parametrize("progress", [-1, 101, True, "50"])
def test_progress_is_a_whole_percentage(org, deliverable, progress):
    with pytest.raises(ApplicationError):
        deliverables.progress_update(
            actor=org.users["mo"], deliverable=deliverable, progress=progress
        )


def test_measured_targets_are_not_checked_by_hand(org, deliverable):
    measured = deliverable.targets.get(name="Change failure rate")
    with pytest.raises(ConflictError, match="measured"):
        deliverables.target_check(actor=org.users["lee"], target=measured, met=True)
    checked = deliverable.targets.get(name="Runbook reviewed")
    with pytest.raises(PermissionDenied):
        deliverables.target_check(actor=org.users["mo"], target=checked, met=True)


def test_replacing_targets_keeps_the_verdict_of_a_checked_target_kept_by_name(org, deliverable):
    runbook = deliverable.targets.get(name="Runbook reviewed")
    deliverables.target_check(actor=org.users["lee"], target=runbook, met=True, note="Done")
    services.deliverable_update(
        actor=org.users["lee"],
        deliverable=deliverable,
        targets=[{"name": "Runbook reviewed"}, {"name": "Load test signed off"}],
    )
    kept = {t.name: (t.met, t.check_note) for t in deliverable.targets.all()}
    assert kept == {"Runbook reviewed": (True, "Done"), "Load test signed off": (None, "")}


def test_a_deliverable_with_bad_targets_is_not_half_saved(org, initiative):
    with pytest.raises(ApplicationError, match="Check the quality targets"):
        services.deliverable_create(
            actor=org.users["lee"], initiative=initiative, title="Half", team=org.checkout,
            starts_on=date(2027, 1, 1), due_on=date(2027, 2, 1),
            targets=[{"name": "CFR", "metric": "change_failure_rate"}],
        )  # fmt: skip
    assert not initiative.deliverables.exists()


def test_dependencies_cannot_go_round_in_a_circle(org, theme, initiative):
    later = services.initiative_create(
        actor=org.users["lee"], theme=theme, title="Later", starts_on=date(2027, 7, 1),
        ends_on=date(2027, 9, 30), depends_on=[initiative],
    )  # fmt: skip
    with pytest.raises(ApplicationError, match="circle"):
        services.initiative_update(
            actor=org.users["lee"], initiative=initiative, depends_on=[later]
        )
    assert not initiative.depends_on.exists()
