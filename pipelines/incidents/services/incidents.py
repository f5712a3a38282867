"""The incident workflow::

    triggered --acknowledge--> acknowledged --mitigate--> mitigated --resolve--> resolved
        \\--------------- mitigate or resolve straight from any open state ---------/
    resolved --reopen--> acknowledged (when it had been) or triggered

Triage (severity, owner team, commander) and notes are taken in any state. Each change runs in
a transaction holding the incident's row lock, so two responders pressing "acknowledge" at once
acknowledge it once and the other gets a 409 naming the state; each writes an ``IncidentEvent``
(who and when: the timeline) and an audit record (``incident.<verb>``).

A person mitigating or resolving an incident nobody acknowledged has acknowledged it: the
moment is recorded as the acknowledgement too (MTTA counts it). Moments (``at``) default to
now; they may be given (a responder catching up, demo data) but are never in the future nor
before the incident's previous moment.

A resolution whose severity the review policy names creates the draft post-incident review,
due ``due_days`` after the resolution day (``review_require``); so does a triage raising a
resolved incident's severity into the policy.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from pipelines.models import (
    CISource,
    Incident,
    IncidentEvent,
    IncidentStatus,
    PostIncidentReview,
    ReviewPolicy,
    Severity,
)
from pipelines.signals import records_stored
from portal.access import access_for
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from portal.models import Service, Team

PORTAL_SOURCE_SLUG = "portal-incidents"
CLOCK_SKEW = timedelta(minutes=5)  # a browser's clock slightly ahead is not "the future"
OPEN = (IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED, IncidentStatus.MITIGATED)
Kind = IncidentEvent.Kind


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()  # triage: leave this field as it is


# --- who may ------------------------------------------------------------------------------------


def may_respond(user, incident: Incident) -> bool:
    """Leads and admins; the members, leads and admins of the service's team or of the team
    that owns the incident (not viewers, not stakeholders)."""
    access = access_for(user)
    if access.works_in(incident.service.team_id):
        return True
    return incident.owner_team_id is not None and access.works_in(incident.owner_team_id)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


# --- pieces ---------------------------------------------------------------------------------------


def portal_source() -> CISource:
    """The built-in source owning incidents opened in the portal (created on first use)."""
    found = CISource.objects.filter(slug=PORTAL_SOURCE_SLUG).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():  # two first incidents at once: one creates, one reads
            return CISource.objects.create(
                slug=PORTAL_SOURCE_SLUG,
                kind=CISource.Kind.PORTAL,
                name="Opened in the portal",
                is_active=False,
            )
    except IntegrityError:
        return CISource.objects.get(slug=PORTAL_SOURCE_SLUG)


def _locked(incident: Incident) -> Incident:
    """The incident's row, locked for this transaction: transitions are decided one at a time."""
    return (
        Incident.objects.select_for_update(of=("self",))
        .select_related("service", "owner_team", "commander")
        .get(pk=incident.pk)
    )


def _conflict(incident: Incident, wanted: str) -> ConflictError:
    state = incident.get_status_display().lower()
    return ConflictError(f"The incident is {state}: {wanted}.", {"status": [f"It is {state}."]})


def _moment(incident: Incident, at: datetime | None, field: str = "at") -> datetime:
    """When a step happened: ``at`` or now, never in the future nor before the last moment."""
    now = timezone.now()
    earliest = max(
        moment
        for moment in (incident.opened_at, incident.acknowledged_at, incident.mitigated_at)
        if moment is not None
    )
    if at is None:
        return max(now, earliest)  # a tool's clock ahead of ours: not before its own moments
    if at > now + CLOCK_SKEW:
        raise ApplicationError("That is in the future.", {field: ["Not in the future."]})
    if at < earliest:
        raise ApplicationError(
            "That is before the incident's previous step.",
            {field: [f"Not before {earliest:%Y-%m-%d %H:%M} UTC."]},
        )
    return at


def _event(incident: Incident, kind: str, actor, at: datetime, text: str = "") -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident,
        kind=kind,
        at=at,
        actor=actor if actor is not None and actor.is_authenticated else None,
        text=text,
    )


def _audit(actor, verb: str, incident: Incident, before: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=f"incident.{verb}",
        instance=incident,
        before=before,
        after=audit_snapshot(incident),
    )


def _short(severity: str) -> str:
    return severity.upper() if severity else "untriaged"


def _name(user) -> str:
    return user.get_full_name() or user.username


def review_require(incident: Incident, *, actor=None) -> PostIncidentReview | None:
    """The draft review a resolved incident needs by policy (its severity is one the policy
    names), created once, due ``due_days`` after the resolution's UTC day; None when not
    needed. Call inside the transaction holding the incident's lock."""
    if incident.status != IncidentStatus.RESOLVED or incident.resolved_at is None:
        return None
    policy = ReviewPolicy.current()
    if incident.severity not in policy.required_severities:
        return None
    if PostIncidentReview.objects.filter(incident=incident).exists():
        return None
    day = incident.resolved_at.astimezone(UTC).date()
    review = PostIncidentReview.objects.create(
        incident=incident, due_on=day + timedelta(days=policy.due_days)
    )
    audit_record(
        actor=actor,
        action="post_incident_review.require",
        instance=review,
        after=audit_snapshot(review),
    )
    return review


# --- opening and triage ---------------------------------------------------------------------------


def _check_severity(severity: str) -> None:
    if severity not in Severity.values:
        raise ApplicationError(
            "Unknown severity.", {"severity": [f"Choose one of {', '.join(Severity.values)}."]}
        )


@transaction.atomic
def incident_open(
    *,
    actor,
    service: Service,
    title: str,
    severity: str = "",
    summary: str = "",
    opened_at: datetime | None = None,
    owner_team: Team | None = None,
    commander=None,
) -> Incident:
    """An incident noticed by people rather than a tool, for ``service``; triggered, with
    the severity, owner team and commander if already known."""
    _require(
        access_for(actor).works_in(service.team_id),
        "Only the service team's members and leads open its incidents.",
    )
    if not (title or "").strip():
        raise ApplicationError("Say what is wrong.", {"title": ["This field is required."]})
    if severity:
        _check_severity(severity)
    now = timezone.now()
    opened_at = opened_at or now
    if opened_at > now + CLOCK_SKEW:
        raise ApplicationError("That is in the future.", {"opened_at": ["Not in the future."]})
    incident = Incident.objects.create(
        source=portal_source(),
        external_id=uuid.uuid4().hex,
        service=service,
        title=title.strip()[:500],
        summary=summary,
        opened_at=opened_at,
        severity=severity,
        owner_team=owner_team,
    )
    if commander is not None:
        _check_commander(incident, commander)
        incident.commander = commander
        incident.save(update_fields=["commander"])
    _event(incident, Kind.OPENED, actor, opened_at, f"Opened in the portal: {_short(severity)}.")
    _audit(actor, "open", incident)
    records_stored.send(sender=Incident)  # the DORA rollups count it
    return incident


def _check_commander(incident: Incident, commander) -> None:
    if not commander.is_active or not may_respond(commander, incident):
        raise ApplicationError(
            "The commander responds to this incident.",
            {"commander": ["Choose a member or lead of the service's or owner team."]},
        )


@transaction.atomic
def incident_triage(
    *,
    actor,
    incident: Incident,
    severity: str = UNCHANGED,
    owner_team: Team | None = UNCHANGED,
    commander=UNCHANGED,
) -> Incident:
    """Set the severity, the owner team (None: the service's team) and the commander (None:
    nobody); what is not given stays. Any state; nothing changed writes nothing."""
    if severity is not UNCHANGED:
        _check_severity(severity)  # a severity, once triaged: never back to "untriaged"
    incident = _locked(incident)
    _require(may_respond(actor, incident), "Only the incident's teams and leads triage it.")
    before = audit_snapshot(incident)
    said = []
    if severity is not UNCHANGED and severity != incident.severity:
        said.append(f"severity {_short(severity)} (was {_short(incident.severity)})")
        incident.severity = severity
    if owner_team is not UNCHANGED and owner_team != incident.owner_team:
        said.append(f"owner team {owner_team.name if owner_team else 'the service team'}")
        incident.owner_team = owner_team
    if commander is not UNCHANGED and commander != incident.commander:
        if commander is not None:
            _check_commander(incident, commander)
        said.append(f"commander {_name(commander) if commander else 'nobody'}")
        incident.commander = commander
    if not said:
        return incident
    incident.save(update_fields=["severity", "owner_team", "commander", "updated_at"])
    _event(incident, Kind.TRIAGED, actor, timezone.now(), "Triaged: " + "; ".join(said) + ".")
    _audit(actor, "triage", incident, before)
    review_require(incident, actor=actor)
    return incident


@transaction.atomic
def incident_note(*, actor, incident: Incident, text: str) -> IncidentEvent:
    """An update on the timeline (what was found, what is being tried), in any state."""
    if not (text or "").strip():
        raise ApplicationError("Write the update.", {"text": ["This field is required."]})
    incident = _locked(incident)
    _require(may_respond(actor, incident), "Only the incident's teams and leads post updates.")
    event = _event(incident, Kind.UPDATE, actor, timezone.now(), text.strip())
    Incident.objects.filter(pk=incident.pk).update(updated_at=timezone.now())
    audit_record(actor=actor, action="incident.note", instance=incident, after={"text": event.text})
    return event


# --- state changes --------------------------------------------------------------------------------


def _step(actor, incident: Incident, allowed: tuple, wanted: str) -> tuple[Incident, dict]:
    # Decided on the locked row: the owner team may have changed since the caller read it.
    incident = _locked(incident)
    _require(may_respond(actor, incident), "Only the incident's teams and leads respond to it.")
    if incident.status not in allowed:
        raise _conflict(incident, wanted)
    return incident, audit_snapshot(incident)


@transaction.atomic
def incident_acknowledge(
    *, actor, incident: Incident, at: datetime | None = None, note: str = ""
) -> Incident:
    """Someone is on it (triggered only): MTTA stops."""
    incident, before = _step(
        actor, incident, (IncidentStatus.TRIGGERED,), "only a triggered incident is acknowledged"
    )
    at = _moment(incident, at)
    incident.status, incident.acknowledged_at = IncidentStatus.ACKNOWLEDGED, at
    incident.save(update_fields=["status", "acknowledged_at", "updated_at"])
    _event(incident, Kind.ACKNOWLEDGED, actor, at, note.strip())
    _audit(actor, "acknowledge", incident, before)
    return incident


@transaction.atomic
def incident_mitigate(
    *, actor, incident: Incident, at: datetime | None = None, note: str = ""
) -> Incident:
    """The impact is contained (a rollback, a feature flag), the cause not fixed yet."""
    incident, before = _step(
        actor,
        incident,
        (IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED),
        "only a triggered or acknowledged incident is mitigated",
    )
    at = _moment(incident, at)
    incident.status, incident.mitigated_at = IncidentStatus.MITIGATED, at
    incident.acknowledged_at = incident.acknowledged_at or at
    incident.save(update_fields=["status", "mitigated_at", "acknowledged_at", "updated_at"])
    _event(incident, Kind.MITIGATED, actor, at, note.strip())
    _audit(actor, "mitigate", incident, before)
    return incident


@transaction.atomic
def incident_resolve(
    *, actor, incident: Incident, at: datetime | None = None, note: str = ""
) -> Incident:
    """Over: MTTR stops, DORA's recovery time counts it, and the policy may ask for a review."""
    incident, before = _step(actor, incident, OPEN, "it is resolved already")
    at = _moment(incident, at)
    incident.status, incident.resolved_at = IncidentStatus.RESOLVED, at
    incident.acknowledged_at = incident.acknowledged_at or at
    incident.save(update_fields=["status", "resolved_at", "acknowledged_at", "updated_at"])
    _event(incident, Kind.RESOLVED, actor, at, note.strip())
    _audit(actor, "resolve", incident, before)
    review_require(incident, actor=actor)
    records_stored.send(sender=Incident)
    return incident


@transaction.atomic
def incident_reopen(*, actor, incident: Incident, reason: str = "") -> Incident:
    """It came back: open again (acknowledged if it had been), no longer resolved nor
    mitigated. A review already started stays."""
    incident, before = _step(
        actor, incident, (IncidentStatus.RESOLVED,), "only a resolved incident is reopened"
    )
    at = max(timezone.now(), incident.resolved_at or incident.opened_at)
    incident.status = (
        IncidentStatus.ACKNOWLEDGED if incident.acknowledged_at else IncidentStatus.TRIGGERED
    )
    incident.resolved_at = incident.mitigated_at = None
    incident.save(update_fields=["status", "resolved_at", "mitigated_at", "updated_at"])
    _event(incident, Kind.REOPENED, actor, at, reason.strip())
    _audit(actor, "reopen", incident, before)
    records_stored.send(sender=Incident)
    return incident
