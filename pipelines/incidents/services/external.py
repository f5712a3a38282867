"""Incidents written outside the workflow: pushed through the API, or by a tool's sync or
webhook (pipelines.incident_records). Their state comes from what was sent; these bring the
timeline and the review policy in line with it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines.incidents.services.incidents import _audit, _event, _locked, review_require
from pipelines.models import (
    Incident,
    IncidentEvent,
    IncidentStatus,
    PostIncidentReview,
    ReviewPolicy,
)
from portal.audit import audit_record, audit_snapshot

Kind = IncidentEvent.Kind


@transaction.atomic
def incident_push_follow(*, actor, incident: Incident) -> Incident:
    """Bring a pushed incident's state and timeline in line with what was pushed (the push
    API's contract is ``opened_at`` and ``resolved_at``): an "opened" entry once, resolved when
    ``resolved_at`` came (the policy may then ask for a review), open again when it went.
    Idempotent: pushing the same body again adds nothing."""
    incident = _locked(incident)
    before = audit_snapshot(incident)
    if not incident.events.filter(kind=Kind.OPENED).exists():
        IncidentEvent.objects.get_or_create(
            incident=incident,
            dedupe_key="push:opened",
            defaults={"kind": Kind.OPENED, "at": incident.opened_at, "actor": actor},
        )
    resolved = incident.resolved_at is not None
    if resolved and incident.status != IncidentStatus.RESOLVED:
        incident.status = IncidentStatus.RESOLVED
        incident.save(update_fields=["status"])
        IncidentEvent.objects.get_or_create(
            incident=incident,
            dedupe_key=f"push:resolved:{incident.resolved_at.isoformat()}",
            defaults={"kind": Kind.RESOLVED, "at": incident.resolved_at, "actor": actor},
        )
        _audit(actor, "resolve", incident, before)
        review_require(incident, actor=actor)
    elif not resolved and incident.status == IncidentStatus.RESOLVED:
        incident.status = (
            IncidentStatus.ACKNOWLEDGED if incident.acknowledged_at else IncidentStatus.TRIGGERED
        )
        incident.mitigated_at = None
        incident.save(update_fields=["status", "mitigated_at"])
        _event(incident, Kind.REOPENED, actor, timezone.now(), "Pushed without resolved_at.")
        _audit(actor, "reopen", incident, before)
    return incident


def reviews_require(*, incident_ids: Iterable[int]) -> list[PostIncidentReview]:
    """``review_require`` for many incidents at once (a sync or a webhook resolving some): the
    draft review of each resolved one whose severity the policy names and that has none. For
    writers that do not go through the workflow (pipelines.incident_records); a review
    created meanwhile by another writer is left as it is."""
    policy = ReviewPolicy.current()
    due = timedelta(days=policy.due_days)
    created = []
    for incident in Incident.objects.filter(
        pk__in=list(incident_ids),
        status=IncidentStatus.RESOLVED,
        resolved_at__isnull=False,
        severity__in=policy.required_severities,
        review__isnull=True,
    ):
        try:
            with transaction.atomic():
                review = PostIncidentReview.objects.create(
                    incident=incident, due_on=incident.resolved_at.astimezone(UTC).date() + due
                )
        except IntegrityError:  # reviewed meanwhile (one review per incident)
            continue
        audit_record(
            actor=None,
            action="post_incident_review.require",
            instance=review,
            after=audit_snapshot(review),
        )
        created.append(review)
    return created
