"""Journey: a lead opens the DORA dashboard, sees the keys and the drawn weekly chart, drills
into a team, and adds an alert rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.models import Role
from reporting.models import AlertRule
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
    deploy_daily,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def lee(transactional_db):
    checkout = TeamFactory(name="Checkout", slug="checkout")
    cart = ServiceFactory(team=checkout, name="Cart API", slug="cart-api")
    deploy_daily(cart, 12, before=timedelta(hours=1))  # the last 90 days show 12
    user = UserFactory(username="lee", first_name="Lee", last_name="Okafor")
    MembershipFactory(user=user, team=None, role=Role.LEAD)
    return user


def test_a_lead_reads_the_dashboard_drills_into_a_team_and_adds_an_alert(
    page, portal_url, sign_in, lee
):
    sign_in("lee", PASSWORD)
    page.goto(portal_url + "/metrics/")

    expect(page.get_by_role("heading", name="Organisation")).to_be_visible()
    expect(page.get_by_text("12 production deployments")).to_be_visible()
    expect(page.locator(".chart .main-svg").first).to_be_visible()  # plotly.js drew it

    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_role("link", name="Cart API")).to_be_visible()

    page.get_by_role("link", name="Alerts →").click()
    page.get_by_role("link", name="Add a rule").first.click()
    page.get_by_label("Name").fill("Failing changes")
    page.get_by_label("Kind").select_option("dora")
    page.get_by_label("Metric").select_option("change_failure_rate")
    page.get_by_label("Threshold").fill("20")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Give at least one address or a webhook URL")).to_be_visible()

    page.get_by_label("Emails").fill("lee@example.com")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("link", name="Failing changes")).to_be_visible()
    assert AlertRule.objects.get().email_list == ["lee@example.com"]
