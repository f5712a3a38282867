"""The demo's designed process (pipelines/demo_process.py) tells DEMO.md's story against the
demo's own year of history: templates adopted and not, policies met and not, waivers in every
state, change requests in every state and Payments' request followed to production.

Loaded once for the module inside a transaction rolled back at the end (as test_demo.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from pipelines import demo as pipelines_demo
from pipelines import demo_process
from pipelines.change_requests import selectors as request_selectors
from pipelines.models import (
    ChangeRequest,
    PipelineTemplate,
    Policy,
    RuleResult,
    ServiceTemplate,
    Waiver,
)
from pipelines.policies import selectors as policy_selectors
from pipelines.templates import selectors as template_selectors
from portal import demo as portal_demo
from portal.models import Service

Status = ChangeRequest.Status


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        portal_demo.load()
        pipelines_demo.load()
        connection.check_constraints()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(loaded, db) -> None:
    """The loaded demo, inside the test's own (rolled back) savepoint."""


def conformance_of(slug: str):
    [found] = template_selectors.conformance(services=Service.objects.filter(slug=slug))
    return found


def outcome_today(rule_key: str, slug: str) -> str:
    return RuleResult.objects.get(
        rule__key=rule_key, service__slug=slug, day=timezone.localdate()
    ).outcome


def test_platform_owns_three_templates_and_checkout_adopted_mid_year(demo):
    templates = {t.slug: t for t in PipelineTemplate.objects.select_related("owner_team")}
    assert set(templates) == {"standard-pipeline", "mobile-release-train", "data-pipeline"}
    assert {t.owner_team.name for t in templates.values()} == {"Platform"}
    assert templates["standard-pipeline"].versions.count() == 2
    checkout = ServiceTemplate.objects.filter(service__team__name="Checkout")
    assert {a.template.slug for a in checkout} == {"standard-pipeline"}
    # DEMO.md: adopted about six months ago (demo_story.ADOPTION_DAYS = 182).
    assert {(timezone.now() - a.assigned_at).days for a in checkout} == {182}


def test_reality_is_checked_against_the_design(demo):
    # Payments' runs are the standard pipeline's jobs: every designed stage is seen.
    assert conformance_of("payments-api").missing == []
    # Catalog was assigned the standard pipeline but its runs have no security scan yet.
    assert [s.stage.name for s in conformance_of("catalog-api").missing] == ["Security scan"]
    # Mobile's Jenkins runs have no release sign-off stage.
    assert [s.stage.name for s in conformance_of("ios-app").missing] == ["Release sign-off"]
    # Catalog's media-service and reviews follow no template: adoption is partial.
    assert not ServiceTemplate.objects.filter(service__slug__in=["media-service", "reviews"])


def test_five_policies_are_met_by_some_services_and_not_by_others(demo):
    assert Policy.objects.count() == 5
    assert Policy.objects.get(name="Keep main green").versions.count() == 2
    assert outcome_today("scanned", "payments-api") == "pass"
    assert outcome_today("scanned", "catalog-api") == "fail"
    assert outcome_today("approved", "payments-api") == "waived"  # canary instead, granted
    assert outcome_today("approved", "cart-api") == "fail"
    assert outcome_today("approved", "fraud-scoring") == "not_applicable"  # tier 2
    assert outcome_today("prod-from-main", "ledger") == "pass"


def test_compliance_has_a_daily_trend(demo):
    days = demo_process.HISTORY_DAYS
    trend = policy_selectors.compliance_trend(services=Service.objects.all(), days=days)
    assert len(trend) == days and all(point.tally.failed for point in trend)
    assert all(0 < point.tally.percent < 100 for point in trend)


def test_waivers_are_in_every_state_and_the_expired_one_is_flagged(demo):
    waivers = {(w.rule.key, w.service.slug): w for w in Waiver.objects.select_related("rule")}
    assert waivers[("approved", "checkout-web")].status == Waiver.Status.REQUESTED
    assert waivers[("scanned", "ios-app")].status == Waiver.Status.REQUESTED
    assert waivers[("approved", "payments-api")].is_active
    assert waivers[("approved", "identity")].status == Waiver.Status.REFUSED
    expired = waivers[("green-main", "catalog-api")]
    assert expired.status == Waiver.Status.GRANTED and expired.is_expired


def test_change_requests_are_in_every_state(demo):
    states = set(ChangeRequest.objects.values_list("status", flat=True))
    assert states == set(Status.values)


def test_payments_request_is_followed_from_intake_to_production(demo):
    request = ChangeRequest.objects.get(title="Apple Pay for EU cards")
    assert request.team.name == "Payments" and request.status == Status.DELIVERED
    followed = request_selectors.change_request_followed(request)
    reached = {step.environment.name for step in followed.path if step.deployment}
    assert {"staging", "production"} <= reached
    assert followed.changes[0].record.title.startswith(f"{request.key}: ")
    # demo_process.DELIVERY_DAYS: delivered by the deployment 9 days after acceptance.
    assert followed.lead_time == pytest.approx(9 * 86400)
    labels = [moment.what for moment in followed.timeline]
    assert labels[:2] == ["Requested", "Accepted"]
    # Delivered by production; the EU region follows once production is healthy.
    assert labels[-3:] == ["Deployed to production", "Delivered", "Deployed to prod-eu"]


def test_checkout_customers_waited_less_after_the_standard_pipeline(demo):
    delivered = ChangeRequest.objects.filter(team__name="Checkout", status=Status.DELIVERED)
    adoption = timezone.now() - timedelta(days=182)
    before = [r for r in delivered if r.delivered_at < adoption]
    after = [r for r in delivered if r.delivered_at >= adoption]
    assert before and after
    worst_after = max(request_selectors.customer_lead_time(r) for r in after)
    best_before = min(request_selectors.customer_lead_time(r) for r in before)
    assert worst_after < best_before


def test_it_loads_nothing_twice(demo):
    models = [PipelineTemplate, Policy, Waiver, ChangeRequest, RuleResult]
    before = [model.objects.count() for model in models]
    pipelines_demo.load()
    assert [model.objects.count() for model in models] == before
