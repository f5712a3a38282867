"""The training API: skills, the skills matrix and plans with items, progress and needs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from training import services


@pytest.fixture
def terraform(org):
    return services.skill_create(
        actor=org.users["lee"], slug="terraform", name="Terraform", tool="terraform"
    )


def test_skills_are_read_by_all_and_added_by_leads(org, api_client_for, terraform):
    assert (
        api_client_for(org.users["val"]).get("/api/v1/skills/terraform/").json()["name"]
        == "Terraform"
    )
    body = {"slug": "k8s", "name": "Kubernetes"}
    assert (
        api_client_for(org.users["mo"]).post("/api/v1/skills/", body, format="json").status_code
        == 403
    )
    assert (
        api_client_for(org.users["lee"]).post("/api/v1/skills/", body, format="json").status_code
        == 201
    )
    again = api_client_for(org.users["lee"]).post("/api/v1/skills/", body, format="json")
    assert again.status_code in {400, 409}


def test_the_matrix_self_rating_and_confirmation(org, api_client_for, terraform):
    mo, lee = api_client_for(org.users["mo"]), api_client_for(org.users["lee"])

    rated = mo.post(
        "/api/v1/skill-ratings/", {"skill": "terraform", "self_level": 2}, format="json"
    )
    assert rated.status_code == 201, rated.content
    again = mo.post(
        "/api/v1/skill-ratings/", {"skill": "terraform", "self_level": 3}, format="json"
    )
    assert again.json()["id"] == rated.json()["id"]
    assert (
        mo.post(
            "/api/v1/skill-ratings/", {"skill": "terraform", "self_level": 5}, format="json"
        ).status_code
        == 400
    )

    url = f"/api/v1/skill-ratings/{rated.json()['id']}/confirm/"
    assert mo.post(url, {"level": 3}, format="json").status_code == 403
    confirmed = lee.post(url, {"level": 2}, format="json").json()
    assert (confirmed["confirmed_level"], confirmed["level"], confirmed["confirmed_by"]) == (
        2,
        2,
        "lee",
    )
    assert api_client_for(org.users["kim"]).get("/api/v1/skill-ratings/").json()["count"] == 0
    assert lee.get("/api/v1/skill-ratings/?user=mo").json()["count"] == 1
    assert lee.get("/api/v1/skill-ratings/?team=checkout&skill=terraform").json()["count"] == 1
    assert lee.get("/api/v1/skill-ratings/?team=mobile").json()["count"] == 0
    assert mo.get("/api/v1/skill-ratings/?team=mobile").status_code == 400  # not visible to mo


def test_plans_items_progress_and_needs(org, api_client_for, terraform):
    lee, mo = api_client_for(org.users["lee"]), api_client_for(org.users["mo"])
    body = {"team": "checkout", "period": "2026-Q4", "budget": "1000.00"}
    assert mo.post("/api/v1/training-plans/", body, format="json").status_code == 403
    assert lee.post("/api/v1/training-plans/", body, format="json").status_code == 201
    assert lee.post("/api/v1/training-plans/", body, format="json").status_code == 409
    bad = lee.post("/api/v1/training-plans/", {**body, "period": "Q4"}, format="json")
    assert (bad.status_code, "period" in bad.json()) == (400, True)

    url = "/api/v1/training-plans/checkout-2026-q4/"
    item = lee.post(
        url + "items/",
        {
            "kind": "course",
            "title": "Terraform",
            "skill": "terraform",
            "cost": "1200",
            "attendees": ["mo"],
        },
        format="json",
    )
    assert item.status_code == 201, item.content
    item_url = f"{url}items/{item.json()['id']}/"
    assert mo.patch(item_url, {"status": "done"}, format="json").status_code == 400
    done = mo.patch(
        item_url, {"status": "done", "evidence": "https://cert.example/7"}, format="json"
    )
    assert done.json()["status"] == "done"

    plan = mo.get(url).json()
    assert plan["progress"] == {
        "items": 1,
        "done": 1,
        "spent": "1200.00",
        "budget": "1000.00",
        "over_budget": True,
    }
    assert mo.get(url + "needs/").status_code == 200
    assert mo.get("/api/v1/training-plans/?team=checkout&period=2026-Q4").json()["count"] == 1
    assert mo.get("/api/v1/training-plans/?period=2027-Q1").json()["count"] == 0
    assert api_client_for(org.users["kim"]).get(url).status_code == 404
    assert Decimal(plan["budget"]) == Decimal(1000)
