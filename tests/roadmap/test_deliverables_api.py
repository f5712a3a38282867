"""The deliverables API: dates, bad input as field errors with nothing half-saved, progress,
costs once incurred, the review cycle, checked targets, RAG with reasons and the filters."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from roadmap import services
from roadmap.models import CostEntry, Deliverable, Initiative, Roadmap
from tests.roadmap.api_helpers import DELIVERABLE, INITIATIVE, MID_FEBRUARY, refused


def test_dates_out_of_order_are_field_errors(org, theme, initiative, deliverable, lee):
    refused(
        lee.post("/api/v1/initiatives/", INITIATIVE | {"ends_on": "2026-12-31"}), 400, "ends_on"
    )
    refused(
        lee.patch(f"/api/v1/initiatives/{initiative.slug}/", {"starts_on": "2027-07-01"}),
        400,
        "ends_on",
    )
    refused(
        lee.post("/api/v1/deliverables/", DELIVERABLE | {"due_on": "2026-12-31"}), 400, "due_on"
    )
    refused(
        lee.patch(f"/api/v1/deliverables/{deliverable.slug}/", {"due_on": "2026-12-01"}),
        400,
        "due_on",
    )
    assert (Initiative.objects.count(), Deliverable.objects.count()) == (1, 1)
    assert Initiative.objects.get().starts_on == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/roadmaps/", {"name": "R", "approval_rule": "most"}, "approval_rule"),
        ("/api/v1/roadmaps/", {"name": "R", "approvers": ["nobody"]}, "approvers"),
        ("/api/v1/roadmaps/", {"name": "R", "approval_rule": "quorum"}, "quorum"),
        ("/api/v1/roadmaps/", {"name": "R", "quorum": "1"}, "quorum"),
        ("/api/v1/roadmaps/", {"name": "R", "colour": "blue"}, "colour"),
        ("/api/v1/roadmaps/", {"name": "R", "slug": "mine"}, "slug"),
        ("/api/v1/initiatives/", INITIATIVE | {"status": "finished"}, "status"),
        ("/api/v1/initiatives/", INITIATIVE | {"theme": "no-such-theme"}, "theme"),
        ("/api/v1/initiatives/", INITIATIVE | {"teams": ["nope"]}, "teams"),
        ("/api/v1/deliverables/", DELIVERABLE | {"budget": "-1"}, "budget"),
        ("/api/v1/deliverables/", DELIVERABLE | {"services": ["nope"]}, "services"),
        ("/api/v1/deliverables/", DELIVERABLE | {"progress": 50}, "progress"),
        (
            "/api/v1/deliverables/",
            DELIVERABLE | {"targets": [{"name": "CFR", "metric": "happiness"}]},
            "targets",
        ),
        (
            "/api/v1/deliverables/",
            DELIVERABLE | {"targets": [{"name": "CFR", "threshold": "10"}]},
            "targets",
        ),
    ],
)
def test_bad_input_is_a_field_error(org, theme, initiative, service, lee, url, body, field):
    before = (Roadmap.objects.count(), Initiative.objects.count(), Deliverable.objects.count())

    refused(lee.post(url, body), 400, field)

    after = (Roadmap.objects.count(), Initiative.objects.count(), Deliverable.objects.count())
    assert after == before


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ([{"name": "CFR", "metric": "change_failure_rate", "comparison": "lte"}], "targets.0"),
        ([{"name": "Runbook"}, {"name": "Runbook"}], "targets.1"),
    ],
)
def test_a_refused_deliverable_leaves_nothing_behind(org, initiative, service, lee, targets, field):
    response = lee.post("/api/v1/deliverables/", DELIVERABLE | {"targets": targets})

    refused(response, 400, field)
    assert not Deliverable.objects.exists()


def test_members_update_progress_and_leads_the_plan(org, deliverable, lee, mo):
    url = f"/api/v1/deliverables/{deliverable.slug}/"

    progressed = mo.patch(url, {"progress": 40})
    budget = mo.patch(url, {"progress": 60, "budget": "1"})
    both = lee.patch(url, {"progress": 50, "budget": "12000", "title": "Cart API, standard"})

    assert (progressed.status_code, progressed.json()["progress"]) == (200, 40)
    refused(budget, 403)
    assert (both.json()["progress"], both.json()["budget"], both.json()["title"]) == (
        50, "12000.00", "Cart API, standard"
    )  # fmt: skip
    refused(mo.patch(url, {"progress": 101}), 400, "progress")
    refused(mo.patch(url, {"progress": "50"}), 400, "progress")
    refused(mo.patch(url, {"status": "accepted"}), 400, "status")


def test_costs_are_added_once_incurred(org, deliverable, mo):
    url = f"/api/v1/deliverables/{deliverable.slug}/costs/"

    added = mo.post(url, {"amount": "1500.00", "incurred_on": "2026-11-01", "note": "Runners"})
    future = mo.post(url, {"amount": "10", "incurred_on": "2999-01-01"})
    nothing = mo.post(url, {"amount": "0", "incurred_on": "2026-11-01"})

    assert added.status_code == 201, added.content
    assert added.json()["spent"] == "1500.00"
    assert added.json()["costs"] == [
        {"amount": "1500.00", "incurred_on": "2026-11-01", "note": "Runners", "added_by": "mo",
         "added_at": added.json()["costs"][0]["added_at"]}
    ]  # fmt: skip
    assert "not a future date" in refused(future, 400, "incurred_on")["incurred_on"][0]
    refused(nothing, 400, "amount")
    assert CostEntry.objects.count() == 1


def test_a_deliverable_is_submitted_returned_and_accepted(org, deliverable, lee, mo):
    url = f"/api/v1/deliverables/{deliverable.slug}/"

    assert mo.post(url + "submit/", {}).json()["status"] == "submitted"
    refused(mo.post(url + "accept/", {}), 403)
    refused(lee.post(url + "return/", {}), 400, "comment")
    assert lee.post(url + "return/", {"comment": "No runbook"}).json()["status"] == "returned"
    refused(lee.post(url + "accept/", {}), 409, "status")
    mo.post(url + "submit/", {"comment": "Runbook added"})
    accepted = lee.post(url + "accept/", {})

    body = accepted.json()
    assert (body["status"], body["progress"]) == ("accepted", 100)
    assert [(r["step"], r["by"], r["comment"]) for r in body["reviews"]] == [
        ("submitted", "mo", ""),
        ("returned", "lee", "No runbook"),
        ("submitted", "mo", "Runbook added"),
        ("accepted", "lee", ""),
    ]
    refused(mo.patch(url, {"progress": 90}), 409)
    initiative = lee.get("/api/v1/initiatives/standard-pipeline-everywhere/").json()
    assert initiative["progress"] == {"accepted": 1, "total": 1}


def test_leads_check_reviewer_checked_targets(org, deliverable, lee, mo):
    measured, checked = deliverable.targets.order_by("pk")
    url = f"/api/v1/deliverables/{deliverable.slug}/targets/"

    done = lee.post(f"{url}{checked.pk}/check/", {"met": True, "note": "Read it"})

    target = done.json()["targets"][1]
    assert (target["id"], target["met"], target["detail"], target["check_note"]) == (
        checked.pk, True, "checked: met", "Read it"
    )  # fmt: skip
    refused(lee.post(f"{url}{measured.pk}/check/", {"met": True}), 409, "met")
    refused(mo.post(f"{url}{checked.pk}/check/", {"met": False}), 403)
    refused(lee.post(f"{url}{checked.pk}/check/", {"met": "yes"}), 400, "met")
    refused(lee.post(f"{url}999999/check/", {"met": True}), 404)


@time_machine.travel(MID_FEBRUARY, tick=False)
def test_a_deliverable_shows_its_rag_with_reasons(org, deliverable, mo):
    """Mid-February: 45 of 89 days gone (51%) with nothing done: time red. 6 000 of 10 000 spent
    with 0 % done: cost amber. No deploys and an unchecked runbook: quality amber."""
    mo.post(
        f"/api/v1/deliverables/{deliverable.slug}/costs/",
        {"amount": "6000", "incurred_on": "2027-02-01"},
    )

    body = mo.get(f"/api/v1/deliverables/{deliverable.slug}/").json()

    assert body["spent"] == "6000.00"
    assert body["rag"] == {
        "colour": "red",
        "reasons": ["time: not started with 51% of the time gone"],
        "parts": {
            "time": {"colour": "red", "reason": "not started with 51% of the time gone"},
            "cost": {"colour": "amber", "reason": "60% of budget spent with 0% done"},
            "quality": {
                "colour": "amber",
                "reason": "Change failure rate: no data in the last 30 days (wanted at most 10); "
                "Runbook reviewed: not checked yet",
            },
        },
    }
    assert [(t["met"], t["detail"]) for t in body["targets"]] == [
        (None, "no data in the last 30 days (wanted at most 10)"),
        (None, "not checked yet"),
    ]


@time_machine.travel(MID_FEBRUARY, tick=False)
def test_deliverables_filter_by_team_initiative_status_dates_and_rag(
    org, initiative, deliverable, lee
):
    services.deliverable_create(
        actor=org.users["lee"], initiative=initiative, title="Mobile on the pipeline",
        team=org.mobile, starts_on=date(2027, 2, 10), due_on=date(2027, 6, 30),
    )  # fmt: skip

    def slugs(query: str) -> list[str]:
        response = lee.get(f"/api/v1/deliverables/?{query}")
        assert response.status_code == 200, response.content
        return [row["slug"] for row in response.json()["results"]]

    assert slugs("team=mobile") == ["mobile-on-the-pipeline"]
    assert slugs(f"initiative={initiative.slug}") == [deliverable.slug, "mobile-on-the-pipeline"]
    assert slugs("due_before=2027-03-31") == [deliverable.slug]
    assert slugs("due_after=2027-04-01") == ["mobile-on-the-pipeline"]
    assert slugs("status=open&roadmap=devops-2027") == [deliverable.slug, "mobile-on-the-pipeline"]
    assert slugs("rag=red") == [deliverable.slug]  # half the time gone, nothing done
    assert slugs("rag=green") == ["mobile-on-the-pipeline"]  # 5 of 140 days gone
    assert slugs("rag=amber&team=checkout") == []
    for query, field in [("rag=purple", "rag"), ("status=late", "status"), ("team=", "team"),
                         ("due_before=tomorrow", "due_before")]:  # fmt: skip
        refused(lee.get(f"/api/v1/deliverables/?{query}"), 400, field)
