"""Each rule kind on hand-made runs, jobs and deployments, evaluated through
``policies_evaluate``; the comment above each assertion says how the expected value was counted.

The clock is frozen at NOW (conftest); windows are the 30 days ending today.
"""

from __future__ import annotations

import pytest

from pipelines.models import RuleResult
from pipelines.policies import services
from pipelines.policies.evaluation import policies_evaluate
from tests.factories import ServiceFactory
from tests.pipelines.policies.conftest import TODAY, days_ago, hours_ago, rule_of


def result(policy, kind: str, service) -> RuleResult:
    return RuleResult.objects.get(rule=rule_of(policy, kind), service=service, day=TODAY)


def whats(result: RuleResult) -> list[str]:
    return [item["what"] for item in result.evidence]


# --- prod_from_default_branch ------------------------------------------------------------------


def test_production_deployments_from_other_branches_fail_with_each_one_as_evidence(
    org, policy, service, delivery, staging
):
    main_run = delivery.run(service, branch="main", sha="a" * 40)
    delivery.deploy(service, run=main_run, ref="main")  # ok: ref is the default branch
    delivery.deploy(service, run=main_run, ref="refs/heads/main")  # ok: refs/heads/ dropped
    delivery.deploy(service, run=main_run, ref="a" * 40)  # ok: ref is the sha, run on main
    feature = delivery.run(service, branch="feature/x", sha="b" * 40)
    delivery.deploy(service, run=feature, ref="feature/x", at=hours_ago(3))  # fails
    delivery.deploy(service, sha="c" * 40, at=hours_ago(2))  # fails: no ref, no run
    delivery.deploy(service, run=feature, ref="feature/x", environment=staging)  # not prod
    delivery.deploy(service, run=feature, ref="feature/x", status="failure")  # not a success
    delivery.deploy(service, run=feature, ref="feature/x", at=days_ago(31))  # before window

    policies_evaluate()

    found = result(policy, "prod_from_default_branch", service)
    # checked: the 5 successful production deployments in the window (3 ok, 2 not)
    assert (found.outcome, found.checked, found.failing) == ("fail", 5, 2)
    # newest first: the unknown branch (2 h ago), then feature/x (3 h ago)
    assert whats(found) == [
        "branch not known (no ref, no run)",
        "deployed from feature/x, not main",
    ]
    item = found.evidence[1]
    assert item["deployment"]["sha"] == "b" * 40
    assert item["run"]["branch"] == "feature/x" and item["run"]["url"].startswith("https://")


def test_also_allowed_branch_patterns_pass(org, policy, service, delivery):
    rule = rule_of(policy, "prod_from_default_branch")
    services.rule_update(actor=org.users["lee"], rule=rule, params={"also_allowed": ["release/*"]})
    delivery.deploy(service, run=delivery.run(service, branch="release/1.2"), ref="release/1.2")
    delivery.deploy(service, run=delivery.run(service, branch="hotfix/1"), ref="hotfix/1")

    policies_evaluate()

    found = result(policy, "prod_from_default_branch", service)
    # release/1.2 matches release/*; hotfix/1 matches nothing: 2 checked, 1 failing
    assert (found.outcome, found.checked, found.failing) == ("fail", 2, 1)
    assert whats(found) == ["deployed from hotfix/1, not main"]


def test_a_service_with_another_default_branch_is_judged_by_its_own(org, policy, delivery):
    legacy = ServiceFactory(team=org.checkout, slug="legacy", default_branch="master")
    delivery.deploy(legacy, run=delivery.run(legacy, branch="master"), ref="master")

    policies_evaluate()

    assert result(policy, "prod_from_default_branch", legacy).outcome == "pass"


# --- security_scan_on_deployed_commit ----------------------------------------------------------


def test_a_scan_job_must_have_run_on_each_deployed_commit(org, policy, service, delivery):
    other = ServiceFactory(team=org.mobile, slug="other")
    # A: the deployment's own run has a trivy job that passed -> ok
    delivery.deploy(service, run=delivery.run(service, sha="a" * 40, jobs=["trivy image"]))
    # B: its deploy run has no scan, but an earlier run on the same commit had a job in the
    # "security" stage -> ok (any run of the service on the sha counts)
    delivery.run(
        service, sha="b" * 40, branch="feature/b", jobs=[("dep-check", "security", "success")]
    )
    delivery.deploy(service, run=delivery.run(service, sha="b" * 40, jobs=["deploy"]))
    # C: the SAST job was skipped: it did not run -> fails
    delivery.deploy(
        service, run=delivery.run(service, sha="c" * 40, jobs=[("sast", "test", "skipped")]),
        at=hours_ago(3),
    )  # fmt: skip
    # D: the container scan ran and failed: it ran -> ok
    delivery.deploy(
        service, run=delivery.run(service, sha="d" * 40, jobs=[("Container Scan", "", "failure")])
    )
    # E: only another service's run on that commit was scanned -> fails
    delivery.run(other, sha="e" * 40, jobs=["codeql"])
    delivery.deploy(
        service, run=delivery.run(service, sha="e" * 40, jobs=["build"]), at=hours_ago(2)
    )

    policies_evaluate()

    found = result(policy, "security_scan_on_deployed_commit", service)
    # 5 deployments checked; C and E failing, E (2 h ago) listed before C (3 h ago)
    assert (found.outcome, found.checked, found.failing) == ("fail", 5, 2)
    assert whats(found) == [
        f"no security scan ran on {'e' * 10}",
        f"no security scan ran on {'c' * 10}",
    ]


def test_scan_patterns_are_the_rules_params(org, policy, service, delivery):
    rule = rule_of(policy, "security_scan_on_deployed_commit")
    services.rule_update(actor=org.users["lee"], rule=rule, params={"patterns": "*grype*"})
    delivery.deploy(service, run=delivery.run(service, jobs=["trivy"]))  # trivy: not a pattern now
    delivery.deploy(service, run=delivery.run(service, jobs=["Grype scan"]))

    policies_evaluate()

    found = result(policy, "security_scan_on_deployed_commit", service)
    assert (found.outcome, found.checked, found.failing) == ("fail", 2, 1)


# --- approval_for_tier -------------------------------------------------------------------------


def test_tier_1_deployments_need_a_passed_approval_job_in_their_run(org, policy, tier1, delivery):
    delivery.deploy(tier1, run=delivery.run(tier1, jobs=["Approve production"]))  # ok
    delivery.deploy(tier1, run=delivery.run(tier1, jobs=[("deploy", "manual-gate", "success")]))
    delivery.deploy(  # the approval job was skipped -> fails
        tier1, run=delivery.run(tier1, name="release", jobs=[("approval", "", "skipped")]),
        at=hours_ago(3),
    )  # fmt: skip
    delivery.deploy(tier1, sha="f" * 40, at=hours_ago(2))  # no run linked -> fails

    policies_evaluate()

    found = result(policy, "approval_for_tier", tier1)
    # 4 checked: "Approve production" matches *approv*, stage "manual-gate" *manual*gate*
    assert (found.outcome, found.checked, found.failing) == ("fail", 4, 2)
    assert whats(found) == [
        "no pipeline run linked: no approval",
        "no approval job passed in release",
    ]


def test_other_tiers_are_not_applicable_unless_max_tier_covers_them(org, policy, service, delivery):
    assert service.tier == 2
    delivery.deploy(service, run=delivery.run(service, jobs=["build"]))

    policies_evaluate()
    assert result(policy, "approval_for_tier", service).outcome == "not_applicable"

    rule = rule_of(policy, "approval_for_tier")
    services.rule_update(actor=org.users["lee"], rule=rule, params={"max_tier": 2})
    policies_evaluate()
    assert result(policy, "approval_for_tier", service).outcome == "fail"


# --- default_branch_red_hours ------------------------------------------------------------------


def test_a_red_spell_longer_than_the_limit_fails_with_its_failing_run(
    org, policy, service, delivery
):
    delivery.run(service, status="success", at=hours_ago(100))
    first_red = delivery.run(service, status="failure", at=hours_ago(80), name="ci red")
    delivery.run(service, status="failure", at=hours_ago(70))  # still the same spell
    delivery.run(service, status="success", at=hours_ago(50))  # green: spell of 30 h
    delivery.run(service, status="failure", at=hours_ago(10))  # red again, 10 h so far
    delivery.run(service, status="failure", branch="feature/x", at=hours_ago(60))  # other branch
    delivery.run(service, status="cancelled", at=hours_ago(40))  # says nothing

    policies_evaluate()

    found = result(policy, "default_branch_red_hours", service)
    # checked: the 5 decided main runs; failing: the 30 h spell (80 h -> 50 h ago) > 24 h;
    # the current 10 h spell is under the limit
    assert (found.outcome, found.checked, found.failing) == ("fail", 5, 1)
    assert found.evidence == [
        {
            "what": "red for 30.0 h (limit 24 h)",
            "from": hours_ago(80).isoformat(),
            "to": hours_ago(50).isoformat(),
            "hours": 30.0,
            "run": {"id": first_red.pk, "name": "ci red", "branch": "main",
                    "sha": first_red.sha, "url": first_red.url},
        }
    ]  # fmt: skip


def test_a_branch_still_red_is_measured_to_now(org, policy, service, delivery):
    delivery.run(service, status="success", at=hours_ago(40))
    delivery.run(service, status="failure", at=hours_ago(30))

    policies_evaluate()

    found = result(policy, "default_branch_red_hours", service)
    # red since 30 h ago, nothing green since: 30 h > 24 h
    assert (found.outcome, found.failing) == ("fail", 1)
    assert (found.evidence[0]["to"], found.evidence[0]["hours"]) == ("still red", 30.0)


def test_a_spell_begun_before_the_window_counts_from_its_start(org, policy, service, delivery):
    delivery.run(service, status="failure", at=days_ago(40))  # the last run before the window
    delivery.run(service, status="success", at=days_ago(29))

    policies_evaluate()

    found = result(policy, "default_branch_red_hours", service)
    # red from 40 to 29 days ago: 11 days = 264 h, reaching into the window
    assert (found.outcome, found.checked, found.evidence[0]["hours"]) == ("fail", 1, 264.0)


def test_the_red_limit_is_the_rules_hours(org, policy, service, delivery):
    services.rule_update(
        actor=org.users["lee"], rule=rule_of(policy, "default_branch_red_hours"),
        params={"hours": 48},
    )  # fmt: skip
    delivery.run(service, status="failure", at=hours_ago(80))
    delivery.run(service, status="success", at=hours_ago(50))

    policies_evaluate()

    # the 30 h spell is within 48 h: pass, 2 runs checked
    found = result(policy, "default_branch_red_hours", service)
    assert (found.outcome, found.checked, found.failing) == ("pass", 2, 0)


def test_no_default_branch_runs_is_not_applicable(org, policy, service, delivery):
    delivery.run(service, status="failure", branch="feature/x")

    policies_evaluate()

    assert result(policy, "default_branch_red_hours", service).outcome == "not_applicable"


# --- deployment_carries_changes ----------------------------------------------------------------


def test_each_deployment_carries_at_least_one_change(org, policy, service, delivery):
    delivery.deploy(service, changes=2)
    bare = delivery.deploy(service, changes=0, at=hours_ago(2))

    policies_evaluate()

    found = result(policy, "deployment_carries_changes", service)
    # 2 deployments; the one with no change fails
    assert (found.outcome, found.checked, found.failing) == ("fail", 2, 1)
    assert found.evidence[0]["deployment"]["id"] == bare.pk


# --- no production deployment ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        "prod_from_default_branch",
        "security_scan_on_deployed_commit",
        "approval_for_tier",
        "deployment_carries_changes",
    ],
)
def test_deployment_rules_are_not_applicable_without_production_deployments(
    org, policy, tier1, delivery, staging, kind
):
    delivery.deploy(tier1, run=delivery.run(tier1, branch="x"), ref="x", environment=staging)

    policies_evaluate()

    found = result(policy, kind, tier1)
    assert (found.outcome, found.checked, found.evidence) == ("not_applicable", 0, [])


def test_a_compliant_service_passes_every_rule(org, policy, tier1, delivery):
    run = delivery.run(tier1, jobs=["unit tests", "trivy scan", "approve"])
    delivery.deploy(tier1, run=run, ref="main")

    policies_evaluate()

    outcomes = dict(RuleResult.objects.filter(service=tier1).values_list("rule__kind", "outcome"))
    assert outcomes == {kind: "pass" for kind in outcomes} and len(outcomes) == 5
