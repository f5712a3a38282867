"""Writes of post-incident reviews, their actions and the review policy.

A review is a draft until published; publishing needs the impact and the causes, and the
incident resolved; a published review is the record and is not edited any more (its actions
still are: they are tracked to done). Reviews are created by the policy when an incident of a
named severity resolves (services.incidents.review_require), or started by hand for any
incident.

Actions have an owner, a team and a due date; open past their due date they are overdue. An
action can become a roadmap initiative (leads: roadmap.services.initiative_create), a
maturity improvement action (the team: maturity.actions.action_create) or a training item in
the team's plan for the quarter of its due date (leads: training.services.item_add; the plan
is created with no budget when the team has none for that quarter). The new object is created
by its app's own service, with that app's rules, and linked to the action in the same
transaction: a refusal there links nothing.

Who: the incident's teams (its service's, its owner team) and leads update reviews and
actions; an action's owner and its team also mark it done. Leads edit the policy.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from maturity import actions as maturity_actions
from maturity import services as maturity_services
from maturity.models import Capability, quarter_of
from pipelines.incidents.services.incidents import may_respond
from pipelines.models import (
    Incident,
    IncidentStatus,
    PostIncidentReview,
    ReviewAction,
    ReviewPolicy,
    Severity,
)
from portal.access import access_for, require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from portal.models import Team
from roadmap import services as roadmap_services
from roadmap.models import Theme
from training import services as training_services
from training.models import TrainingItem, TrainingPlan

REVIEW_FIELDS = {"impact", "timeline_summary", "causes", "went_well", "went_badly", "due_on"}
REQUIRED_TO_PUBLISH = ("impact", "causes")
MAX_DUE_DAYS = 90


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def may_update_action(user, action: ReviewAction) -> bool:
    """Whoever may update the review; the action's team (members, leads) and its owner."""
    if user is not None and user.is_authenticated and action.owner_id == user.pk:
        return True
    return access_for(user).works_in(action.team_id) or may_respond(user, action.review.incident)


def _audit(actor, action: str, instance, before: dict | None = None) -> None:
    audit_record(
        actor=actor, action=action, instance=instance, before=before, after=audit_snapshot(instance)
    )


# --- reviews --------------------------------------------------------------------------------------


@transaction.atomic
def review_start(*, actor, incident: Incident) -> PostIncidentReview:
    """A review the policy does not ask for (any severity, any state), due ``due_days`` after
    the resolution day (or today, while open)."""
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("service")
        .get(pk=incident.pk)
    )
    _require(may_respond(actor, incident), "Only the incident's teams and leads review it.")
    if PostIncidentReview.objects.filter(incident=incident).exists():
        raise ConflictError("This incident has a review already.", {"incident": ["Reviewed."]})
    day = (incident.resolved_at or timezone.now()).astimezone(UTC).date()
    review = PostIncidentReview.objects.create(
        incident=incident,
        author=actor,
        due_on=day + timedelta(days=ReviewPolicy.current().due_days),
    )
    _audit(actor, "post_incident_review.start", review)
    return review


def _locked_review(review: PostIncidentReview) -> PostIncidentReview:
    return (
        PostIncidentReview.objects.select_for_update(of=("self",))
        .select_related("incident__service")
        .get(pk=review.pk)
    )


@transaction.atomic
def review_update(*, actor, review: PostIncidentReview, **fields: Any) -> PostIncidentReview:
    """The template's sections (impact, timeline_summary, causes, went_well, went_badly) and
    the due date, while a draft. The first to write it becomes its author."""
    unknown = sorted(fields.keys() - REVIEW_FIELDS)
    if unknown:
        raise ApplicationError("These cannot change here.", {f: ["Read-only."] for f in unknown})
    if "due_on" in fields and not isinstance(fields["due_on"], date):
        raise ApplicationError("Give a due date.", {"due_on": ["A date is required."]})
    review = _locked_review(review)
    _require(may_respond(actor, review.incident), "Only the incident's teams and leads edit it.")
    if review.status == PostIncidentReview.Status.PUBLISHED:
        raise ConflictError(
            "The review is published: it is the record now.", {"status": ["Published."]}
        )
    before = audit_snapshot(review)
    for name, value in fields.items():
        setattr(review, name, value.strip() if isinstance(value, str) else value)
    if review.author_id is None and actor is not None and actor.is_authenticated:
        review.author = actor
    review.save()
    _audit(actor, "post_incident_review.update", review, before)
    return review


@transaction.atomic
def review_publish(*, actor, review: PostIncidentReview) -> PostIncidentReview:
    """Publish the draft: it needs its impact and causes written, and the incident resolved."""
    review = _locked_review(review)
    _require(may_respond(actor, review.incident), "Only the incident's teams and leads publish.")
    if review.status == PostIncidentReview.Status.PUBLISHED:
        raise ConflictError("The review is published already.", {"status": ["Published."]})
    if review.incident.status != IncidentStatus.RESOLVED:
        raise ConflictError(
            "The incident is still open: resolve it before publishing its review.",
            {"incident": ["Not resolved."]},
        )
    missing = {
        name: ["Write this before publishing."]
        for name in REQUIRED_TO_PUBLISH
        if not getattr(review, name).strip()
    }
    if missing:
        raise ApplicationError("Say what the impact was and what caused it.", missing)
    before = audit_snapshot(review)
    review.status, review.published_at = PostIncidentReview.Status.PUBLISHED, timezone.now()
    review.save(update_fields=["status", "published_at", "updated_at"])
    _audit(actor, "post_incident_review.publish", review, before)
    return review


# --- actions --------------------------------------------------------------------------------------


@transaction.atomic
def action_add(
    *,
    actor,
    review: PostIncidentReview,
    title: str,
    due_on: date,
    team: Team | None = None,
    owner=None,
) -> ReviewAction:
    """Something to do, by when and by whom; the team defaults to the incident's owner team,
    else its service's team."""
    incident = Incident.objects.select_related("service__team", "owner_team").get(
        pk=review.incident_id
    )
    _require(may_respond(actor, incident), "Only the incident's teams and leads add actions.")
    errors = {}
    if not (title or "").strip():
        errors["title"] = ["This field is required."]
    if not isinstance(due_on, date):
        errors["due_on"] = ["A date is required."]
    if owner is not None and not owner.is_active:
        errors["owner"] = ["Choose someone active."]
    if errors:
        raise ApplicationError("Say what to do and by when.", errors)
    action = ReviewAction.objects.create(
        review=review,
        title=title.strip()[:300],
        due_on=due_on,
        team=team or incident.owner_team or incident.service.team,
        owner=owner,
    )
    _audit(actor, "review_action.add", action)
    return action


def _locked_action(action: ReviewAction) -> ReviewAction:
    return (
        ReviewAction.objects.select_for_update(of=("self",))
        .select_related("review__incident__service", "team", "owner")
        .get(pk=action.pk)
    )


def _set_status(actor, action: ReviewAction, status: str, verb: str) -> ReviewAction:
    action = _locked_action(action)
    _require(may_update_action(actor, action), "Only its owner, its team and leads update it.")
    if action.status == status:
        raise ConflictError(
            f"The action is {action.get_status_display().lower()} already.",
            {"status": [f"It is {action.status}."]},
        )
    before = audit_snapshot(action)
    action.status = status
    action.done_at = timezone.now() if status == ReviewAction.Status.DONE else None
    action.save(update_fields=["status", "done_at"])
    _audit(actor, f"review_action.{verb}", action, before)
    return action


@transaction.atomic
def action_done(*, actor, action: ReviewAction) -> ReviewAction:
    return _set_status(actor, action, ReviewAction.Status.DONE, "done")


@transaction.atomic
def action_reopen(*, actor, action: ReviewAction) -> ReviewAction:
    return _set_status(actor, action, ReviewAction.Status.OPEN, "reopen")


def _convertible(actor, action: ReviewAction, link: str, what: str) -> ReviewAction:
    action = _locked_action(action)
    _require(may_update_action(actor, action), "Only its owner, its team and leads convert it.")
    if getattr(action, f"{link}_id") is not None:
        raise ConflictError(f"The action is {what} already.", {link: ["Linked already."]})
    return action


def _from_review(action: ReviewAction) -> str:
    incident = action.review.incident
    when = f"{incident.service.name}, {incident.opened_at:%Y-%m-%d}"
    return f"From the review of “{incident.title}” ({when})."


@transaction.atomic
def action_to_initiative(
    *,
    actor,
    action: ReviewAction,
    theme: Theme,
    starts_on: date | None = None,
    ends_on: date | None = None,
):
    """A roadmap initiative under ``theme`` for the action's team, owned by its owner, from
    ``starts_on`` (today) to ``ends_on`` (the action's due date, or the start if earlier)."""
    action = _convertible(actor, action, "initiative", "on the roadmap")
    starts_on = starts_on or timezone.localdate()
    initiative = roadmap_services.initiative_create(
        actor=actor,
        theme=theme,
        title=action.title[:200],
        starts_on=starts_on,
        ends_on=ends_on or max(action.due_on, starts_on),
        description=_from_review(action),
        owner=action.owner,
        teams=[action.team],
    )
    before = audit_snapshot(action)
    action.initiative = initiative
    action.save(update_fields=["initiative"])
    _audit(actor, "review_action.to_initiative", action, before)
    return initiative


@transaction.atomic
def action_to_improvement_action(*, actor, action: ReviewAction, capability_key: str):
    """A maturity improvement action of the action's team against ``capability_key``, due
    when the action is; its owner carries over when they work in the team."""
    if not Capability.objects.filter(key=capability_key).exists():
        raise ApplicationError(
            "Unknown capability.", {"capability_key": ["Choose a maturity capability."]}
        )
    action = _convertible(actor, action, "improvement_action", "a maturity action")
    owner = action.owner
    if owner is not None and not maturity_services.can_fill(owner, action.team):
        owner = None
    improvement = maturity_actions.action_create(
        actor=actor,
        team=action.team,
        capability_key=capability_key,
        title=action.title,
        owner=owner,
        due_date=action.due_on,
    )
    before = audit_snapshot(action)
    action.improvement_action = improvement
    action.save(update_fields=["improvement_action"])
    _audit(actor, "review_action.to_improvement_action", action, before)
    return improvement


@transaction.atomic
def action_to_training_item(
    *,
    actor,
    action: ReviewAction,
    kind: str = TrainingItem.Kind.COURSE,
    skill=None,
    plan: TrainingPlan | None = None,
):
    """A training need in ``plan`` (default: the team's plan for the quarter of the due date,
    created with no budget when missing), the owner attending, the review as its reason."""
    action = _convertible(actor, action, "training_item", "a training item")
    if plan is None:
        period = quarter_of(action.due_on)
        plan = TrainingPlan.objects.filter(team=action.team, period=period).first()
        plan = plan or training_services.plan_create(
            actor=actor, team=action.team, period=period, budget=Decimal(0)
        )
    elif plan.team_id != action.team_id:
        raise ApplicationError("That is another team's plan.", {"plan": ["Not the team's."]})
    item = training_services.item_add(
        actor=actor,
        plan=plan,
        kind=kind,
        title=action.title,
        skill=skill,
        reason=_from_review(action),
        attendees=[action.owner] if action.owner else [],
    )
    before = audit_snapshot(action)
    action.training_item = item
    action.save(update_fields=["training_item"])
    _audit(actor, "review_action.to_training_item", action, before)
    return item


# --- the policy -----------------------------------------------------------------------------------


@transaction.atomic
def review_policy_update(*, actor, required_severities: list[str], due_days: int) -> ReviewPolicy:
    """Which severities need a review (leads), and how many days after resolution it is due.
    Incidents already resolved are not looked at again."""
    require_lead(actor)
    unknown = sorted(set(required_severities) - set(Severity.values))
    if unknown:
        raise ApplicationError(
            "Unknown severities.", {"required_severities": [f"Unknown: {', '.join(unknown)}."]}
        )
    if (
        isinstance(due_days, bool)
        or not isinstance(due_days, int)
        or not (1 <= due_days <= MAX_DUE_DAYS)
    ):
        raise ApplicationError(
            "Give the days to write it.",
            {"due_days": [f"A whole number from 1 to {MAX_DUE_DAYS}."]},
        )
    policy = ReviewPolicy.objects.select_for_update().get(pk=ReviewPolicy.current().pk)
    before = audit_snapshot(policy)
    policy.required_severities = [s for s in Severity.values if s in set(required_severities)]
    policy.due_days = due_days
    policy.save()
    _audit(actor, "review_policy.update", policy, before)
    return policy
