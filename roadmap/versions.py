"""Roadmap versions: submit the draft (its snapshot is frozen), and stakeholders' decisions.

A decision locks the version row first, so two decisions racing on one version are counted one
after the other: once the rule is met (or changes are requested) the version is decided, and a
later decision on it is refused rather than counted. Decisions are append-only.

Approval rules: "all" needs every approver named on the version to approve; "quorum" needs
``quorum`` of them. One request for changes sends the version back at once.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from portal.access import access_for, require_lead
from portal.audit import audit_record
from portal.exceptions import ApplicationError, ConflictError
from roadmap.models import Roadmap, RoadmapVersion, VersionDecision
from roadmap.selectors import snapshot_of

Status = RoadmapVersion.Status


@transaction.atomic
def version_submit(*, actor, version: RoadmapVersion, note: str = "") -> RoadmapVersion:
    """Freeze the draft as it is now and put it in front of the roadmap's approvers."""
    require_lead(actor)
    roadmap = Roadmap.objects.select_for_update().get(pk=version.roadmap_id)
    version = RoadmapVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != Status.DRAFT:
        raise ConflictError(
            f"Version {version.number} is {version.get_status_display().lower()}; "
            "only the draft is submitted.",
            {"status": [f"Now {version.status}."]},
        )
    approvers = list(roadmap.approvers.all())
    if not approvers:
        raise ApplicationError(
            "Name the stakeholders who approve this roadmap first.",
            {"approvers": ["Nobody would approve it."]},
        )
    version.snapshot = snapshot_of(roadmap)
    version.status = Status.SUBMITTED
    version.note = note.strip()
    version.approval_rule, version.quorum = roadmap.approval_rule, roadmap.quorum
    version.submitted_by, version.submitted_at = actor, timezone.now()
    version.save()
    version.approvers.set(approvers)
    audit_record(
        actor=actor,
        action="roadmap.submit",
        instance=version,
        after={"number": version.number, "note": version.note},
    )
    return version


def _role(actor) -> str:
    access = access_for(actor)
    for role in ("admin", "stakeholder", "lead"):
        if role in access.organisation_roles:
            return role
    return "member"


def needed(version: RoadmapVersion) -> int:
    """Approvals that decide the version."""
    if version.approval_rule == Roadmap.Rule.QUORUM and version.quorum:
        return version.quorum
    return version.approvers.count()


@transaction.atomic
def version_decide(
    *, actor, version: RoadmapVersion, kind: str, comment: str = ""
) -> VersionDecision:
    """approve, approve_with_comments (a comment needed) or request_changes (a reason needed)."""
    if kind not in VersionDecision.Kind.values:
        raise ApplicationError(f"Unknown decision {kind!r}.", {"kind": ["Not a decision."]})
    version = RoadmapVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != Status.SUBMITTED:
        raise ConflictError(
            f"Version {version.number} is {version.get_status_display().lower()}: "
            + ("submit it first." if version.status == Status.DRAFT else "it is decided already."),
            {"status": [f"Now {version.status}; decisions need submitted."]},
        )
    if not version.approvers.filter(pk=actor.pk).exists():
        raise PermissionDenied("Only the stakeholders named on this version decide on it.")
    if version.decisions.filter(decider=actor).exists():
        raise ConflictError(
            "You have decided on this version already.", {"decider": ["One decision per person."]}
        )
    if kind != VersionDecision.Kind.APPROVE and not comment.strip():
        raise ApplicationError("Say what you would change.", {"comment": ["A comment is needed."]})
    decision = VersionDecision.objects.create(
        version=version, decider=actor, role=_role(actor), kind=kind, comment=comment.strip()
    )
    if kind == VersionDecision.Kind.REQUEST_CHANGES:
        _close(version, Status.CHANGES_REQUESTED)
    elif version.decisions.exclude(kind=VersionDecision.Kind.REQUEST_CHANGES).count() >= needed(
        version
    ):
        _close(version, Status.APPROVED)
    audit_record(
        actor=actor,
        action=f"roadmap.{kind}",
        instance=version,
        after={"number": version.number, "comment": decision.comment, "status": version.status},
    )
    return decision


def _close(version: RoadmapVersion, status: str) -> None:
    """Decided: the plan opens again as the next draft."""
    version.status, version.decided_at = status, timezone.now()
    version.save(update_fields=["status", "decided_at"])
    latest = version.roadmap.versions.order_by("-number").values_list("number", flat=True).first()
    RoadmapVersion.objects.create(roadmap=version.roadmap, number=latest + 1)
