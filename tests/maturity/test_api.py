"""The maturity API: models (versions, YAML) and assessments with their workflow actions."""

from __future__ import annotations

import pytest
import yaml

from maturity import services
from maturity.catalogue import parse_model
from tests.maturity.test_workflow import SMALL_MODEL


@pytest.fixture
def small(org):
    return services.model_import(actor=org.users["lee"], spec=parse_model(SMALL_MODEL))


def test_models_read_by_slug_and_version(org, api_client_for, small):
    client = api_client_for(org.users["val"])
    services.model_import(actor=org.users["lee"], spec=parse_model(SMALL_MODEL))

    latest = client.get("/api/v1/maturity-models/small/").json()
    first = client.get("/api/v1/maturity-models/small/?version=1").json()

    assert (latest["version"], first["version"]) == (2, 1)
    assert [c["key"] for c in latest["capabilities"]] == [
        "deployment-automation",
        "learning-culture",
    ]
    assert latest["capabilities"][0]["check"]["metric"] == "deployment_frequency"
    assert latest["capabilities"][1]["levels"]["5"] == "Leading"
    assert client.get("/api/v1/maturity-models/small/?version=9").status_code == 404
    assert client.get("/api/v1/maturity-models/small/?version=x").status_code == 400
    assert client.get("/api/v1/maturity-models/nope/").status_code == 404
    exported = client.get("/api/v1/maturity-models/small/yaml/")
    assert exported["Content-Type"] == "application/yaml"
    assert yaml.safe_load(exported.content)["areas"][0]["key"] == "technical"


def test_leads_import_models_and_bad_files_get_their_problems(org, api_client_for, small):
    lee = api_client_for(org.users["lee"])

    created = lee.post("/api/v1/maturity-models/", {"yaml": SMALL_MODEL}, format="json")
    refused = lee.post(
        "/api/v1/maturity-models/",
        {"yaml": SMALL_MODEL.replace("deployment_frequency", "happiness")},
        format="json",
    )
    member = api_client_for(org.users["mo"]).post(
        "/api/v1/maturity-models/", {"yaml": SMALL_MODEL}, format="json"
    )

    assert (created.status_code, created.json()["version"]) == (201, 2)
    assert refused.status_code == 400
    assert "unknown metric 'happiness'" in refused.json()["yaml"][0]
    assert member.status_code == 403


def test_a_round_through_the_api(org, api_client_for, small):
    mo, lee = api_client_for(org.users["mo"]), api_client_for(org.users["lee"])
    body = {"team": "checkout", "model": "small", "period": "2026-Q3"}

    created = mo.post("/api/v1/assessments/", body, format="json")
    assert created.status_code == 201, created.content
    assessment = created.json()
    assert (assessment["slug"], assessment["model"], assessment["model_version"]) == (
        "checkout-2026-q3",
        "small",
        1,
    )
    assert mo.post("/api/v1/assessments/", body, format="json").status_code == 409
    url = "/api/v1/assessments/checkout-2026-q3/"

    for key, level in [("deployment-automation", 2), ("learning-culture", 3)]:
        rated = mo.patch(f"{url}ratings/{key}/", {"level": level, "comment": "ok"}, format="json")
        assert (rated.status_code, rated.json()["level"]) == (200, level)
    assert (
        mo.patch(f"{url}ratings/learning-culture/", {"level": 7}, format="json").status_code == 400
    )
    assert mo.patch(f"{url}ratings/nope/", {"level": 2}, format="json").status_code == 404

    assert mo.post(f"{url}submit/").json()["status"] == "submitted"
    assert mo.post(f"{url}review/", {"accept": True}, format="json").status_code == 403
    sent_back = lee.post(f"{url}review/", {"accept": False}, format="json")
    assert (sent_back.status_code, "comment" in sent_back.json()) == (400, True)
    accepted = lee.post(f"{url}review/", {"accept": True}, format="json").json()
    assert (accepted["status"], accepted["reviewed_by"]) == ("reviewed", "lee")
    assert mo.post(f"{url}submit/").status_code == 409


@pytest.mark.parametrize(
    "body, field",
    [
        ({"team": "checkout", "model": "small", "period": "2026-Q9"}, "period"),
        ({"team": "checkout", "model": "none", "period": "2026-Q3"}, "model"),
        ({"team": "checkout", "model": "small", "model_version": 4, "period": "2026-Q3"}, "model"),
        ({"team": "mobile", "model": "small", "period": "2026-Q3"}, "team"),  # mo cannot see it
        ({"model": "small", "period": "2026-Q3"}, "team"),
    ],
)
def test_bad_assessments_get_field_errors(org, api_client_for, small, body, field):
    response = api_client_for(org.users["mo"]).post("/api/v1/assessments/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_other_teams_assessments_are_not_visible_to_members(org, api_client_for, small):
    services.assessment_create(
        actor=org.users["mo"], team=org.checkout, model=small, period="2026-Q3"
    )

    kim = api_client_for(org.users["kim"])
    assert kim.get("/api/v1/assessments/checkout-2026-q3/").status_code == 404
    assert kim.get("/api/v1/assessments/").json()["count"] == 0
    sam = api_client_for(org.users["sam"])
    assert sam.get("/api/v1/assessments/?team=checkout").json()["count"] == 1
    assert sam.post("/api/v1/assessments/checkout-2026-q3/submit/").status_code == 403
