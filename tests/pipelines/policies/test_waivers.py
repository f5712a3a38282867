"""Waivers: requested by the service's team, decided once by a lead; a granted waiver turns
a failing result into ``waived`` until its expiry day (inclusive), then stops applying by
itself, with no job in between."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from pipelines.models import RuleResult, Waiver
from pipelines.policies import services
from pipelines.policies.evaluation import policies_evaluate
from portal.exceptions import ApplicationError, ConflictError
from tests.pipelines.policies.conftest import NOW, TODAY, rule_of


@pytest.fixture
def unscanned(org, policy, service, delivery):
    """Cart API deployed a commit no scan ran on: the scan rule fails for it."""
    delivery.deploy(service, run=delivery.run(service, jobs=["build"]))
    return rule_of(policy, "security_scan_on_deployed_commit")


def request(org, rule, service, *, who="mo", days=14, reason="Scanner licence renewal"):
    return services.waiver_request(
        actor=org.users[who],
        rule=rule,
        service=service,
        reason=reason,
        expires_on=TODAY + timedelta(days=days),
    )


def outcome(rule, service, day=TODAY) -> RuleResult:
    return RuleResult.objects.get(rule=rule, service=service, day=day)


def test_a_granted_waiver_turns_the_failure_into_waived_and_is_recorded(org, unscanned, service):
    waiver = request(org, unscanned, service)
    policies_evaluate()
    assert outcome(unscanned, service).outcome == "fail", "a request alone waives nothing"

    services.waiver_decide(actor=org.users["lee"], waiver=waiver, grant=True, comment="ok")

    # granting re-evaluates the rule for the service at once
    found = outcome(unscanned, service)
    assert (found.outcome, found.waiver_id, found.failing) == ("waived", waiver.pk, 1)
    assert found.evidence, "the evidence stays visible under the waiver"


def test_a_waiver_applies_through_its_expiry_day_and_stops_by_itself(
    org, unscanned, service, frozen
):
    waiver = request(org, unscanned, service, days=3)
    services.waiver_decide(actor=org.users["lee"], waiver=waiver, grant=True)

    frozen.move_to(NOW + timedelta(days=3))  # the expiry day itself: still applies
    policies_evaluate()
    assert outcome(unscanned, service, TODAY + timedelta(days=3)).outcome == "waived"

    frozen.move_to(NOW + timedelta(days=4))  # the day after: nothing changed the waiver row
    waiver.refresh_from_db()
    assert (waiver.status, waiver.is_expired, waiver.is_active) == ("granted", True, False)
    policies_evaluate()
    found = outcome(unscanned, service, TODAY + timedelta(days=4))
    assert (found.outcome, found.waiver) == ("fail", None)


def test_refused_and_pending_waivers_do_not_apply(org, unscanned, service):
    refused = request(org, unscanned, service)
    services.waiver_decide(
        actor=org.users["lee"], waiver=refused, grant=False, comment="Fix the pipeline"
    )
    request(org, unscanned, service)  # pending

    policies_evaluate()

    assert outcome(unscanned, service).outcome == "fail"


def test_a_waiver_only_waives_its_own_rule_and_service(org, policy, unscanned, service, delivery):
    from tests.factories import ServiceFactory

    other = ServiceFactory(team=org.checkout, slug="other")
    delivery.deploy(other, run=delivery.run(other, jobs=["build"]), changes=0)
    waiver = request(org, unscanned, other)
    services.waiver_decide(actor=org.users["lee"], waiver=waiver, grant=True)

    policies_evaluate()

    assert outcome(unscanned, other).outcome == "waived"
    assert outcome(unscanned, service).outcome == "fail"
    assert outcome(rule_of(policy, "deployment_carries_changes"), other).outcome == "fail"


@pytest.mark.parametrize(
    ("expires_in", "problem"),
    [
        (None, "This field is required."),
        (-1, "Give a day after today."),
        (0, "Give a day after today."),
        (366, "At most 365 days from today."),
    ],
)
def test_the_expiry_must_be_after_today_and_within_a_year(
    org, unscanned, service, expires_in, problem
):
    with pytest.raises(ApplicationError) as refused:
        services.waiver_request(
            actor=org.users["mo"], rule=unscanned, service=service, reason="Because",
            expires_on=None if expires_in is None else TODAY + timedelta(days=expires_in),
        )  # fmt: skip
    assert refused.value.extra == {"expires_on": [problem]}
    assert not Waiver.objects.exists()


def test_a_year_ahead_is_the_longest_waiver(org, unscanned, service):
    assert request(org, unscanned, service, days=365).expires_on == TODAY + timedelta(days=365)


def test_a_reason_is_required(org, unscanned, service):
    with pytest.raises(ApplicationError) as refused:
        request(org, unscanned, service, reason="  ")
    assert refused.value.extra == {"reason": ["This field is required."]}


@pytest.mark.parametrize("who", ["kim", "val", "sam"])
def test_only_the_services_team_and_leads_request_waivers(org, unscanned, service, who):
    # kim: another team's member; val: the team's viewer; sam: a stakeholder
    with pytest.raises(PermissionDenied):
        request(org, unscanned, service, who=who)
    assert request(org, unscanned, service, who="lee").requested_by == org.users["lee"]


def test_one_open_request_per_rule_and_service(org, unscanned, service):
    request(org, unscanned, service)
    with pytest.raises(ConflictError):
        request(org, unscanned, service)


def test_deciding_twice_or_a_refused_waiver_is_a_conflict(org, unscanned, service):
    granted = request(org, unscanned, service)
    services.waiver_decide(actor=org.users["lee"], waiver=granted, grant=True)
    with pytest.raises(ConflictError):
        services.waiver_decide(actor=org.users["lee"], waiver=granted, grant=False, comment="no")

    refused = request(org, unscanned, service)
    services.waiver_decide(actor=org.users["lee"], waiver=refused, grant=False, comment="no")
    with pytest.raises(ConflictError):
        services.waiver_decide(actor=org.users["lee"], waiver=refused, grant=True)
    refused.refresh_from_db()
    assert refused.status == "refused"


def test_refusing_needs_a_comment_and_only_leads_decide(org, unscanned, service):
    waiver = request(org, unscanned, service)
    with pytest.raises(ApplicationError) as refused:
        services.waiver_decide(actor=org.users["lee"], waiver=waiver, grant=False, comment=" ")
    assert refused.value.extra == {"comment": ["A refusal needs a comment."]}
    with pytest.raises(PermissionDenied):
        services.waiver_decide(actor=org.users["mo"], waiver=waiver, grant=True)
    waiver.refresh_from_db()
    assert (waiver.status, waiver.decided_by) == ("requested", None)


def test_a_request_that_expired_undecided_cannot_be_granted(org, unscanned, service, frozen):
    waiver = request(org, unscanned, service, days=2)
    frozen.move_to(NOW + timedelta(days=3))

    with pytest.raises(ConflictError):
        services.waiver_decide(actor=org.users["lee"], waiver=waiver, grant=True)
