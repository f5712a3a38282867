"""The scorecard and its trend on hand-placed results (the table in conftest ``results``)."""

from __future__ import annotations

from datetime import timedelta

from pipelines.policies import selectors, services
from portal.access import visible_services
from portal.models import Service
from tests.pipelines.policies.conftest import TODAY


def by_slug(card) -> dict:
    return {c.service.slug: c for c in card.services}


def test_each_service_shows_each_rules_latest_outcome(results, service):
    card = selectors.service_scorecard(service=service)

    outcomes = {line.rule.kind: line.outcome for line in card.lines}
    assert outcomes == {
        "prod_from_default_branch": "pass",
        "security_scan_on_deployed_commit": "fail",  # today's fail, not yesterday's pass
        "approval_for_tier": "waived",
        "default_branch_red_hours": "not_applicable",
        "deployment_carries_changes": "pass",
    }
    waived = next(line for line in card.lines if line.outcome == "waived")
    assert waived.result.waiver == results["waiver"]
    # pass + waived over applicable: (2 + 1) / 4
    assert (card.tally.compliant, card.tally.applicable, card.tally.percent) == (3, 4, 75.0)


def test_teams_and_the_organisation_count_service_rule_pairs(results):
    card = selectors.scorecard(services=Service.objects.all())

    percents = {slug: c.tally.percent for slug, c in by_slug(card).items()}
    # cart-api 3/4; checkout-web 1/3 (its r1 fail is yesterday's, still its latest); app 5/5
    assert percents == {"cart-api": 75.0, "checkout-web": 33.3, "app-api": 100.0}
    teams = {team.slug: (t.compliant, t.applicable, t.percent) for team, t in card.teams}
    assert teams == {"checkout": (4, 7, 57.1), "mobile": (5, 5, 100.0)}
    org = card.organisation
    assert (org.compliant, org.applicable, org.percent, org.failed, org.waived) == (
        9,
        12,
        75.0,
        3,
        1,
    )


def test_each_rules_pass_rate_is_over_the_services_it_applies_to(results):
    card = selectors.scorecard(services=Service.objects.all())

    r = results["rules"]
    rates = [(card.rules[rule.pk].compliant, card.rules[rule.pk].applicable) for rule in r]
    # r1 pass/fail/pass; r2 fail/fail/pass; r3 waived/n-a/pass; r4 n-a/n-a/pass; r5 all pass
    assert rates == [(2, 3), (1, 3), (2, 2), (1, 1), (3, 3)]


def test_a_member_sees_the_organisation_as_their_teams(org, results):
    card = selectors.scorecard(services=visible_services(org.users["kim"]))

    assert [c.service.slug for c in card.services] == ["app-api"]
    assert card.organisation.percent == 100.0


def test_inactive_rules_leave_the_scorecard(org, results, service):
    services.rule_update(actor=org.users["lee"], rule=results["rules"][4], is_active=False)

    card = selectors.service_scorecard(service=service)

    # r5 (pass) gone: pass + waived = 2 of 3 applicable
    assert (len(card.lines), card.tally.compliant, card.tally.applicable) == (4, 2, 3)


def test_the_trend_is_the_daily_share_of_compliant_pairs(results):
    points = selectors.compliance_trend(services=Service.objects.all(), days=3)

    assert [p.day for p in points] == [TODAY - timedelta(days=n) for n in (2, 1, 0)]
    # 2 days ago: no rows (a gap); yesterday: cart-api r2 pass, web r1 fail -> 1/2;
    # today: cart-api 3/4, web 1/2 (r2 fail, r5 pass), app 5/5 -> 9/11
    assert [(p.tally.compliant, p.tally.applicable) for p in points] == [(0, 0), (1, 2), (9, 11)]
    assert [p.tally.percent for p in points] == [None, 50.0, 81.8]


def test_a_service_never_evaluated_shows_its_rules_as_not_evaluated(org, policy):
    from tests.factories import ServiceFactory

    card = selectors.service_scorecard(service=ServiceFactory(team=org.mobile))

    assert {line.outcome for line in card.lines} == {None}
    assert card.tally.percent is None
