"""The roadmap API: a plan made, sent back, resubmitted and approved; the changes a version
brings in words; approval rules; the frozen plan; initiatives, themes and links. Deliverables:
test_deliverables_api.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from maturity.models import ImprovementAction
from poc import services as poc_services
from poc.models import Decision, Quadrant
from roadmap import services
from roadmap.models import Deliverable, Initiative, RoadmapVersion, Theme
from tests.roadmap.api_helpers import DELIVERABLE, INITIATIVE, refused, versions_url


def test_a_plan_is_made_sent_back_resubmitted_and_approved(org, sue, service, lee, sam, sue_client):
    made = lee.post(
        "/api/v1/roadmaps/",
        {"name": "DevOps 2027", "approvers": ["sam", "sue"], "approval_rule": "all"},
    )
    assert made.status_code == 201, made.content
    assert (made.json()["slug"], made.json()["draft"], made.json()["approved"]) == (
        "devops-2027", 1, None
    )  # fmt: skip
    theme = lee.post("/api/v1/roadmaps/devops-2027/themes/", {"name": "Faster delivery"})
    assert (theme.status_code, theme.json()["slug"]) == (201, "faster-delivery")
    initiative = lee.post("/api/v1/initiatives/", INITIATIVE)
    assert initiative.status_code == 201, initiative.content
    assert initiative.json()["quarter"] == "2027-Q1"
    deliverable = lee.post("/api/v1/deliverables/", DELIVERABLE)
    assert deliverable.status_code == 201, deliverable.content
    assert [t["name"] for t in deliverable.json()["targets"]] == [
        "Change failure rate",
        "Runbook reviewed",
    ]

    first = lee.post(versions_url("devops-2027", 1, "submit"), {"note": "First cut"})
    assert (first.status_code, first.json()["status"]) == (200, "submitted")
    roadmap = lee.get("/api/v1/roadmaps/devops-2027/").json()
    assert (roadmap["draft"], [p["number"] for p in roadmap["pending"]]) == (None, [1])
    assert roadmap["pending"][0]["submitted_by"] == "lee"

    sent_back = sam.post(
        versions_url("devops-2027", 1, "request-changes"), {"comment": "Show the costs"}
    )
    assert (sent_back.status_code, sent_back.json()["status"]) == (200, "changes_requested")
    assert lee.get("/api/v1/roadmaps/devops-2027/").json()["draft"] == 2
    assert lee.get(versions_url("devops-2027", 2)).json()["status"] == "draft"

    second = lee.post(versions_url("devops-2027", 2, "submit"), {"note": "Costs shown"})
    assert second.json()["status"] == "submitted"
    one_of_two = sam.post(versions_url("devops-2027", 2, "approve"), {})
    assert (one_of_two.json()["status"], one_of_two.json()["approvals_needed"]) == (
        "submitted", 2
    )  # fmt: skip
    approved = sue_client.post(versions_url("devops-2027", 2, "approve"), {"comment": "Watch it"})

    body = approved.json()
    assert (approved.status_code, body["status"]) == (200, "approved")
    assert [(d["decider"], d["role"], d["kind"], d["comment"]) for d in body["decisions"]] == [
        ("sam", "stakeholder", "approve", ""),
        ("sue", "stakeholder", "approve_with_comments", "Watch it"),
    ]
    assert (body["approvers"], body["approval_rule"], body["note"]) == (
        ["sam", "sue"], "all", "Costs shown"
    )  # fmt: skip
    assert body["snapshot"]["initiatives"][0]["slug"] == "standard-pipeline-everywhere"
    assert body["compared_with"] is None  # nothing was approved before
    assert {(c["item"], c["kind"]) for c in body["changes"]} == {
        ("theme", "added"), ("initiative", "added"), ("deliverable", "added")
    }  # fmt: skip
    roadmap = lee.get("/api/v1/roadmaps/devops-2027/").json()
    assert (roadmap["approved"], roadmap["draft"], roadmap["pending"]) == (2, 3, [])
    listed = lee.get("/api/v1/roadmaps/devops-2027/versions/").json()["results"]
    assert [(v["number"], v["status"]) for v in listed] == [
        (3, "draft"), (2, "approved"), (1, "changes_requested")
    ]  # fmt: skip


def test_a_version_lists_its_changes_against_the_last_approved_one(
    org, roadmap, deliverable, lee, sam, sue_client
):
    lee.post(versions_url(roadmap.slug, 1, "submit"), {})
    sam.post(versions_url(roadmap.slug, 1, "approve"), {})
    sue_client.post(versions_url(roadmap.slug, 1, "approve"), {})

    moved = lee.patch(
        "/api/v1/initiatives/standard-pipeline-everywhere/", {"ends_on": "2027-09-30"}
    )
    assert moved.status_code == 200, moved.content
    assert lee.patch(
        f"/api/v1/deliverables/{deliverable.slug}/", {"budget": "12000", "due_on": "2027-04-30"}
    ).status_code == 200  # fmt: skip
    draft = lee.get(versions_url(roadmap.slug, 2)).json()
    submitted = lee.post(versions_url(roadmap.slug, 2, "submit"), {"note": "Later"}).json()

    expected = [
        {"kind": "moved", "item": "initiative", "slug": "standard-pipeline-everywhere",
         "title": "Standard pipeline everywhere",
         "text": "moved from Q1\N{EN DASH}Q2 2027 to Q1\N{EN DASH}Q3 2027"},
        {"kind": "moved", "item": "deliverable", "slug": deliverable.slug,
         "title": "Cart API on the standard pipeline",
         "text": "moved from Q1 2027 to Q1\N{EN DASH}Q2 2027"},
        {"kind": "changed", "item": "deliverable", "slug": deliverable.slug,
         "title": "Cart API on the standard pipeline",
         "text": "budget changed from 10000.00 to 12000.00"},
    ]  # fmt: skip
    assert (draft["compared_with"], draft["changes"], draft["snapshot"]) == (1, expected, None)
    assert (submitted["compared_with"], submitted["changes"]) == (1, expected)
    assert submitted["snapshot"]["initiatives"][0]["ends_on"] == "2027-09-30"


def test_a_quorum_of_one_decides_at_the_first_approval(org, roadmap, lee, sam, sue_client):
    changed = lee.patch(
        f"/api/v1/roadmaps/{roadmap.slug}/", {"approval_rule": "quorum", "quorum": 1}
    )
    assert (changed.status_code, changed.json()["quorum"]) == (200, 1)
    lee.post(versions_url(roadmap.slug, 1, "submit"), {})

    first = sue_client.post(versions_url(roadmap.slug, 1, "approve"), {})
    second = sam.post(versions_url(roadmap.slug, 1, "approve"), {})

    assert (first.json()["status"], first.json()["approvals_needed"]) == ("approved", 1)
    assert "decided already" in refused(second, 409, "status")["detail"]
    assert RoadmapVersion.objects.get(roadmap=roadmap, number=1).decisions.count() == 1


def test_a_draft_cannot_be_approved(org, roadmap, sam):
    response = sam.post(versions_url(roadmap.slug, 1, "approve"), {})

    assert "submit it first" in refused(response, 409, "status")["detail"]


def test_nobody_decides_twice_and_only_named_stakeholders_decide(
    org, roadmap, lee, sam, api_client_for
):
    lee.post(versions_url(roadmap.slug, 1, "submit"), {})
    assert sam.post(versions_url(roadmap.slug, 1, "approve"), {}).status_code == 200

    twice = sam.post(versions_url(roadmap.slug, 1, "approve"), {"comment": "Again"})
    admin = api_client_for(org.users["ada"]).post(versions_url(roadmap.slug, 1, "approve"), {})
    lead = lee.post(versions_url(roadmap.slug, 1, "request-changes"), {"comment": "Mine"})

    assert "already" in refused(twice, 409, "decider")["detail"]
    refused(admin, 403)
    refused(lead, 403)


def test_a_request_for_changes_needs_a_comment(org, roadmap, lee, sam):
    lee.post(versions_url(roadmap.slug, 1, "submit"), {})

    refused(sam.post(versions_url(roadmap.slug, 1, "request-changes"), {}), 400, "comment")
    refused(
        sam.post(versions_url(roadmap.slug, 1, "request-changes"), {"comment": " "}), 400, "comment"
    )
    assert RoadmapVersion.objects.get(roadmap=roadmap, number=1).status == "submitted"


def test_submitting_needs_approvers_and_only_the_draft_is_submitted(org, lee):
    nobody = services.roadmap_create(actor=org.users["lee"], name="Nobody approves")

    refused(lee.post(versions_url(nobody.slug, 1, "submit"), {}), 400, "approvers")
    services.roadmap_update(actor=org.users["lee"], roadmap=nobody, approvers=[org.users["sam"]])
    assert lee.post(versions_url(nobody.slug, 1, "submit"), {}).status_code == 200
    refused(lee.post(versions_url(nobody.slug, 1, "submit"), {}), 409, "status")
    refused(lee.get(versions_url(nobody.slug, 9)), 404)
    refused(lee.get("/api/v1/roadmaps/no-such-roadmap/versions/"), 404)


def test_the_plan_is_frozen_while_a_version_awaits_approval(org, roadmap, deliverable, lee, mo):
    lee.post(versions_url(roadmap.slug, 1, "submit"), {})
    url = f"/api/v1/deliverables/{deliverable.slug}/"

    answers = [
        lee.patch("/api/v1/initiatives/standard-pipeline-everywhere/", {"ends_on": "2027-09-30"}),
        lee.post("/api/v1/initiatives/", INITIATIVE | {"title": "Another"}),
        lee.post(f"/api/v1/roadmaps/{roadmap.slug}/themes/", {"name": "Security"}),
        lee.post("/api/v1/deliverables/", DELIVERABLE | {"title": "Another"}),
        lee.patch(url, {"budget": "1", "progress": 50}),
        lee.patch(url, {"targets": []}),
    ]

    for answer in answers:
        assert "frozen" in refused(answer, 409, "roadmap")["detail"]
    assert Initiative.objects.get().ends_on == date(2027, 6, 30)
    assert (Initiative.objects.count(), Theme.objects.count(), Deliverable.objects.count()) == (
        1, 1, 1
    )  # fmt: skip
    deliverable.refresh_from_db()
    assert (deliverable.budget, deliverable.progress, deliverable.targets.count()) == (
        Decimal("10000.00"), 0, 2
    )  # fmt: skip
    # Delivery is not the plan: progress goes on.
    assert mo.patch(url, {"progress": 30}).json()["progress"] == 30


def test_initiatives_filter_and_show_their_quarter_and_progress(org, theme, initiative, lee):
    services.initiative_create(
        actor=org.users["lee"], theme=theme, title="Mobile releases", teams=[org.mobile],
        starts_on=date(2027, 4, 1), ends_on=date(2027, 9, 30), status="in_progress",
    )  # fmt: skip

    def slugs(query: str) -> list[str]:
        response = lee.get(f"/api/v1/initiatives/?{query}")
        assert response.status_code == 200, response.content
        return [row["slug"] for row in response.json()["results"]]

    assert slugs("quarter=2027-Q2") == ["mobile-releases"]
    assert slugs("quarter=2027-Q1&team=checkout") == [initiative.slug]
    assert slugs("status=in_progress&roadmap=devops-2027&theme=faster-delivery") == [
        "mobile-releases"
    ]
    refused(lee.get("/api/v1/initiatives/?quarter=2027-Q5"), 400, "quarter")
    refused(lee.get("/api/v1/initiatives/?roadmap=nope"), 400, "roadmap")
    body = lee.get(f"/api/v1/initiatives/{initiative.slug}/").json()
    assert body == body | {
        "roadmap": "devops-2027", "theme": "faster-delivery", "owner": "lee",
        "teams": ["checkout"], "quarter": "2027-Q1", "status": "planned",
        "progress": {"accepted": 0, "total": 0}, "deliverables": [], "depends_on": [],
    }  # fmt: skip


def test_initiatives_link_dependencies_and_refuse_a_circle(org, theme, initiative, lee):
    later = lee.post(
        "/api/v1/initiatives/",
        INITIATIVE | {"title": "Later", "depends_on": [initiative.slug], "teams": []},
    )
    assert (later.status_code, later.json()["depends_on"]) == (201, [initiative.slug])

    circle = lee.patch(f"/api/v1/initiatives/{initiative.slug}/", {"depends_on": ["later"]})

    refused(circle, 400, "depends_on")
    assert not initiative.depends_on.exists()


def test_a_theme_is_chosen_within_the_initiatives_roadmap(org, theme, initiative, lee):
    other = services.roadmap_create(actor=org.users["lee"], name="Elsewhere")
    services.theme_create(actor=org.users["lee"], roadmap=other, name="Only there")
    url = f"/api/v1/initiatives/{initiative.slug}/"
    services.theme_create(actor=org.users["lee"], roadmap=theme.roadmap, name="Security")

    refused(lee.patch(url, {"theme": "only-there"}), 400, "theme")
    refused(lee.patch(url, {"roadmap": "elsewhere"}), 400, "roadmap")
    assert lee.patch(url, {"theme": "security"}).json()["theme"] == "security"


def test_the_openapi_schema_documents_the_roadmap(org, mo):
    response = mo.get("/api/schema/")

    assert response.status_code == 200
    for path in [
        b"/api/v1/roadmaps/{roadmap_slug}/versions/{number}/request-changes/",
        b"/api/v1/deliverables/{slug}/targets/{target_id}/check/",
        b"/api/v1/initiatives/{slug}/",
    ]:
        assert path in response.content


def test_initiatives_link_improvement_actions_and_poc_decisions(org, theme, lee):
    action = ImprovementAction.objects.create(
        team=org.checkout, capability_key="ci", title="One pipeline template"
    )
    poc = poc_services.poc_propose(
        actor=org.users["mo"], team=org.checkout, title="Dagster", tool="Dagster",
        quadrant=Quadrant.objects.get(slug="tools"), problem="Cron jobs fail silently.",
        problem_key="orchestration", starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 15),
    )  # fmt: skip
    Decision.objects.create(
        poc=poc, outcome="adopt", rationale="Works", decided_by=org.users["lee"]
    )

    made = lee.post(
        "/api/v1/initiatives/",
        INITIATIVE | {"improvement_actions": [action.pk], "poc_decisions": ["dagster"]},
    )
    undecided = lee.post("/api/v1/initiatives/", INITIATIVE | {"poc_decisions": ["nope"]})
    not_a_list = lee.post("/api/v1/initiatives/", INITIATIVE | {"teams": {}})

    assert made.status_code == 201, made.content
    assert (made.json()["improvement_actions"], made.json()["poc_decisions"]) == (
        [action.pk], ["dagster"]
    )  # fmt: skip
    assert Initiative.objects.get().poc_decisions.get().poc == poc
    refused(undecided, 400, "poc_decisions")
    refused(not_a_list, 400, "teams")


def test_lists_take_a_fixed_number_of_queries(
    org, initiative, deliverable, lee, django_assert_max_num_queries
):
    for n in range(5):
        services.deliverable_create(
            actor=org.users["lee"], initiative=initiative, title=f"Step {n}", team=org.checkout,
            starts_on=date(2027, 1, 1), due_on=date(2027, 3, 31), targets=[{"name": "Checked"}],
        )  # fmt: skip
    services.deliverable_update(actor=org.users["lee"], deliverable=deliverable, targets=[])

    with django_assert_max_num_queries(10):
        assert len(lee.get("/api/v1/deliverables/").json()["results"]) == 6
    with django_assert_max_num_queries(10):
        assert len(lee.get("/api/v1/initiatives/").json()["results"]) == 1
    with django_assert_max_num_queries(8):
        assert len(lee.get("/api/v1/roadmaps/").json()["results"]) == 1


def test_an_initiative_links_change_requests_by_key(org, api_client_for, initiative):
    from pipelines.models import ChangeRequest

    ChangeRequest.objects.create(
        number=12, title="Refunds in the app", requester="Acme Bank", team=org.checkout,
        created_by=org.users["mo"],
    )  # fmt: skip
    lee = api_client_for(org.users["lee"])
    url = f"/api/v1/initiatives/{initiative.slug}/"
    unknown = lee.patch(url, {"change_requests": ["CR-13"]}, format="json")
    assert (unknown.status_code, unknown.json()) == (
        400, {"change_requests": ["No change request CR-13."]}
    )  # fmt: skip
    assert lee.patch(url, {"change_requests": ["cr-12"]}, format="json").status_code == 200
    assert lee.get(url).json()["change_requests"] == ["CR-12"]
