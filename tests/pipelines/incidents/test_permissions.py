"""Who may do what with incidents and reviews, role by role: members act on their teams'
incidents (the service's team and the team owning it), leads and admins on all, stakeholders
and viewers read; other teams' incidents are invisible to members; leads set the policy."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from pipelines.incidents import selectors, services
from pipelines.models import IncidentEvent

ROLES = ["ada", "lee", "sam", "mo", "val", "kim"]
RESPONDERS = {"ada", "lee", "mo"}  # of Checkout's incident
READERS = {"ada", "lee", "sam", "mo", "val"}


@pytest.mark.parametrize("user", ROLES)
def test_who_sees_checkouts_incident(org, incident, user):
    seen = selectors.visible_incidents(org.users[user]).filter(pk=incident.pk).exists()

    assert seen == (user in READERS)


@pytest.mark.parametrize("user", ROLES)
def test_who_responds_to_checkouts_incident(org, incident, user):
    actor = org.users[user]
    allowed = user in RESPONDERS
    assert services.may_respond(actor, incident) == allowed

    if allowed:
        services.incident_acknowledge(actor=actor, incident=incident)
        services.incident_note(actor=actor, incident=incident, text="On it.")
    else:
        for attempt in (
            lambda: services.incident_acknowledge(actor=actor, incident=incident),
            lambda: services.incident_note(actor=actor, incident=incident, text="On it."),
            lambda: services.incident_triage(actor=actor, incident=incident, severity="sev1"),
            lambda: services.review_start(actor=actor, incident=incident),
        ):
            with pytest.raises(PermissionDenied):
                attempt()
        assert IncidentEvent.objects.filter(incident=incident).count() == 1  # opened only


def test_the_owner_team_responds_and_sees_it_too(org, incident):
    kim = org.users["kim"]
    services.incident_triage(actor=org.users["lee"], incident=incident, owner_team=org.mobile)

    assert selectors.visible_incidents(kim).filter(pk=incident.pk).exists()
    services.incident_acknowledge(actor=kim, incident=incident)
    services.incident_triage(actor=kim, incident=incident, commander=kim)
    incident.refresh_from_db()
    assert (incident.status, incident.commander) == ("acknowledged", kim)


@pytest.mark.parametrize("user", ["val", "sam", "kim"])
def test_only_its_teams_open_a_services_incident(org, service, user):
    with pytest.raises(PermissionDenied):
        services.incident_open(actor=org.users[user], service=service, title="Down")


@pytest.mark.parametrize("user", ROLES)
def test_who_updates_a_review_and_its_actions(org, incident, user):
    review = services.review_start(actor=org.users["mo"], incident=incident)
    action = services.action_add(
        actor=org.users["mo"], review=review, title="Fix", due_on=review.due_on
    )
    actor = org.users[user]

    if user in RESPONDERS:
        services.review_update(actor=actor, review=review, impact="Slow checkout")
        services.action_done(actor=actor, action=action)
    else:
        with pytest.raises(PermissionDenied):
            services.review_update(actor=actor, review=review, impact="Slow checkout")
        with pytest.raises(PermissionDenied):
            services.action_done(actor=actor, action=action)


def test_an_actions_owner_marks_it_done_though_in_another_team(org, incident):
    review = services.review_start(actor=org.users["mo"], incident=incident)
    action = services.action_add(
        actor=org.users["mo"], review=review, title="Fix", due_on=review.due_on,
        owner=org.users["kim"],
    )  # fmt: skip

    services.action_done(actor=org.users["kim"], action=action)

    action.refresh_from_db()
    assert action.status == "done"


@pytest.mark.parametrize("user", ROLES)
def test_only_leads_and_admins_set_the_review_policy(org, user):
    change = lambda: services.review_policy_update(  # noqa: E731
        actor=org.users[user], required_severities=["sev1"], due_days=3
    )

    if user in {"ada", "lee"}:
        assert change().due_days == 3
    else:
        with pytest.raises(PermissionDenied):
            change()
