"""Journeys of the delivery process (issue 8), on the real clock.

1. A lead assigns a template, sees the missing security stage flagged (on conformance and on the
   service's policy scorecard), a team member requests a waiver, the lead grants it, and the
   scorecard shows the rule waived.
2. A customer's change request followed to production: a member logs it, a lead accepts it, the
   team starts it, a change carrying its key reaches staging and production, and its page shows
   it delivered with the deployment and the customer lead time; so does the team's lead time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pipelines.change_requests import services as requests
from pipelines.policies import services as policies
from pipelines.services import deployment_push
from pipelines.templates import services as templates
from portal.models import Environment, Role
from tests.factories import PASSWORD, MembershipFactory, ServiceFactory, TeamFactory, UserFactory
from tests.pipelines.policies.conftest import Delivery

pytestmark = pytest.mark.e2e

STAGES = [
    {"name": "Build", "kind": "build"},
    {"name": "Unit tests", "kind": "unit_test", "gate": "coverage >= 80%"},
    {"name": "Security scan", "kind": "static_analysis", "gate": "critical_vulnerabilities == 0"},
    {"name": "Deploy to production", "kind": "deploy", "environment": "production"},
]


@dataclass
class Org:
    lee: object  # the DevOps lead, organisation-wide
    mo: object  # a member of Checkout
    cart: object  # Checkout's Cart API
    production: Environment


@pytest.fixture
def org(transactional_db) -> Org:
    checkout = TeamFactory(name="Checkout", slug="checkout")
    lee = UserFactory(username="lee", first_name="Lee", last_name="Chen")
    mo = UserFactory(username="mo", first_name="Mo", last_name="Ali")
    MembershipFactory(user=lee, team=None, role=Role.LEAD)
    MembershipFactory(user=mo, team=checkout, role=Role.MEMBER)
    Environment.objects.create(name="staging", slug="staging", position=20)
    production = Environment.objects.create(
        name="production", slug="production", position=30, is_production=True
    )
    cart = ServiceFactory(team=checkout, name="Cart API", slug="cart-api")
    return Org(lee=lee, mo=mo, cart=cart, production=production)


@pytest.fixture
def unscanned(org) -> Org:
    """The standard template designs a security scan; Cart API's real runs build, test and
    deploy but never scan, and the policy in force asks for a scan of every deployed commit."""
    templates.template_create(actor=org.lee, name="Standard pipeline", stages=STAGES)
    delivery = Delivery(org.production)
    now = timezone.now()
    for hours in (26, 2):
        run = delivery.run(
            org.cart, jobs=["build", "unit-tests", "deploy"], at=now - timedelta(hours=hours)
        )
        delivery.deploy(org.cart, run=run, ref="main", at=now - timedelta(hours=hours - 1))
    policies.policy_create(
        actor=org.lee, name="Secure delivery", text="Every deployed commit is scanned.",
        rules=[{"kind": "security_scan_on_deployed_commit", "key": "scanned"}],
    )  # fmt: skip
    policies.policies_evaluate()
    return org


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_a_lead_assigns_a_template_sees_the_missing_scan_and_grants_a_waiver(
    page, portal_url, sign_in, unscanned
):
    sign_in("lee", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="Conformance per service").click()
    expect(page.get_by_role("heading", name="No service follows a template yet")).to_be_visible()
    assign = page.locator("form", has=page.get_by_role("button", name="Assign"))
    assign.get_by_label("Service").select_option(label="Checkout / Cart API")
    assign.get_by_label("Template").select_option(label="Standard pipeline")
    assign.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("Cart API now follows Standard pipeline.")).to_be_visible()

    row = page.locator("tr", has=page.get_by_role("link", name="Cart API"))
    # Build, unit tests and deploy are in its runs; the scan is not: 3 of 4 stages.
    expect(row).to_contain_text("75%")
    expect(row).to_contain_text("3 of 4 stages · 2 runs")
    expect(row).to_contain_text("missing Security scan (static analysis / sast)")
    expect(row.locator(".badge-red", has_text="missing")).to_have_count(1)
    # Both production deployments went out without the scan designed before them.
    expect(row.get_by_text("skipped", exact=True)).to_have_count(2)
    expect(row.locator(".badge-red", has_text="Security scan")).to_have_count(2)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Policies").click()
    page.get_by_role("link", name="Cart API").first.click()
    expect(page.get_by_role("heading", name="Cart API: lifecycle policies")).to_be_visible()
    scanned = page.locator("#rule-scanned")
    expect(scanned.locator(".badge", has_text="fail")).to_be_visible()
    expect(scanned).to_contain_text("A security scan ran on the deployed commit")
    expect(scanned).to_contain_text("2 checked, 2 failing")
    expect(scanned.get_by_text("no security scan ran on")).to_have_count(2)
    expect(page.locator(".stat")).to_contain_text("0 of 1 applicable rules")
    _sign_out(page)

    sign_in("mo", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Policies").click()
    page.get_by_role("link", name="Cart API").first.click()
    until = timezone.localdate() + timedelta(days=14)
    page.get_by_label("Rule").select_option(label="Secure delivery: scanned")
    page.get_by_label("Reason").fill("The scanner licence is being renewed")
    page.get_by_label("Expires on").fill(until.isoformat())
    page.get_by_role("button", name="Request the waiver").click()
    expect(page.get_by_text("Waiver requested: a lead decides on it.")).to_be_visible()
    expect(scanned).to_contain_text("Waiver requested by Mo Ali")
    expect(scanned.get_by_text("awaiting a decision")).to_be_visible()
    expect(scanned.locator(".badge", has_text="fail")).to_be_visible()  # not yet waived
    _sign_out(page)

    sign_in("lee", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Policies").click()
    page.get_by_role("navigation", name="Policies").get_by_role("link", name="Waivers").click()
    request = page.locator("tr", has_text="The scanner licence is being renewed")
    expect(request).to_contain_text("Cart API")
    expect(request).to_contain_text("asked by Mo Ali")
    request.get_by_label("Comment").fill("Two weeks, then scan")
    request.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("Waiver of scanned for Cart API granted.")).to_be_visible()
    expect(page.get_by_role("heading", name="No waiver awaits a decision")).to_be_visible()
    page.get_by_role("navigation", name="Status").get_by_role("link", name="Granted").click()
    page.get_by_role("link", name="Cart API").click()

    expect(scanned.locator(".badge", has_text="waived").first).to_be_visible()
    expect(scanned).to_contain_text(f"Waived until {until.day} {until:%b %Y}")
    expect(scanned).to_contain_text("The scanner licence is being renewed")
    expect(page.locator(".stat")).to_contain_text("100%")
    expect(page.locator(".stat")).to_contain_text("1 of 1 applicable rules")
    waivers = page.locator("section", has=page.get_by_role("heading", name="Waivers"))
    expect(waivers).to_contain_text("granted by Lee Chen: “Two weeks, then scan”")


def _ship(org: Org, title: str) -> None:
    """The team's commit reaches staging, then production, as the push API records it; then
    the change requests are refreshed as the worker does after each sync."""
    now = timezone.now()
    change = {"sha": "ab12cd34ef" * 4, "committed_at": now, "title": title}
    for environment, seconds in [("staging", 1), ("production", 2)]:
        deployment_push(
            actor=org.mo, service=org.cart, external_id=f"{environment}-1",
            environment=environment, status="success", started_at=now,
            finished_at=now + timedelta(seconds=seconds), sha=change["sha"], changes=[change],
        )  # fmt: skip
    requests.cr_refresh_delivery()


def test_a_customer_change_request_is_followed_to_production(page, portal_url, sign_in, org):
    sign_in("mo", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Change requests").click()
    page.locator("summary", has_text="Log a customer request").click()
    intake = page.locator("form", has=page.get_by_role("button", name="Log it"))
    intake.get_by_label("Team").select_option(label="Checkout")
    intake.get_by_label("Title").fill("Apple Pay at checkout")
    intake.get_by_label("Requester").fill("ACME Retail")
    intake.get_by_label("Value").select_option(label="High")
    intake.get_by_role("button", name="Log it").click()
    expect(page.get_by_text("CR-1 logged: a lead triages it.")).to_be_visible()
    expect(page.get_by_role("heading", name="CR-1 Apple Pay at checkout")).to_be_visible()
    expect(page.get_by_text("Awaiting triage")).to_be_visible()
    _sign_out(page)

    sign_in("lee", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Change requests").click()
    row = page.locator("tr", has_text="Apple Pay at checkout")
    row.get_by_label("Comment on CR-1").fill("Worth it for the spring campaign")
    row.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("CR-1 accepted.")).to_be_visible()
    expect(row.locator(".badge", has_text="Accepted")).to_be_visible()
    _sign_out(page)

    sign_in("mo", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Change requests").click()
    page.get_by_role("link", name="Apple Pay at checkout").click()
    page.get_by_role("button", name="Start work").click()
    expect(page.get_by_text("CR-1 is in progress.")).to_be_visible()
    expect(page.get_by_text("mention CR-1 in a commit message")).to_be_visible()

    _ship(org, "CR-1 Apple Pay at checkout")
    page.reload()

    expect(page.locator(".page-head .badge")).to_have_text("Delivered")
    timeline = page.locator("ol.timeline")
    for moment in ["Requested", "Accepted", "In progress", "First commit", "Deployed to staging",
                   "Deployed to production", "Delivered"]:  # fmt: skip
        expect(timeline.get_by_text(moment, exact=True)).to_be_visible()
    expect(timeline).to_contain_text("Worth it for the spring campaign")
    lead_time = page.locator("section", has=page.get_by_role("heading", name="Customer lead time"))
    expect(lead_time.locator(".big-number")).to_have_text(re.compile(r"^\d+ min$"))
    expect(lead_time).to_contain_text("→ in production")
    delivered_by = lead_time.locator("dt", has_text="Delivered by").locator("+ dd")
    expect(delivered_by).to_have_text("Cart API to production (ab12cd34ef)")
    path = page.locator("section", has=page.get_by_role("heading", name="Path to production"))
    for environment in ["staging", "production"]:
        expect(path.locator("tr", has_text=environment)).to_contain_text("Cart API ab12cd34ef")
    changes = page.locator("section", has=page.get_by_role("heading", name="Changes"))
    expect(changes).to_contain_text("CR-1 Apple Pay at checkout")
    deployments = page.locator("section", has=page.get_by_role("heading", name="Deployments"))
    expect(deployments.locator("tr", has_text="Cart API → production")).to_contain_text("by key")

    page.get_by_role("link", name="Change requests").first.click()
    expect(page.locator("tr", has_text="Apple Pay at checkout")).to_contain_text("Delivered")
    page.get_by_role("link", name="Customer lead time").click()
    team = page.locator("tbody tr", has=page.get_by_role("link", name="Checkout"))
    expect(team).to_have_count(1)
    expect(team.locator("td").nth(1)).to_have_text("1")  # delivered
    expect(team.locator("td").nth(2)).to_have_text(re.compile(r"^\d+ min$"))  # customer
