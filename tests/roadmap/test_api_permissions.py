"""Who may do what on the roadmap API: leads plan and review, the owner team's members update
progress and costs and submit, stakeholders decide and read everything, viewers read their
teams' deliverables; another team's deliverable is a 404. Refusals come before the body is
read, and change nothing."""

from __future__ import annotations

from datetime import date

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal.models import TokenScope
from roadmap import services
from roadmap.models import CostEntry, Deliverable, Initiative, Roadmap, RoadmapVersion, Theme

DELIVERABLE = "/api/v1/deliverables/cart-api-on-the-standard-pipeline/"
INITIATIVE = "/api/v1/initiatives/standard-pipeline-everywhere/"
ROADMAP = "/api/v1/roadmaps/devops-2027/"


def _state() -> tuple:
    """Everything a refused write could have touched."""
    return (
        list(Roadmap.objects.values_list("name", "approval_rule")),
        list(Theme.objects.values_list("slug", flat=True)),
        list(Initiative.objects.values_list("title", "ends_on")),
        list(Deliverable.objects.values_list("slug", "budget", "progress", "status")),
        list(CostEntry.objects.values_list("amount", flat=True)),
        list(RoadmapVersion.objects.values_list("number", "status")),
    )


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("val", ROADMAP, 200),
        ("kim", ROADMAP, 200),
        ("val", INITIATIVE, 200),
        ("kim", INITIATIVE, 200),
        ("val", ROADMAP + "versions/1/", 200),
        ("sam", DELIVERABLE, 200),
        ("val", DELIVERABLE, 200),
        ("kim", DELIVERABLE, 404),
    ],
)
def test_who_reads_what(org, deliverable, api_client_for, who, path, status):
    response = api_client_for(org.users[who]).get(path)

    assert response.status_code == status, response.content
    if status != 200:
        assert "detail" in response.json()


def test_other_teams_deliverables_are_absent_from_lists(org, deliverable, api_client_for):
    kim, val = api_client_for(org.users["kim"]), api_client_for(org.users["val"])

    assert kim.get("/api/v1/deliverables/").json()["results"] == []
    assert kim.get(INITIATIVE).json()["deliverables"] == []
    assert [d["slug"] for d in val.get("/api/v1/deliverables/").json()["results"]] == [
        deliverable.slug
    ]
    assert val.get(INITIATIVE).json()["deliverables"] == [deliverable.slug]


def test_anonymous_callers_get_401(org, deliverable):
    client = APIClient()

    for path in [ROADMAP, INITIATIVE, DELIVERABLE, ROADMAP + "versions/"]:
        assert client.get(path).status_code == 401


# Bodies are deliberately incomplete or invalid: a refusal on role comes before the content.
WRITES = [
    ("post", "/api/v1/roadmaps/", {}),
    ("patch", ROADMAP, {"name": "Mine"}),
    ("post", ROADMAP + "themes/", {}),
    ("post", "/api/v1/initiatives/", {}),
    ("patch", INITIATIVE, {"title": "Mine"}),
    ("post", "/api/v1/deliverables/", {}),
    ("patch", DELIVERABLE, {"budget": "1"}),
    ("post", DELIVERABLE + "accept/", {}),
    ("post", DELIVERABLE + "return/", {}),
    ("post", DELIVERABLE + "targets/1/check/", {}),
    ("post", ROADMAP + "versions/1/submit/", {}),
]


@pytest.mark.parametrize("who", ["mo", "val", "sam"])
@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_only_leads_plan_and_review(org, deliverable, api_client_for, who, method, path, body):
    before = _state()

    response = getattr(api_client_for(org.users[who]), method)(path, body)

    assert response.status_code == 403, response.content
    assert response.json()["detail"]
    assert _state() == before


def test_another_teams_member_cannot_plan_and_does_not_see_the_deliverable(
    org, deliverable, api_client_for
):
    kim, before = api_client_for(org.users["kim"]), _state()

    assert kim.patch(INITIATIVE, {"title": "Mine"}).status_code == 403
    assert kim.post("/api/v1/deliverables/", {"title": "Mine"}).status_code == 403
    assert kim.patch(DELIVERABLE, {"progress": 5}).status_code == 404
    assert (
        kim.post(DELIVERABLE + "costs/", {"amount": "1", "incurred_on": "2026-01-05"}).status_code
        == 404
    )
    assert _state() == before


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("mo", True), ("lee", True), ("val", 403), ("sam", 403), ("kim", 404)],
)
@pytest.mark.parametrize(
    ("method", "path", "body", "done"),
    [
        ("patch", DELIVERABLE, {"progress": 20}, 200),
        ("post", DELIVERABLE + "costs/", {"amount": "100", "incurred_on": "2026-01-05"}, 201),
        ("post", DELIVERABLE + "submit/", {}, 200),
    ],
)
def test_the_owner_team_delivers(
    org, deliverable, api_client_for, who, allowed, method, path, body, done
):
    before = _state()

    response = getattr(api_client_for(org.users[who]), method)(path, body)

    if allowed is True:
        assert (response.status_code, response.json()["slug"]) == (done, deliverable.slug)
    else:
        assert response.status_code == allowed, response.content
        assert response.json()["detail"]
        assert _state() == before


def test_only_named_stakeholders_decide(org, roadmap, api_client_for):
    api_client_for(org.users["lee"]).post(ROADMAP + "versions/1/submit/", {})

    for who in ["ada", "lee", "mo", "val", "kim"]:
        client = api_client_for(org.users[who])
        assert client.post(ROADMAP + "versions/1/approve/", {}).status_code == 403
        assert (
            client.post(ROADMAP + "versions/1/request-changes/", {"comment": "No"}).status_code
            == 403
        )
    assert roadmap.versions.get(number=1).decisions.count() == 0


def test_a_read_only_token_cannot_write(org, deliverable):
    token = Token.objects.create(user=org.users["lee"])
    TokenScope.objects.create(token=token, read_only=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert client.get(DELIVERABLE).status_code == 200
    response = client.patch(DELIVERABLE, {"budget": "1"}, format="json")

    assert (response.status_code, response.json()) == (
        403, {"detail": "This API token is read-only."}
    )  # fmt: skip


def test_a_version_shows_members_and_viewers_their_teams_deliverables_only(
    org, initiative, deliverable, api_client_for
):
    services.deliverable_create(
        actor=org.users["lee"], initiative=initiative, title="Mobile on the pipeline",
        team=org.mobile, starts_on=date(2027, 2, 1), due_on=date(2027, 6, 30),
    )  # fmt: skip
    api_client_for(org.users["lee"]).post(ROADMAP + "versions/1/submit/", {})

    def seen(who: str) -> tuple[list, list]:
        body = api_client_for(org.users[who]).get(ROADMAP + "versions/1/").json()
        return (
            [d["slug"] for d in body["snapshot"]["deliverables"]],
            [c["slug"] for c in body["changes"] if c["item"] == "deliverable"],
        )

    both = [deliverable.slug, "mobile-on-the-pipeline"]
    assert seen("sam") == (both, both)
    assert seen("val") == ([deliverable.slug], [deliverable.slug])
    assert seen("kim") == (["mobile-on-the-pipeline"], ["mobile-on-the-pipeline"])
    api_client_for(org.users["sam"]).post(
        ROADMAP + "versions/1/request-changes/", {"comment": "No"}
    )
    draft = api_client_for(org.users["kim"]).get(ROADMAP + "versions/2/").json()  # the live plan
    delivered = [c["slug"] for c in draft["changes"] if c["item"] == "deliverable"]
    assert (draft["snapshot"], delivered) == (None, ["mobile-on-the-pipeline"])
