"""``policies_evaluate``: one row per rule, service and day however often it runs, a fixed
number of queries whatever the number of services, only active rules; and the rule params'
validation (pure, no database)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipelines.models import RuleResult
from pipelines.policies import params as rule_params
from pipelines.policies import services
from pipelines.policies.evaluation import policies_evaluate
from portal.exceptions import ApplicationError
from tests.factories import ServiceFactory
from tests.pipelines.policies.conftest import NOW, TODAY, hours_ago, rule_of


def test_evaluating_twice_a_day_keeps_one_row_per_rule_service_and_day(
    org, policy, service, delivery
):
    delivery.deploy(service, run=delivery.run(service, jobs=["build"]), changes=0)
    first = policies_evaluate()
    assert RuleResult.objects.count() == 5  # 5 rules x 1 service x 1 day

    delivery.deploy(service, run=delivery.run(service, jobs=["trivy"]), changes=0)
    second = policies_evaluate()

    assert RuleResult.objects.count() == 5
    assert first == second  # same outcomes; the counts inside them changed
    scan = RuleResult.objects.get(rule=rule_of(policy, "security_scan_on_deployed_commit"))
    assert (scan.checked, scan.failing) == (2, 1), "the second run's verdict replaced the first"


def test_each_day_gets_its_own_row_for_the_trend(org, policy, service, frozen):
    policies_evaluate()
    frozen.move_to(NOW + timedelta(days=1))
    policies_evaluate()

    days = sorted(set(RuleResult.objects.values_list("day", flat=True)))
    assert days == [TODAY, TODAY + timedelta(days=1)]
    assert RuleResult.objects.count() == 10


def test_only_active_rules_are_evaluated(org, policy, service):
    services.rule_update(
        actor=org.users["lee"], rule=rule_of(policy, "approval_for_tier"), is_active=False
    )

    outcomes = policies_evaluate()

    assert sum(outcomes.values()) == 4
    assert not RuleResult.objects.filter(rule__kind="approval_for_tier").exists()


def test_a_services_subset_is_evaluated_alone(org, policy, service):
    other = ServiceFactory(team=org.mobile, slug="other")

    policies_evaluate(services=[other])

    assert set(RuleResult.objects.values_list("service__slug", flat=True)) == {"other"}


def test_the_number_of_queries_does_not_grow_with_services(
    org, policy, delivery, django_assert_max_num_queries
):
    for n in range(6):
        service = ServiceFactory(team=org.checkout, slug=f"s{n}", tier=1)
        run = delivery.run(service, jobs=["scan", "approve"], sha=f"{n:040x}")
        delivery.deploy(service, run=run, ref="main")
        delivery.run(service, status="failure", at=hours_ago(30))

    # services, rules, waivers; deployments (+ their runs' jobs), runs on the deployed shas
    # (+ jobs), default-branch runs in and before the window; the upsert
    with django_assert_max_num_queries(10):
        outcomes = policies_evaluate()
    assert sum(outcomes.values()) == 30


def test_evaluating_with_no_rules_or_services_does_nothing(db):
    assert policies_evaluate() == {}


# --- params (pure) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "stored"),
    [
        ("prod_from_default_branch", {}, {"also_allowed": []}),
        (
            "approval_for_tier",
            {"max_tier": 2},
            {"max_tier": 2, "patterns": rule_params.APPROVAL_PATTERNS},
        ),
        ("default_branch_red_hours", {"hours": 12}, {"hours": 12.0}),
        ("deployment_carries_changes", {}, {}),
    ],
)
def test_params_are_stored_with_their_defaults(kind, params, stored):
    assert rule_params.params_clean(kind, params) == stored


@pytest.mark.parametrize(
    ("kind", "params", "problem"),
    [
        ("default_branch_red_hours", {"hours": "24"}, "hours: Input should be a valid number"),
        ("default_branch_red_hours", {"hours": 0}, "hours: Input should be greater than 0"),
        ("default_branch_red_hours", {"hours": True}, "hours: Input should be a valid number"),
        ("prod_from_default_branch", {"also_allowed": "release/*"},
         "also_allowed: Input should be a valid list"),
        ("approval_for_tier", {"max_tier": 4}, "max_tier: Input should be less than or equal to 3"),
        ("security_scan_on_deployed_commit", {"patterns": " | "},
         "patterns: Value error, give at least one pattern, e.g. *scan*|*trivy*"),
        ("deployment_carries_changes", {"x": 1}, "x: Extra inputs are not permitted"),
        ("deployment_carries_changes", [], "params must be a JSON object"),
    ],
)  # fmt: skip
def test_params_of_the_wrong_type_or_range_are_refused(kind, params, problem):
    with pytest.raises(rule_params.ParamsError) as refused:
        rule_params.params_clean(kind, params)
    assert refused.value.problems == [problem]


def test_a_rule_with_bad_params_or_kind_is_not_saved(org, policy):
    lee = org.users["lee"]
    with pytest.raises(ApplicationError) as refused:
        services.rule_create(
            actor=lee, policy=policy, kind="approval_for_tier", params={"max_tier": "1"}
        )
    assert refused.value.extra == {"params": ["max_tier: Input should be a valid integer"]}
    with pytest.raises(ApplicationError) as refused:
        services.rule_create(actor=lee, policy=policy, kind="coverage")
    assert list(refused.value.extra) == ["kind"]
    assert policy.rules.count() == 5


def test_a_policy_with_one_bad_rule_is_not_saved_at_all(org):
    with pytest.raises(ApplicationError) as refused:
        services.policy_create(
            actor=org.users["lee"], name="Half", text="Text",
            rules=[{"kind": "deployment_carries_changes"}, {"kind": "nope"}],
        )  # fmt: skip
    problems = refused.value.extra["rules"]  # per rule, in order, as DRF reports nested input
    assert problems[0] == {} and list(problems[1]) == ["kind"]
    from pipelines.models import Policy, PolicyRule

    assert not Policy.objects.exists() and not PolicyRule.objects.exists()


def test_new_text_is_a_new_version_and_the_same_text_is_not(org, policy):
    lee = org.users["lee"]
    services.policy_update_text(actor=lee, policy=policy, text="Stricter now.")
    services.policy_update_text(actor=lee, policy=policy, text="Stricter now.")

    versions = list(policy.versions.order_by("number").values_list("number", "text"))
    assert versions == [
        (1, "Production deployments are traceable, scanned and approved."),
        (2, "Stricter now."),
    ]
