"""Journey: a member fills an assessment with an automatic suggestion and submits it; a lead
signs it off; the radar shows both rounds."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from maturity import services
from maturity.catalogue import parse_model
from portal.models import Role
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
    deploy_daily,
)
from tests.maturity.test_workflow import SMALL_MODEL

pytestmark = pytest.mark.e2e


@pytest.fixture
def checkout(transactional_db):
    team = TeamFactory(name="Checkout", slug="checkout")
    cart = ServiceFactory(team=team, name="Cart API", slug="cart-api")
    deploy_daily(cart, 90)  # daily: the check suggests level 4
    mo = UserFactory(username="mo", first_name="Mo", last_name="Rahman")
    MembershipFactory(user=mo, team=team, role=Role.MEMBER)
    lee = UserFactory(username="lee", first_name="Lee", last_name="Chen")
    MembershipFactory(user=lee, team=None, role=Role.LEAD)
    model = services.model_import(actor=lee, spec=parse_model(SMALL_MODEL))
    earlier = services.assessment_create(actor=mo, team=team, model=model, period="2026-Q2")
    services.ratings_update(
        actor=mo,
        assessment=earlier,
        changes={"deployment-automation": {"level": 2}, "learning-culture": {"level": 2}},
    )
    services.assessment_submit(actor=mo, assessment=earlier)
    services.assessment_review(actor=lee, assessment=earlier, accept=True)
    return team


def test_a_member_fills_and_submits_and_a_lead_signs_off(page, portal_url, sign_in, checkout):
    sign_in("mo", PASSWORD)
    page.goto(portal_url + "/maturity/")
    page.get_by_label("Team").select_option("checkout")
    page.get_by_label("Period").fill("2026-Q3")
    page.get_by_role("button", name="Start the draft").click()

    expect(page.get_by_role("heading", name="Checkout · 2026-Q3")).to_be_visible()
    expect(page.get_by_text("suggested 4 · production deployments per day: 1")).to_be_visible()
    page.locator("#id_level-learning-culture").select_option("3")
    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.get_by_text("Submitted for review.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in("lee", PASSWORD)
    page.goto(portal_url + "/maturity/assessments/checkout-2026-q3/")
    page.get_by_role("button", name="Sign off").click()

    expect(page.get_by_text("Review recorded.")).to_be_visible()
    expect(page.locator(".badge", has_text="reviewed")).to_be_visible()
    expect(page.locator(".chart .scatterlayer .trace, .chart .polarlayer .trace")).to_have_count(2)
