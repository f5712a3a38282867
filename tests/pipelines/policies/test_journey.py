"""Journey: a lead sees a missing security scan flagged on a service's scorecard, the team
requests a waiver, the lead grants it from the queue, and the scorecard shows it waived."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pipelines.policies import services
from portal.models import Role
from tests.e2e import conftest as e2e
from tests.factories import PASSWORD, MembershipFactory, ServiceFactory, TeamFactory, UserFactory
from tests.pipelines.policies.conftest import Delivery

pytestmark = pytest.mark.e2e
# The browser journeys' fixtures (Debian's Chromium, the live server, the sign-in form).
browser_type_launch_args, portal_url, sign_in = (
    e2e.browser_type_launch_args,
    e2e.portal_url,
    e2e.sign_in,
)


@pytest.fixture
def frozen():
    """The real clock here: the live server and the browser keep their own time."""
    yield None


@pytest.fixture
def unscanned(transactional_db):
    """Cart API deployed a commit that no scan ran on; Lee leads, Mo works in Checkout."""
    from portal.models import Environment

    checkout = TeamFactory(name="Checkout", slug="checkout")
    lee, mo = UserFactory(username="lee", first_name="Lee"), UserFactory(username="mo")
    MembershipFactory(user=lee, team=None, role=Role.LEAD)
    MembershipFactory(user=mo, team=checkout, role=Role.MEMBER)
    service = ServiceFactory(team=checkout, name="Cart API", slug="cart-api")
    production = Environment.objects.create(
        name="production", slug="production", is_production=True
    )
    delivery = Delivery(production)
    run = delivery.run(service, jobs=["build", "deploy"], at=timezone.now() - timedelta(hours=2))
    delivery.deploy(service, run=run, ref="main", at=timezone.now() - timedelta(hours=1))
    services.policy_create(
        actor=lee, name="Secure delivery", text="Every deployed commit is scanned.",
        rules=[{"kind": "security_scan_on_deployed_commit", "key": "scanned"}],
    )  # fmt: skip
    services.policies_evaluate()
    return service


def test_a_team_requests_a_waiver_and_the_lead_grants_it(page, portal_url, sign_in, unscanned):
    sign_in("lee", PASSWORD)
    page.get_by_role("link", name="Policies").click()
    page.get_by_role("link", name="Cart API").click()
    expect(page.get_by_text("no security scan ran on")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in("mo", PASSWORD)
    page.goto(portal_url + "/pipelines/compliance/cart-api/")
    page.get_by_label("Rule").select_option("scanned")
    page.get_by_label("Reason").fill("The scanner licence is being renewed")
    until = (timezone.localdate() + timedelta(days=14)).isoformat()
    page.get_by_label("Expires on").fill(until)
    page.get_by_role("button", name="Request the waiver").click()
    expect(page.get_by_text("Waiver requested: a lead decides on it.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in("lee", PASSWORD)
    page.goto(portal_url + "/pipelines/waivers/")
    expect(page.get_by_text("The scanner licence is being renewed")).to_be_visible()
    page.get_by_placeholder("Comment (needed to refuse)").fill("Two weeks, then scan")
    page.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("granted.")).to_be_visible()
    page.goto(portal_url + "/pipelines/compliance/cart-api/")
    expect(page.locator("#rule-scanned").get_by_text("waived", exact=True)).to_be_visible()
