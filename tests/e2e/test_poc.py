"""Journey: a team proposes a POC, a lead approves it, two evaluators score it, a lead decides
"trial", and the radar shows the tool with the POC behind it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from portal.models import Role
from tests.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def data_team(transactional_db):
    team = TeamFactory(name="Data", slug="data")
    for username, first in [("ana", "Ana"), ("raj", "Raj")]:
        MembershipFactory(
            user=UserFactory(username=username, first_name=first), team=team, role=Role.MEMBER
        )
    MembershipFactory(user=UserFactory(username="lee", first_name="Lee"), team=None, role=Role.LEAD)
    return team


def _score(page, portal_url, sign_in, username, scores):
    sign_in(username, PASSWORD)
    page.goto(portal_url + "/pocs/dagster-for-the-events-pipeline/")
    for criterion, score in scores.items():
        page.get_by_label(criterion).select_option(str(score))
    page.get_by_role("button", name="Submit my scores").click()
    expect(page.get_by_role("heading", name="Scores side by side")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()


def test_a_poc_from_proposal_to_the_radar(page, portal_url, sign_in, data_team):
    today = date.today()
    sign_in("ana", PASSWORD)
    page.goto(portal_url + "/pocs/")
    page.get_by_text("Propose a POC").click()
    form = page.locator("form", has=page.get_by_role("button", name="Propose"))
    form.get_by_label("Title").fill("Dagster for the events pipeline")
    form.get_by_label("Tool", exact=True).fill("Dagster")
    form.get_by_label("Quadrant").select_option("tools")
    form.get_by_label("Team").select_option("data")
    form.get_by_label("Problem", exact=True).fill("Nightly jobs fail silently.")
    form.get_by_label("Starts on").fill(today.isoformat())
    form.get_by_label("Time box ends").fill((today + timedelta(days=30)).isoformat())
    form.get_by_label("Evaluators").select_option(["ana", "raj"])
    form.get_by_role("button", name="Propose").click()
    expect(page.get_by_text("Proposed: a lead approves it to run.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in("lee", PASSWORD)
    page.goto(portal_url + "/pocs/dagster-for-the-events-pipeline/")
    page.get_by_role("button", name="Approve to run").click()
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".badge", has_text="running")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    _score(
        page,
        portal_url,
        sign_in,
        "ana",
        {
            "Fit to the problem": 5,
            "Security and compliance": 4,
            "Cost": 3,
            "Operability": 4,
            "Integration with our pipelines": 4,
            "Team skills": 3,
        },
    )
    _score(
        page,
        portal_url,
        sign_in,
        "raj",
        {
            "Fit to the problem": 4,
            "Security and compliance": 4,
            "Cost": 4,
            "Operability": 3,
            "Integration with our pipelines": 4,
            "Team skills": 2,
        },
    )

    sign_in("ana", PASSWORD)
    page.goto(portal_url + "/pocs/dagster-for-the-events-pipeline/")
    page.get_by_text("Add evidence").click()
    evidence = page.locator("form", has=page.get_by_role("button", name="Add", exact=True))
    evidence.get_by_label("Title").fill("Rerun drill")
    evidence.get_by_label("Measurement").fill("rerun 40 min -> 3 min")
    evidence.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("rerun 40 min -> 3 min")).to_be_visible()
    page.get_by_role("button", name="Send for review").click()
    page.get_by_role("button", name="Sign out").click()

    sign_in("lee", PASSWORD)
    page.goto(portal_url + "/pocs/dagster-for-the-events-pipeline/")
    # ana: (3x5 + 2x4 + 1x3 + 2x4 + 2x4 + 1x3) / 11 = 45/11; raj: (12+8+4+6+8+2) / 11 = 40/11;
    # the POC: 85/22 = 3.86
    expect(page.locator(".big-number")).to_contain_text("3.86")
    page.get_by_label("Outcome").select_option("trial")
    page.get_by_label("Rationale").fill("Reruns by step work; prove operability at scale.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".badge", has_text="decided: trial")).to_be_visible()
    page.get_by_role("link", name="On the radar: Trial").click()

    expect(page.get_by_role("heading", name="Dagster")).to_be_visible()
    expect(page.get_by_role("link", name="POC: Dagster for the events pipeline")).to_be_visible()
    behind = page.locator("section", has_text="The POCs behind it")
    expect(behind).to_contain_text("3.86")
    expect(behind).to_contain_text("Rerun drill: rerun 40 min -> 3 min")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Radar").click()
    expect(page.locator(".chart .scatterlayer .point")).to_have_count(1)
    expect(page.locator("table.data", has_text="Dagster")).to_contain_text("Trial")
