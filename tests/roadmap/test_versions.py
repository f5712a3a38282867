"""Roadmap versions: submit freezes the plan; approval rules (all, quorum); one request for
changes sends a version back; decisions are counted one at a time under a lock."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from portal.exceptions import ApplicationError, ConflictError
from roadmap import services, versions
from roadmap.models import Roadmap, RoadmapVersion, VersionDecision
from roadmap.selectors import awaiting_decision, changes_of, draft_of

Status = RoadmapVersion.Status


def submit(org, roadmap) -> RoadmapVersion:
    return versions.version_submit(actor=org.users["lee"], version=draft_of(roadmap))


def test_all_named_approvers_must_approve(org, sue, roadmap, deliverable):
    version = submit(org, roadmap)
    assert version.snapshot["deliverables"][0]["budget"] == "10000.00"
    versions.version_decide(actor=org.users["sam"], version=version, kind="approve")
    version.refresh_from_db()
    assert version.status == Status.SUBMITTED  # 1 of 2
    assert list(awaiting_decision(sue)) == [version]
    assert list(awaiting_decision(org.users["sam"])) == []
    versions.version_decide(
        actor=sue, version=version, kind="approve_with_comments", comment="Watch the budget"
    )
    version.refresh_from_db()
    assert version.status == Status.APPROVED and version.decided_at is not None
    assert draft_of(roadmap).number == version.number + 1
    assert [(d.decider.username, d.role, d.kind) for d in version.decisions.all()] == [
        ("sam", "stakeholder", "approve"),
        ("sue", "stakeholder", "approve_with_comments"),
    ]


def test_a_quorum_decides_with_fewer_approvals(org, sue, roadmap):
    services.roadmap_update(
        actor=org.users["lee"], roadmap=roadmap, approval_rule=Roadmap.Rule.QUORUM, quorum=1
    )
    version = submit(org, roadmap)
    versions.version_decide(actor=sue, version=version, kind="approve")
    version.refresh_from_db()
    assert version.status == Status.APPROVED
    with pytest.raises(ConflictError, match="decided already"):
        versions.version_decide(actor=org.users["sam"], version=version, kind="approve")


def test_a_quorum_larger_than_the_approvers_is_refused(org, roadmap):
    with pytest.raises(ApplicationError) as refused:
        services.roadmap_update(
            actor=org.users["lee"], roadmap=roadmap, approval_rule="quorum", quorum=3
        )
    assert refused.value.extra == {"quorum": ["At most 2."]}
    roadmap.refresh_from_db()
    assert roadmap.approval_rule == "all"


def test_changing_the_rule_does_not_change_a_version_already_submitted(org, sue, roadmap):
    version = submit(org, roadmap)
    services.roadmap_update(
        actor=org.users["lee"], roadmap=roadmap, approval_rule="quorum", quorum=1
    )
    versions.version_decide(actor=sue, version=version, kind="approve")
    version.refresh_from_db()
    assert version.status == Status.SUBMITTED  # still needs both, as when submitted


def test_a_request_for_changes_sends_the_version_back_and_opens_a_draft(org, roadmap, theme):
    version = submit(org, roadmap)
    with pytest.raises(ConflictError, match="frozen"):
        services.theme_create(actor=org.users["lee"], roadmap=roadmap, name="Too late")
    with pytest.raises(ApplicationError, match="Say what you would change"):
        versions.version_decide(actor=org.users["sam"], version=version, kind="request_changes")
    versions.version_decide(
        actor=org.users["sam"], version=version, kind="request_changes", comment="Too much"
    )
    version.refresh_from_db()
    assert version.status == Status.CHANGES_REQUESTED
    services.theme_create(actor=org.users["lee"], roadmap=roadmap, name="Now it opens")
    assert roadmap.themes.count() == 2


def test_refusals(org, sue, roadmap):
    draft = draft_of(roadmap)
    with pytest.raises(ConflictError, match="submit it first"):
        versions.version_decide(actor=org.users["sam"], version=draft, kind="approve")
    version = submit(org, roadmap)
    with pytest.raises(ConflictError, match="only the draft is submitted"):
        versions.version_submit(actor=org.users["lee"], version=version)
    with pytest.raises(PermissionDenied):
        versions.version_decide(actor=org.users["lee"], version=version, kind="approve")
    with pytest.raises(PermissionDenied):
        versions.version_submit(actor=org.users["sam"], version=draft_of(roadmap) or version)
    versions.version_decide(actor=org.users["sam"], version=version, kind="approve")
    with pytest.raises(ConflictError, match="already"):
        versions.version_decide(actor=org.users["sam"], version=version, kind="approve")
    assert VersionDecision.objects.count() == 1


def test_nobody_to_approve_is_refused_at_submission(org):
    roadmap = services.roadmap_create(actor=org.users["lee"], name="Orphan")
    with pytest.raises(ApplicationError, match="Name the stakeholders"):
        submit(org, roadmap)
    assert draft_of(roadmap).status == Status.DRAFT


def test_the_diff_against_the_previous_approved_version(org, sue, roadmap, initiative, deliverable):
    first = submit(org, roadmap)
    for user in (org.users["sam"], sue):
        versions.version_decide(actor=user, version=first, kind="approve")
    services.initiative_update(
        actor=org.users["lee"], initiative=initiative, ends_on=date(2027, 9, 30)
    )
    services.deliverable_update(actor=org.users["lee"], deliverable=deliverable, budget=12000)
    second = submit(org, roadmap)
    previous, changes = changes_of(second)
    assert previous == first
    assert [str(c) for c in changes] == [
        "Initiative “Standard pipeline everywhere”: moved from Q1\N{EN DASH}Q2 2027 to "
        "Q1\N{EN DASH}Q3 2027",
        "Deliverable “Cart API on the standard pipeline”: budget changed from 10000.00 to 12000.00",
    ]


@pytest.mark.django_db(transaction=True)
def test_two_racing_decisions_on_a_quorum_of_one_cannot_both_count(org, sue, roadmap):
    services.roadmap_update(
        actor=org.users["lee"], roadmap=roadmap, approval_rule="quorum", quorum=1
    )
    version = submit(org, roadmap)
    results = []
    start = threading.Barrier(2)

    def decide(user, kind):
        start.wait()
        try:
            versions.version_decide(actor=user, version=version, kind=kind, comment="Race")
            results.append(kind)
        except ConflictError:
            results.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(org.users["sam"], "approve")),
        threading.Thread(target=decide, args=(sue, "request_changes")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count("refused") == 1
    assert VersionDecision.objects.filter(version=version).count() == 1
    version.refresh_from_db()
    assert version.status in {Status.APPROVED, Status.CHANGES_REQUESTED}
    assert roadmap.versions.filter(status=Status.DRAFT).count() == 1


def test_a_field_missing_from_an_older_snapshot_is_no_change(org, roadmap, initiative):
    from roadmap.diff import diff
    from roadmap.selectors import snapshot_of

    new = snapshot_of(roadmap)
    old = {**new, "initiatives": [
        {k: v for k, v in i.items() if k != "change_requests"} for i in new["initiatives"]
    ]}  # fmt: skip
    assert diff(old, new) == []
