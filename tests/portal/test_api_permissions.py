"""Each role x each endpoint x read/write, with the exact expected status in one table.

Roles come from the ``org`` fixture: ada admin, lee lead, sam stakeholder (all organisation-wide),
mo member and val viewer of Checkout, kim a member of Mobile only (the other team's user).
"""

from __future__ import annotations

import pytest

from portal.models import Environment, Service, Team
from tests.factories import EnvironmentFactory, ServiceFactory

ROLES = ["anonymous", "ada", "lee", "sam", "mo", "val", "kim"]

# (name, method, url, payload) -> expected status per role, in ROLES order.
MATRIX = [
    ("team list", "get", "/api/v1/teams/", None, [401, 200, 200, 200, 200, 200, 200]),
    ("team detail", "get", "/api/v1/teams/checkout/", None, [401, 200, 200, 200, 200, 200, 404]),
    (
        "team create",
        "post",
        "/api/v1/teams/",
        {"name": "Search"},
        [401, 201, 403, 403, 403, 403, 403],
    ),
    (
        "team update",
        "patch",
        "/api/v1/teams/checkout/",
        {"description": "Baskets"},
        [401, 200, 200, 403, 403, 403, 403],
    ),
    ("team delete", "delete", "/api/v1/teams/empty/", None, [401, 204, 403, 403, 403, 403, 403]),
    ("service list", "get", "/api/v1/services/", None, [401, 200, 200, 200, 200, 200, 200]),
    (
        "service detail",
        "get",
        "/api/v1/services/cart-api/",
        None,
        [401, 200, 200, 200, 200, 200, 404],
    ),
    (
        "service create",
        "post",
        "/api/v1/services/",
        {"name": "Pricing", "team": "checkout"},
        [401, 201, 201, 403, 201, 403, 400],
    ),
    (
        "service update",
        "patch",
        "/api/v1/services/cart-api/",
        {"tier": 1},
        [401, 200, 200, 403, 200, 403, 404],
    ),
    (
        "service delete",
        "delete",
        "/api/v1/services/cart-api/",
        None,
        [401, 204, 204, 403, 403, 403, 404],
    ),
    ("environment list", "get", "/api/v1/environments/", None, [401, 200, 200, 200, 200, 200, 200]),
    (
        "environment detail",
        "get",
        "/api/v1/environments/staging/",
        None,
        [401, 200, 200, 200, 200, 200, 200],
    ),
    (
        "environment create",
        "post",
        "/api/v1/environments/",
        {"name": "qa"},
        [401, 201, 201, 403, 403, 403, 403],
    ),
    (
        "environment update",
        "patch",
        "/api/v1/environments/staging/",
        {"position": 5},
        [401, 200, 200, 403, 403, 403, 403],
    ),
    (
        "environment delete",
        "delete",
        "/api/v1/environments/staging/",
        None,
        [401, 204, 204, 403, 403, 403, 403],
    ),
]

CASES = [
    pytest.param(method, url, payload, role, expected[index], id=f"{name}-{role}")
    for name, method, url, payload, expected in MATRIX
    for index, role in enumerate(ROLES)
]


@pytest.fixture
def world(org):
    ServiceFactory(team=org.checkout, name="Cart API", slug="cart-api")
    ServiceFactory(team=org.mobile, name="Mobile BFF", slug="mobile-bff")
    EnvironmentFactory(name="staging")
    Team.objects.create(name="Empty", slug="empty")
    return org


@pytest.mark.parametrize(("method", "url", "payload", "role", "expected"), CASES)
def test_it_answers_each_role_as_the_table_says(
    world, api_client_for, method, url, payload, role, expected
):
    client = api_client_for(None if role == "anonymous" else world.users[role])
    counts_before = (Team.objects.count(), Service.objects.count(), Environment.objects.count())

    response = getattr(client, method)(url, payload, format="json")

    assert response.status_code == expected, response.content
    if expected >= 400:
        counts_after = (Team.objects.count(), Service.objects.count(), Environment.objects.count())
        assert counts_after == counts_before, "a refused request must change nothing"


def test_it_lists_only_the_teams_services_for_team_scoped_roles(world, api_client_for):
    response = api_client_for(world.users["kim"]).get("/api/v1/services/")

    assert [row["slug"] for row in response.json()["results"]] == ["mobile-bff"]


def test_it_lists_every_service_for_organisation_wide_readers(world, api_client_for):
    response = api_client_for(world.users["sam"]).get("/api/v1/services/")

    assert {row["slug"] for row in response.json()["results"]} == {"cart-api", "mobile-bff"}


def test_it_ignores_a_filter_naming_another_teams_slug(world, api_client_for):
    response = api_client_for(world.users["kim"]).get("/api/v1/services/?team=checkout")

    # The team filter only offers visible teams: a foreign slug is refused, never obeyed.
    assert response.status_code == 400
    assert "team" in response.json()


def test_a_member_cannot_move_a_service_to_a_team_they_are_not_in(world, api_client_for):
    response = api_client_for(world.users["mo"]).patch(
        "/api/v1/services/cart-api/", {"team": "mobile"}, format="json"
    )

    assert response.status_code == 400
    assert Service.objects.get(slug="cart-api").team == world.checkout
