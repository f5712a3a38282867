"""The API's contract for teams, services and environments: slugs, field errors, paging."""

from __future__ import annotations

import pytest

from portal.models import AuditEvent, Service
from tests.factories import EnvironmentFactory, ServiceFactory


@pytest.fixture
def ada(org, api_client_for):
    return api_client_for(org.users["ada"])


def test_it_creates_a_service_addressed_by_slug(ada, org):
    response = ada.post(
        "/api/v1/services/", {"name": "Checkout API", "slug": "checkout-api", "team": "checkout"}
    )

    assert response.status_code == 201
    assert response.json()["team"] == "checkout"
    assert ada.get("/api/v1/services/checkout-api/").json()["name"] == "Checkout API"
    assert AuditEvent.objects.filter(action="service.create", actor=org.users["ada"]).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"team": "checkout"}, "name"),
        ({"name": "X", "team": "nowhere"}, "team"),
        ({"name": "X"}, "team"),
        ({"name": "X", "team": "checkout", "tier": "high"}, "tier"),
        ({"name": "X", "team": "checkout", "slug": "has spaces"}, "slug"),
        ({"name": "X", "team": "checkout", "repository_url": "not a url"}, "repository_url"),
        ({"name": "X" * 101, "team": "checkout"}, "name"),
        ({"name": "X", "team": ["checkout"]}, "team"),
    ],
)
def test_bad_input_gets_400_with_the_field_named_and_saves_nothing(ada, payload, field):
    response = ada.post("/api/v1/services/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert isinstance(response.json()[field], list)
    assert not Service.objects.exists()


def test_a_duplicate_slug_is_a_400(ada, org):
    ServiceFactory(team=org.checkout, slug="cart-api")

    response = ada.post(
        "/api/v1/services/", {"name": "Cart", "slug": "cart-api", "team": "checkout"}
    )

    assert response.status_code == 400
    assert "slug" in response.json()


def test_a_body_that_is_not_json_is_a_400(ada):
    response = ada.generic("POST", "/api/v1/teams/", "{not json", content_type="application/json")

    assert response.status_code == 400


def test_an_unknown_slug_is_a_404(ada):
    assert ada.get("/api/v1/services/no-such-service/").status_code == 404


def test_deleting_a_team_that_owns_services_is_a_409(ada, org):
    ServiceFactory(team=org.checkout)

    response = ada.delete("/api/v1/teams/checkout/")

    assert response.status_code == 409
    assert "service" in response.json()["detail"]


def test_lists_are_paginated_with_results_and_next(ada, org):
    for number in range(3):
        ServiceFactory(team=org.checkout, name=f"Service {number}", slug=f"service-{number}")

    first = ada.get("/api/v1/services/?page_size=2").json()
    second = ada.get(first["next"]).json()

    assert first["count"] == 3
    assert [row["slug"] for row in first["results"]] == ["service-0", "service-1"]
    assert [row["slug"] for row in second["results"]] == ["service-2"]
    assert second["next"] is None


def test_lists_filter_and_order(ada, org):
    ServiceFactory(team=org.checkout, name="Alpha", slug="alpha", tier=3)
    ServiceFactory(team=org.mobile, name="Beta", slug="beta", tier=1)
    ServiceFactory(team=org.checkout, name="Gamma", slug="gamma", tier=1)

    by_team = ada.get("/api/v1/services/?team=checkout&ordering=-name").json()["results"]
    by_tier = ada.get("/api/v1/services/?tier=1").json()["results"]
    searched = ada.get("/api/v1/services/?q=amm").json()["results"]

    assert [row["slug"] for row in by_team] == ["gamma", "alpha"]
    assert {row["slug"] for row in by_tier} == {"beta", "gamma"}
    assert [row["slug"] for row in searched] == ["gamma"]


def test_a_bad_filter_value_is_a_400(ada):
    response = ada.get("/api/v1/services/?tier=eleven")

    assert response.status_code == 400
    assert "tier" in response.json()


def test_environments_filter_by_production(ada):
    EnvironmentFactory(name="staging")
    ada.post("/api/v1/environments/", {"name": "Prod"})

    rows = ada.get("/api/v1/environments/?is_production=true").json()["results"]

    assert [(row["name"], row["is_production"]) for row in rows] == [("Prod", True)]


def test_team_lists_count_services(ada, org):
    ServiceFactory(team=org.checkout)

    rows = {row["slug"]: row for row in ada.get("/api/v1/teams/").json()["results"]}

    assert rows["checkout"]["service_count"] == 1
    assert rows["mobile"]["service_count"] == 0


def test_the_openapi_schema_and_docs_are_served(ada, org, client):
    schema = ada.get("/api/schema/")
    client.force_login(org.users["mo"])

    assert schema.status_code == 200
    assert b"/api/v1/services/{slug}/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_an_unroutable_api_path_answers_json_404(ada):
    response = ada.get("/api/v1/services/%C2%84/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_blank_filter_value_is_a_400_on_the_api(ada):
    response = ada.get("/api/v1/environments/?is_production=")

    assert response.status_code == 400
    assert response.json() == {"is_production": ["This value may not be blank."]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "qa", "is_production": 0}, "is_production"),
        ({"name": "qa", "position": "5"}, "position"),
        ({"name": 5}, "name"),
    ],
)
def test_values_of_the_wrong_json_type_are_refused_not_coerced(ada, payload, field):
    response = ada.post("/api/v1/environments/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_a_string_tier_is_refused(ada, org):
    response = ada.post(
        "/api/v1/services/", {"name": "X", "team": "checkout", "tier": "1"}, format="json"
    )

    assert response.status_code == 400
    assert "tier" in response.json()


def test_a_form_encoded_body_is_415(ada):
    response = ada.post(
        "/api/v1/teams/", "name=Search", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415


@pytest.mark.parametrize(
    "query",
    [
        "page_size=0",
        "page_size=501",
        "page_size=ten",
        "page_size=null",
        "page=",
        "page=0",
        "page=last",
    ],
)
def test_a_bad_page_or_page_size_is_a_400(ada, query):
    response = ada.get(f"/api/v1/teams/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()
