"""Post-incident reviews: required by the policy's severities when an incident resolves (due
``due_days`` after the resolution day), started by hand otherwise; written, published (impact
and causes needed, the incident resolved), then the record; actions with owners and due dates,
overdue when open past them, done and reopened, and turned into a roadmap initiative, a
maturity improvement action or a training item through those apps' own services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from maturity.models import ImprovementAction
from pipelines.incidents import selectors, services
from pipelines.models import Incident, PostIncidentReview, ReviewAction, ReviewPolicy
from portal.exceptions import ApplicationError, ConflictError
from roadmap.models import Initiative
from tests.pipelines.incidents.conftest import T0, at
from training.models import TrainingPlan


@pytest.fixture
def resolve(org):
    def make(incident, minutes: float = 60):
        return services.incident_resolve(actor=org.users["mo"], incident=incident, at=at(minutes))

    return make


@pytest.fixture
def review(org, open_incident, resolve):
    """A SEV1 of Cart API resolved an hour after T0: its draft review, by policy."""
    incident = open_incident(severity="sev1")
    resolve(incident)
    return PostIncidentReview.objects.get(incident=incident)


@pytest.fixture
def action(org, review):
    return services.action_add(
        actor=org.users["mo"], review=review, title="Alert on gateway latency",
        due_on=timezone.localdate() + timedelta(days=14), owner=org.users["mo"],
    )  # fmt: skip


@pytest.mark.parametrize(("severity", "required"), [("sev1", True), ("sev2", True),
                                                    ("sev3", False), ("", False)])  # fmt: skip
def test_the_policy_asks_for_a_review_of_its_severities(open_incident, resolve, severity, required):
    incident = open_incident(severity=severity)

    resolve(incident)

    found = PostIncidentReview.objects.filter(incident=incident).first()
    assert (found is not None) == required
    if required:
        assert (found.status, found.due_on) == ("draft", T0.date() + timedelta(days=5))


def test_a_triage_raising_a_resolved_incidents_severity_asks_for_its_review(
    org, open_incident, resolve
):
    incident = open_incident(severity="sev3")
    resolve(incident)
    assert not PostIncidentReview.objects.exists()

    services.incident_triage(actor=org.users["lee"], incident=incident, severity="sev1")

    assert PostIncidentReview.objects.get().incident == incident


def test_leads_set_the_policy_and_others_cannot(org, open_incident, resolve):
    policy = services.review_policy_update(
        actor=org.users["lee"], required_severities=["sev3", "sev1"], due_days=10
    )
    assert (policy.required_severities, policy.due_days) == (["sev1", "sev3"], 10)
    with pytest.raises(PermissionDenied):
        services.review_policy_update(actor=org.users["mo"], required_severities=[], due_days=3)

    incident = open_incident(severity="sev3")
    resolve(incident)
    assert PostIncidentReview.objects.get().due_on == T0.date() + timedelta(days=10)
    assert ReviewPolicy.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"required_severities": ["sev7"], "due_days": 5}, "required_severities"),
     ({"required_severities": [], "due_days": 0}, "due_days"),
     ({"required_severities": [], "due_days": True}, "due_days")],
)  # fmt: skip
def test_a_bad_policy_is_a_400(org, fields, field):
    with pytest.raises(ApplicationError) as refused:
        services.review_policy_update(actor=org.users["lee"], **fields)

    assert field in refused.value.extra
    assert ReviewPolicy.current().required_severities == ["sev1", "sev2"]


def test_a_review_is_written_then_published_and_then_it_is_the_record(org, review):
    mo = org.users["mo"]
    with pytest.raises(ApplicationError) as incomplete:
        services.review_publish(actor=mo, review=review)
    assert set(incomplete.value.extra) == {"impact", "causes"}

    services.review_update(
        actor=mo, review=review, impact="Card payments failed for 50 min.",
        causes="Gateway timeout too low #config-drift", went_well="Rollback in 5 minutes",
    )  # fmt: skip
    published = services.review_publish(actor=mo, review=review)

    assert (published.status, published.author) == ("published", mo)
    assert published.published_at is not None
    with pytest.raises(ConflictError):
        services.review_update(actor=mo, review=review, impact="Edited later")
    with pytest.raises(ConflictError):
        services.review_publish(actor=mo, review=review)


def test_the_review_of_an_open_incident_is_not_published(org, incident):
    review = services.review_start(actor=org.users["mo"], incident=incident)
    services.review_update(actor=org.users["mo"], review=review, impact="x", causes="y")

    with pytest.raises(ConflictError) as refused:
        services.review_publish(actor=org.users["mo"], review=review)

    assert "incident" in refused.value.extra
    review.refresh_from_db()
    assert review.status == "draft"


def test_any_incident_can_be_reviewed_once(org, incident):
    started = services.review_start(actor=org.users["mo"], incident=incident)

    assert (started.author, started.status) == (org.users["mo"], "draft")
    with pytest.raises(ConflictError):
        services.review_start(actor=org.users["lee"], incident=incident)


def test_only_the_review_fields_change(org, review):
    with pytest.raises(ApplicationError) as refused:
        services.review_update(actor=org.users["mo"], review=review, status="published")

    assert refused.value.extra == {"status": ["Read-only."]}


def test_actions_are_overdue_when_open_past_their_due_date(org, review, action):
    late = services.action_add(
        actor=org.users["mo"], review=review, title="Runbook for the gateway",
        due_on=timezone.localdate() - timedelta(days=1), team=org.mobile,
    )  # fmt: skip

    assert (action.team, action.is_overdue, late.team, late.is_overdue) == (
        org.checkout, False, org.mobile, True,
    )  # fmt: skip
    assert list(selectors.overdue_actions(user=org.users["sam"])) == [late]
    assert list(selectors.overdue_actions(user=org.users["kim"])) == []  # not her incident

    services.action_done(actor=org.users["kim"], action=late)  # the action's team
    late.refresh_from_db()
    assert (late.status, late.is_overdue, late.done_at is not None) == ("done", False, True)
    assert list(selectors.overdue_actions(user=org.users["sam"])) == []

    with pytest.raises(ConflictError):
        services.action_done(actor=org.users["mo"], action=late)
    services.action_reopen(actor=org.users["mo"], action=late)
    late.refresh_from_db()
    assert (late.status, late.done_at) == ("open", None)


def test_an_action_needs_a_title_and_a_due_date(org, review):
    with pytest.raises(ApplicationError) as refused:
        services.action_add(actor=org.users["mo"], review=review, title=" ", due_on=None)

    assert set(refused.value.extra) == {"title", "due_on"}
    assert not ReviewAction.objects.exists()


def test_an_action_becomes_a_roadmap_initiative(org, action, theme):
    initiative = services.action_to_initiative(
        actor=org.users["lee"], action=action, theme=theme, starts_on=date(2026, 4, 1)
    )

    action.refresh_from_db()
    assert action.initiative == initiative
    assert (initiative.title, initiative.owner, initiative.starts_on, initiative.ends_on) == (
        "Alert on gateway latency", org.users["mo"], date(2026, 4, 1), action.due_on
    )  # fmt: skip
    assert list(initiative.teams.all()) == [org.checkout]
    assert "From the review of" in initiative.description
    with pytest.raises(ConflictError):
        services.action_to_initiative(actor=org.users["lee"], action=action, theme=theme)


def test_a_member_cannot_put_it_on_the_roadmap_and_nothing_is_linked(org, action, theme):
    with pytest.raises(PermissionDenied):
        services.action_to_initiative(actor=org.users["mo"], action=action, theme=theme)

    action.refresh_from_db()
    assert action.initiative is None and not Initiative.objects.exists()


def test_a_frozen_roadmap_refuses_it_and_nothing_is_linked(org, action, theme, initiative):
    from roadmap import versions

    draft = theme.roadmap.versions.get(status="draft")
    versions.version_submit(actor=org.users["lee"], version=draft)

    with pytest.raises(ConflictError):
        services.action_to_initiative(actor=org.users["lee"], action=action, theme=theme)
    action.refresh_from_db()
    assert action.initiative is None and Initiative.objects.count() == 1


def test_an_action_becomes_a_maturity_improvement_action(org, action, capability):
    improvement = services.action_to_improvement_action(
        actor=org.users["mo"], action=action, capability_key="incident-response"
    )

    action.refresh_from_db()
    assert action.improvement_action == improvement
    assert (improvement.team, improvement.owner, improvement.due_date, improvement.title) == (
        org.checkout, org.users["mo"], action.due_on, action.title
    )  # fmt: skip
    with pytest.raises(ApplicationError) as unknown:
        services.action_to_improvement_action(
            actor=org.users["mo"], action=services.action_add(
                actor=org.users["mo"], review=action.review, title="Other", due_on=action.due_on
            ), capability_key="nope",
        )  # fmt: skip
    assert "capability_key" in unknown.value.extra
    assert ImprovementAction.objects.count() == 1


def test_an_action_becomes_a_training_item_in_the_teams_plan(org, action):
    item = services.action_to_training_item(actor=org.users["lee"], action=action, kind="workshop")

    action.refresh_from_db()
    plan = TrainingPlan.objects.get()
    quarter = f"{action.due_on.year}-Q{(action.due_on.month - 1) // 3 + 1}"
    assert (plan.team, plan.period, plan.budget) == (org.checkout, quarter, 0)
    assert (action.training_item, item.kind, item.plan) == (item, "workshop", plan)
    assert list(item.attendees.all()) == [org.users["mo"]]
    assert "From the review of" in item.reason
    with pytest.raises(PermissionDenied):  # training plans are the leads'
        services.action_to_training_item(
            actor=org.users["mo"], action=services.action_add(
                actor=org.users["mo"], review=action.review, title="Other", due_on=action.due_on
            ),
        )  # fmt: skip


def test_incidents_resolved_outside_the_workflow_get_their_reviews_once(org, open_incident):
    """A tool's notification resolves incidents without the workflow: the writer asks for the
    reviews the policy wants, and asking again adds nothing."""
    sev1, sev4, open_ = (open_incident(s, severity=s) for s in ("sev1", "sev4", "sev2"))
    Incident.objects.filter(pk__in=[sev1.pk, sev4.pk]).update(status="resolved", resolved_at=at(90))

    created = services.reviews_require(incident_ids=[sev1.pk, sev4.pk, open_.pk])

    assert [r.incident_id for r in created] == [sev1.pk]
    assert created[0].due_on == T0.date() + timedelta(days=5)
    assert services.reviews_require(incident_ids=[sev1.pk]) == []
