"""Journey: a lead submits the roadmap, a stakeholder requests changes, the lead moves an
initiative and resubmits, two stakeholders approve, and the version page shows what changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.models import Role
from roadmap import services
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def plan(transactional_db):
    """Lee's roadmap, approved by all of Sam and Sue: one initiative in Q1-Q2 2027."""
    checkout = TeamFactory(name="Checkout", slug="checkout")
    users = {}
    people = [("lee", "Lee", Role.LEAD), ("sam", "Sam", Role.STAKEHOLDER)]
    for username, first, role in [*people, ("sue", "Sue", Role.STAKEHOLDER)]:
        users[username] = UserFactory(username=username, first_name=first)
        MembershipFactory(user=users[username], team=None, role=role)
    roadmap = services.roadmap_create(
        actor=users["lee"], name="DevOps 2027", approvers=[users["sam"], users["sue"]]
    )
    theme = services.theme_create(actor=users["lee"], roadmap=roadmap, name="Faster delivery")
    initiative = services.initiative_create(
        actor=users["lee"], theme=theme, title="Standard pipeline everywhere",
        starts_on=date(2027, 1, 1), ends_on=date(2027, 6, 30), teams=[checkout],
    )  # fmt: skip
    services.deliverable_create(
        actor=users["lee"], initiative=initiative, title="Checkout on the standard pipeline",
        team=checkout, starts_on=date(2027, 1, 1), due_on=date(2027, 6, 30),
        budget=Decimal(20000),
    )  # fmt: skip
    return initiative


def _decide(page, portal_url, sign_in, username, choice, comment=""):
    sign_in(username, PASSWORD)
    page.goto(portal_url + "/roadmap/")
    expect(page.get_by_text("Awaiting your decision")).to_be_visible()
    page.locator(".awaiting").get_by_role("link").click()
    page.get_by_label(choice, exact=True).check()
    if comment:
        page.get_by_label("Comment", exact=True).fill(comment)
    page.get_by_role("button", name="Record my decision").click()
    expect(page.get_by_text("Recorded.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()


def test_submit_send_back_resubmit_approve(page, portal_url, sign_in, plan):
    sign_in("lee", PASSWORD)
    page.goto(portal_url + "/roadmap/")
    page.get_by_label("What changed, for the approvers").fill("The first plan for 2027")
    page.get_by_role("button", name="Submit version 1 for approval").click()
    expect(page.get_by_text("Version 1 submitted")).to_be_visible()
    expect(page.get_by_text("the plan is frozen")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    _decide(
        page, portal_url, sign_in, "sam", "Request changes", "Checkout is busy in Q2: give it Q3"
    )
    expect(page.get_by_text("Nothing awaits", exact=False)).to_have_count(0)

    sign_in("lee", PASSWORD)
    page.goto(portal_url + f"/roadmap/initiatives/{plan.slug}/")
    page.get_by_label("Ends on", exact=True).fill("2027-09-30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved in the draft.")).to_be_visible()
    page.goto(portal_url + "/roadmap/")
    page.get_by_role("button", name="Submit version 2 for approval").click()
    expect(page.get_by_text("Version 2 submitted")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    _decide(page, portal_url, sign_in, "sam", "Approve")
    _decide(page, portal_url, sign_in, "sue", "Approve with comments", "Watch the budget")

    sign_in("sam", PASSWORD)
    page.goto(portal_url + "/roadmap/devops-2027/versions/2/")
    expect(page.locator("h1")).to_contain_text("Approved")
    sent_back = page.locator("section", has=page.get_by_role("heading", name="Since version 1"))
    expect(sent_back).to_contain_text("Checkout is busy in Q2: give it Q3")
    expect(sent_back).to_contain_text(
        "Standard pipeline everywhere: moved from Q1\N{EN DASH}Q2 2027 to Q1\N{EN DASH}Q3 2027"
    )
    decisions = page.locator("section", has=page.get_by_role("heading", name="Decisions"))
    expect(decisions).to_contain_text("(stakeholder) approved with comments — “Watch the budget”")
    page.screenshot(path="/tmp/roadmap-version-journey.png", full_page=True)
