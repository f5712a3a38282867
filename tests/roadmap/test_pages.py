"""The roadmap pages: a lead plans and submits, a stakeholder decides on the version page, the
owner team updates a deliverable; refusals show on the form and change nothing."""

from __future__ import annotations

from datetime import date

from roadmap.models import CostEntry, Deliverable, RoadmapVersion
from roadmap.selectors import draft_of


def test_an_empty_roadmap_page_invites_a_lead_to_start_one(client_for, org, sue):
    page = client_for("lee").get("/roadmap/")
    assert b"Start the roadmap" in page.content
    answer = client_for("lee").post(
        "/roadmap/", {"name": "DevOps 2027", "approvers": ["sam", "sue"], "approval_rule": "all"}
    )
    assert answer.status_code == 302
    assert b"DevOps 2027" in client_for("mo").get("/roadmap/").content


def test_members_see_an_empty_state_not_a_form(client_for, org):
    page = client_for("mo").get("/roadmap/").content.decode()
    assert "No roadmap yet" in page and "Create the roadmap" not in page
    client_for("mo").post(
        "/roadmap/", {"name": "Mine", "approvers": ["sam"], "approval_rule": "all"}
    )
    assert "No roadmap yet" in client_for("mo").get("/roadmap/").content.decode()


def test_the_timeline_board_and_versions_show_the_plan(client_for, deliverable):
    for view in ("timeline", "board", "versions"):
        page = client_for("sam").get(f"/roadmap/?view={view}")
        assert page.status_code == 200, view
        assert b"Standard pipeline everywhere" in page.content or view == "versions"
    timeline = client_for("sam").get("/roadmap/").content.decode()
    assert "data-plotly=" in timeline
    assert "Cart API on the standard pipeline" in timeline


def test_a_lead_adds_an_initiative_and_bad_dates_are_refused_on_the_form(client_for, theme):
    lee = client_for("lee")
    bad = lee.post("/roadmap/", {
        "form": "initiative", "initiative-title": "Backwards", "initiative-theme": theme.slug,
        "initiative-starts_on": "2027-06-01", "initiative-ends_on": "2027-01-01",
        "initiative-status": "planned",
    })  # fmt: skip
    assert bad.status_code == 200
    assert "Not before the start." in bad.content.decode()
    good = lee.post("/roadmap/", {
        "form": "initiative", "initiative-title": "Forwards", "initiative-theme": theme.slug,
        "initiative-starts_on": "2027-01-01", "initiative-ends_on": "2027-06-01",
        "initiative-status": "planned",
    })  # fmt: skip
    assert good.status_code == 302
    assert theme.initiatives.filter(title="Forwards").exists()
    assert not theme.initiatives.filter(title="Backwards").exists()


def test_submit_then_decide_on_the_version_page(client_for, roadmap, deliverable):
    number = draft_of(roadmap).number
    client_for("lee").post("/roadmap/", {"form": "submit", "submit-note": "First plan"})
    version = roadmap.versions.get(number=number)
    assert version.status == RoadmapVersion.Status.SUBMITTED
    assert b"Awaiting your decision" in client_for("sam").get("/roadmap/").content
    url = f"/roadmap/{roadmap.slug}/versions/{number}/"
    # Not a named approver: no form, and a post is refused without a trace.
    assert "Your decision" not in client_for("mo").get(url).content.decode()
    assert client_for("mo").post(url, {"kind": "approve"}).status_code == 403
    refused = client_for("sam").post(url, {"kind": "request_changes", "comment": ""})
    assert "A comment is needed." in refused.content.decode()
    client_for("sam").post(url, {"kind": "request_changes", "comment": "Budget too high"})
    version.refresh_from_db()
    assert version.status == RoadmapVersion.Status.CHANGES_REQUESTED
    page = client_for("lee").get(url).content.decode()
    assert "Budget too high" in page and "Changes requested" in page
    assert version.decisions.count() == 1


def test_the_owner_team_updates_a_deliverable_and_a_lead_reviews_it(client_for, deliverable):
    url = f"/deliverables/{deliverable.slug}/"
    mo = client_for("mo")
    assert mo.post(url, {"form": "progress", "progress": "60"}).status_code == 302
    future = mo.post(url, {"form": "cost", "amount": "100", "incurred_on": "2999-01-01"})
    assert "not a future date" in future.content.decode()
    assert not CostEntry.objects.exists()
    mo.post(url, {"form": "cost", "amount": "2500", "incurred_on": date.today().isoformat()})
    mo.post(url, {"form": "review", "step": "submit", "comment": ""})
    returned = client_for("lee").post(url, {"form": "review", "step": "return", "comment": ""})
    assert "A comment is needed." in returned.content.decode()
    client_for("lee").post(url, {"form": "review", "step": "return", "comment": "Add the runbook"})
    deliverable.refresh_from_db()
    assert (deliverable.progress, deliverable.status) == (60, Deliverable.Status.RETURNED)
    page = client_for("mo").get(url).content.decode()
    assert "Add the runbook" in page and "2500" in page and "25% of budget spent" in page


def test_other_teams_do_not_see_a_deliverable(client_for, deliverable):
    assert client_for("kim").get(f"/deliverables/{deliverable.slug}/").status_code == 404
    assert client_for("val").get(f"/deliverables/{deliverable.slug}/").status_code == 200
    viewer = client_for("val").post(
        f"/deliverables/{deliverable.slug}/", {"form": "progress", "progress": "90"}
    )
    assert viewer.status_code == 403
    deliverable.refresh_from_db()
    assert deliverable.progress == 0
