"""The push API: deployments and incidents from systems without a connector."""

from __future__ import annotations

import pytest

from pipelines.models import Change, Deployment, Incident
from portal.models import Environment


@pytest.fixture
def lee(org, api_client_for):
    return api_client_for(org.users["lee"])


def deployment(**overrides) -> dict:
    return {
        "external_id": "deploy-41",
        "service": "cart-api",
        "environment": "Production",
        "status": "success",
        "started_at": "2026-11-20T10:00:00+02:00",
        "finished_at": "2026-11-20T10:12:00+02:00",
        "sha": "a" * 40,
        "changes": [{"sha": "b" * 40, "committed_at": "2026-11-19T15:00:00Z", "title": "Fix"}],
        **overrides,
    }


def test_a_new_deployment_is_201_and_its_repeat_updates_it_with_200(lee, service):
    first = lee.post("/api/v1/deployments/", deployment(), format="json")
    second = lee.post("/api/v1/deployments/", deployment(status="failure"), format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    stored = Deployment.objects.get()
    assert stored.status == "failure"
    assert stored.finished_at.isoformat() == "2026-11-20T08:12:00+00:00"
    assert [c.sha for c in stored.changes.all()] == ["b" * 40]
    assert second.json()["changes"][0]["committed_at"] == "2026-11-19T15:00:00+00:00"


def test_an_unknown_environment_is_created_by_the_name_rule(lee, service):
    lee.post("/api/v1/deployments/", deployment(), format="json")
    lee.post("/api/v1/deployments/", deployment(external_id="d2", environment="qa"), format="json")

    assert Environment.objects.get(name="Production").is_production is True
    assert Environment.objects.get(name="qa").is_production is False


def test_the_same_external_id_in_another_service_is_another_deployment(lee, service, org):
    from tests.factories import ServiceFactory

    ServiceFactory(team=org.checkout, slug="pricing")
    lee.post("/api/v1/deployments/", deployment(), format="json")
    response = lee.post("/api/v1/deployments/", deployment(service="pricing"), format="json")

    assert response.status_code == 201
    assert Deployment.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"external_id": None}, "external_id"),
        ({"service": "nope"}, "service"),
        ({"status": "maybe"}, "status"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"finished_at": "2026-11-20T07:00:00Z"}, "finished_at"),
        ({"changes": [{"committed_at": "2026-11-19T15:00:00Z"}]}, "changes"),
        ({"changes": [{"sha": "c" * 40, "committed_at": "2026-11-21T00:00:00Z"}]}, "changes"),
        ({"is_rework": "yes"}, "is_rework"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(lee, service, overrides, field):
    response = lee.post("/api/v1/deployments/", deployment(**overrides), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Deployment.objects.exists() and not Change.objects.exists()


@pytest.mark.parametrize(
    ("user", "expected"), [("mo", 201), ("val", 403), ("sam", 403), ("kim", 400)]
)
def test_who_may_push(org, api_client_for, service, user, expected):
    response = api_client_for(org.users[user]).post(
        "/api/v1/deployments/", deployment(), format="json"
    )

    assert response.status_code == expected


def test_an_incident_links_to_the_deployment_that_caused_it(lee, service):
    lee.post("/api/v1/deployments/", deployment(), format="json")
    incident = {
        "external_id": "INC-7",
        "service": "cart-api",
        "title": "Checkout errors",
        "opened_at": "2026-11-20T09:00:00Z",
        "deployment": "deploy-41",
    }

    first = lee.post("/api/v1/incidents/", incident, format="json")
    second = lee.post(
        "/api/v1/incidents/", {**incident, "resolved_at": "2026-11-20T10:00:00Z"}, format="json"
    )

    assert (first.status_code, second.status_code) == (201, 200)
    stored = Incident.objects.get()
    assert stored.deployment.external_id == "deploy-41"
    assert stored.resolved_at is not None
    assert second.json()["deployment"] == "deploy-41"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"deployment": "never-deployed"}, "deployment"),
        ({"resolved_at": "2026-11-20T08:00:00Z"}, "resolved_at"),
        ({"title": None}, "title"),
    ],
)
def test_a_bad_incident_is_a_400(lee, service, overrides, field):
    incident = {
        "external_id": "INC-7",
        "service": "cart-api",
        "title": "Down",
        "opened_at": "2026-11-20T09:00:00Z",
        **overrides,
    }

    response = lee.post("/api/v1/incidents/", incident, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Incident.objects.exists()


def test_lists_are_filtered_and_scoped(org, api_client_for, lee, service):
    lee.post("/api/v1/deployments/", deployment(), format="json")
    lee.post(
        "/api/v1/deployments/",
        deployment(external_id="d2", environment="staging", status="failure"),
        format="json",
    )

    production = lee.get("/api/v1/deployments/?production=true").json()["results"]
    failed = lee.get("/api/v1/deployments/?status=failure&team=checkout").json()["results"]
    in_range = lee.get(
        "/api/v1/deployments/?since=2026-11-20T08:00:00Z&until=2026-11-20T09:00:00Z"
    ).json()["results"]
    outsider = api_client_for(org.users["kim"]).get("/api/v1/deployments/").json()

    assert [d["external_id"] for d in production] == ["deploy-41"]
    assert [d["external_id"] for d in failed] == ["d2"]
    assert len(in_range) == 2
    assert outsider["count"] == 0


@pytest.mark.parametrize("param", ["since", "until"])
def test_a_time_filter_with_an_extreme_utc_offset_is_converted_not_a_500(lee, service, param):
    response = lee.get(f"/api/v1/deployments/?{param}=2026-01-01T00:00:00%2B22:30")

    assert response.status_code == 200
