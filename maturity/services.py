"""Writes of the maturity app: model versions, assessments and their workflow (targets and
improvement actions: maturity.actions).

Every transition locks the assessment row first, so two reviewers (or a submit racing a
review) cannot both act on the same state.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from maturity.catalogue import ModelSpec
from maturity.checks import METRICS, suggested_level
from maturity.models import (
    Area,
    Assessment,
    Capability,
    EvidenceFile,
    Level,
    MaturityModel,
    Rating,
)
from maturity.selectors import check_window, stage_share, team_measurements
from portal.access import access_for, require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from portal.models import Team
from portal.uploads import Upload


def can_fill(actor, team: Team) -> bool:
    """Leads, and the team's members (not viewers), fill its assessments."""
    return access_for(actor).works_in(team.pk)


# --- models -----------------------------------------------------------------------------------


def _store(spec: ModelSpec, version: int) -> MaturityModel:
    model = MaturityModel.objects.create(
        slug=spec.slug, version=version, name=spec.name, description=spec.description
    )
    for area_position, area_spec in enumerate(spec.areas):
        area = Area.objects.create(
            model=model, key=area_spec.key, name=area_spec.name, position=area_position
        )
        for position, cap in enumerate(area_spec.capabilities):
            capability = Capability.objects.create(
                model=model,
                area=area,
                key=cap.key,
                name=cap.name,
                description=cap.description,
                position=position,
                check_metric=cap.check.metric if cap.check else "",
                check_pattern=cap.check.pattern if cap.check else "",
                check_thresholds=cap.check.thresholds if cap.check else [],
            )
            Level.objects.bulk_create(
                Level(capability=capability, number=number, description=text)
                for number, text in sorted(cap.levels.items())
            )
    return model


@transaction.atomic
def model_import(*, actor, spec: ModelSpec) -> MaturityModel:
    """Store ``spec`` as the next version of its slug (version 1 for a new slug)."""
    latest = MaturityModel.objects.filter(slug=spec.slug).aggregate(v=Max("version"))["v"]
    model = _store(spec, (latest or 0) + 1)
    audit_record(actor=actor, action="maturity_model.import", instance=model)
    return model


@transaction.atomic
def model_edit(*, actor, model: MaturityModel, spec: ModelSpec) -> MaturityModel:
    """Edit a model: in place while no assessment uses it, else as a new version (the
    assessments keep the words they were rated against)."""
    require_lead(actor)
    if spec.slug != model.slug:
        raise ApplicationError("The slug names the model.", {"slug": ["It cannot change."]})
    model = MaturityModel.objects.select_for_update().get(pk=model.pk)
    if model.assessments.exists():
        return model_import(actor=actor, spec=spec)
    version = model.version
    model.delete()
    edited = _store(spec, version)
    audit_record(actor=actor, action="maturity_model.edit", instance=edited)
    return edited


# --- assessments ------------------------------------------------------------------------------


def _suggestions(team: Team, capabilities, now) -> dict[int, tuple[int | None, dict]]:
    """Capability id -> (suggested level, what was measured) for the checked capabilities."""
    checked = [c for c in capabilities if c.check_metric]
    if not checked:
        return {}
    measured = team_measurements(team, now=now)
    window = check_window(now)
    found = {}
    for capability in checked:
        metric = capability.check_metric
        if metric == "stage_share":
            value = stage_share(team, capability.check_pattern, window)
        else:
            value = measured.get(metric)
        found[capability.pk] = (
            suggested_level(metric, value, capability.check_thresholds),
            {
                "metric": metric,
                "label": METRICS[metric][1],
                "value": None if value is None else round(value, 3),
                "thresholds": capability.check_thresholds,
                "pattern": capability.check_pattern,
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
            },
        )
    return found


@transaction.atomic
def assessment_create(*, actor, team: Team, model: MaturityModel, period: str) -> Assessment:
    """A draft for ``team`` and ``period`` with a rating per capability, the checked ones
    pre-filled with the level their measured data suggests."""
    if not can_fill(actor, team):
        raise PermissionDenied("Only the team's members and leads assess it.")
    assessment = Assessment(
        team=team,
        model=model,
        period=period,
        slug=f"{team.slug}-{period.lower()}",
        created_by=actor,
    )
    try:
        assessment.full_clean(exclude=["slug"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ApplicationError("Check the assessment's fields.", error.message_dict) from None
    if Assessment.objects.filter(team=team, period=period).exists():
        raise ConflictError(
            "This team already has an assessment for that period.",
            {"period": [f"{team.name} has one for {period}; open it instead."]},
        )
    try:
        with transaction.atomic():
            assessment.save()
    except IntegrityError:  # a concurrent create of the same team and period won
        raise ConflictError(
            "This team already has an assessment for that period.",
            {"period": [f"{team.name} has one for {period}."]},
        ) from None
    capabilities = list(model.capabilities.all())
    suggestions = _suggestions(team, capabilities, timezone.now())
    Rating.objects.bulk_create(
        Rating(
            assessment=assessment,
            capability=capability,
            level=suggestions.get(capability.pk, (None, {}))[0],
            suggested_level=suggestions.get(capability.pk, (None, {}))[0],
            check_result=suggestions.get(capability.pk, (None, {}))[1],
        )
        for capability in capabilities
    )
    audit_record(
        actor=actor,
        action="assessment.create",
        instance=assessment,
        after=audit_snapshot(assessment),
    )
    return assessment


def _locked(assessment: Assessment) -> Assessment:
    return Assessment.objects.select_for_update().select_related("team").get(pk=assessment.pk)


def _editable_by(actor, assessment: Assessment) -> Assessment:
    """The assessment, locked, if ``actor`` may change its ratings now."""
    assessment = _locked(assessment)
    if not can_fill(actor, assessment.team):
        raise PermissionDenied("Only the team's members and leads assess it.")
    if not assessment.is_editable:
        raise ConflictError(f"The assessment is {assessment.get_status_display().lower()}.")
    return assessment


@transaction.atomic
def rating_update(*, actor, rating: Rating, data: dict[str, Any]) -> Rating:
    _editable_by(actor, rating.assessment)
    level = data.get("level", rating.level)
    if level is not None and level not in range(1, 6):
        raise ApplicationError("Levels go from 1 to 5.", {"level": ["Choose a level from 1 to 5."]})
    before = audit_snapshot(rating)
    for name in ("level", "comment", "evidence"):
        if name in data:
            setattr(rating, name, data[name])
    rating.save()
    audit_record(
        actor=actor,
        action="rating.update",
        instance=rating,
        before=before,
        after=audit_snapshot(rating),
    )
    return rating


@transaction.atomic
def ratings_update(
    *,
    actor,
    assessment: Assessment,
    changes: dict[str, dict[str, Any]],
    uploads: dict[str, Upload] | None = None,
) -> int:
    """Several ratings at once (the assessment page's form), all or nothing; capability key ->
    changed fields, and -> a new evidence file. Returns how many ratings changed."""
    uploads = uploads or {}
    ratings = {r.capability.key: r for r in assessment.ratings.select_related("capability")}
    unknown = sorted((changes.keys() | uploads.keys()) - ratings.keys())
    if unknown:
        raise ApplicationError("Unknown capabilities.", {"ratings": [", ".join(unknown)]})
    for key, data in changes.items():
        rating_update(actor=actor, rating=ratings[key], data=data)
    for key, upload in uploads.items():
        evidence_attach(actor=actor, rating=ratings[key], upload=upload)
    return len(changes.keys() | uploads.keys())


MAX_FILES_PER_RATING = 10


@transaction.atomic
def evidence_attach(*, actor, rating: Rating, upload: Upload) -> EvidenceFile:
    """Keep a file as evidence for a rating of a draft (or returned) assessment."""
    _editable_by(actor, rating.assessment)
    if rating.files.count() >= MAX_FILES_PER_RATING:
        raise ApplicationError(
            "Too many files.", {"file": [f"A rating keeps at most {MAX_FILES_PER_RATING} files."]}
        )
    evidence = EvidenceFile.objects.create(
        rating=rating,
        name=upload.name,
        content_type=upload.content_type,
        size=len(upload.data),
        sha256=upload.sha256,
        data=upload.data,
        uploaded_by=actor,
    )
    audit_record(
        actor=actor,
        action="evidence.attach",
        instance=rating,
        after={"file": evidence.name, "size": evidence.size, "sha256": evidence.sha256},
    )
    return evidence


@transaction.atomic
def evidence_remove(*, actor, evidence: EvidenceFile) -> None:
    _editable_by(actor, evidence.rating.assessment)
    audit_record(
        actor=actor,
        action="evidence.remove",
        instance=evidence.rating,
        before={"file": evidence.name, "sha256": evidence.sha256},
    )
    evidence.delete()


@transaction.atomic
def assessment_submit(*, actor, assessment: Assessment) -> Assessment:
    assessment = _editable_by(actor, assessment)
    unrated = list(
        assessment.ratings.filter(level__isnull=True).values_list("capability__name", flat=True)
    )
    if unrated:
        raise ApplicationError(
            "Rate every capability before submitting.",
            {"ratings": [f"Not rated yet: {', '.join(unrated)}."]},
        )
    assessment.status, assessment.submitted_at = Assessment.Status.SUBMITTED, timezone.now()
    assessment.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_record(actor=actor, action="assessment.submit", instance=assessment)
    return assessment


@transaction.atomic
def assessment_review(
    *, actor, assessment: Assessment, accept: bool, comment: str = ""
) -> Assessment:
    """A lead signs a submitted assessment off, or sends it back with a comment."""
    require_lead(actor)
    assessment = _locked(assessment)
    if assessment.status != Assessment.Status.SUBMITTED:
        raise ConflictError(
            f"Only a submitted assessment is reviewed; this one is "
            f"{assessment.get_status_display().lower()}."
        )
    if not accept and not comment.strip():
        raise ApplicationError(
            "Say what to change.", {"comment": ["A returned assessment needs a comment."]}
        )
    assessment.status = Assessment.Status.REVIEWED if accept else Assessment.Status.RETURNED
    assessment.reviewed_by, assessment.reviewed_at = actor, timezone.now()
    assessment.review_comment = comment.strip()
    assessment.save()
    audit_record(
        actor=actor,
        action=f"assessment.{'accept' if accept else 'return'}",
        instance=assessment,
        after={"comment": assessment.review_comment},
    )
    return assessment
