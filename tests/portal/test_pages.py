"""The browser pages of the core: sign-in required, team scoping, filters, htmx partials."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.services import service_update
from tests.factories import ServiceFactory, TeamFactory


@pytest.fixture
def services(org):
    return {
        "cart": ServiceFactory(team=org.checkout, name="Cart API", slug="cart-api", tier=1),
        "bff": ServiceFactory(team=org.mobile, name="Mobile BFF", slug="mobile-bff", tier=2),
    }


@pytest.mark.parametrize("path", ["/", "/teams/", "/services/", "/teams/checkout/"])
def test_pages_need_a_sign_in(db, path):
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_shows_my_teams_and_their_services(client_for, services):
    response = client_for("mo").get("/")

    assert response.status_code == 200
    assert b"Checkout" in response.content and b"Cart API" in response.content
    assert b"Mobile BFF" not in response.content


def test_home_shows_every_team_to_a_stakeholder_in_no_team(client_for, services):
    response = client_for("sam").get("/")

    assert b"Cart API" in response.content and b"Mobile BFF" in response.content
    assert b"Every team across the organisation" in response.content


def test_another_teams_page_is_a_404(client_for, services):
    assert client_for("kim").get("/teams/checkout/").status_code == 404
    assert client_for("kim").get("/services/cart-api/").status_code == 404


def test_the_service_list_filters_with_the_shared_filterset(client_for, services):
    response = client_for("lee").get("/services/?tier=1")

    assert b"Cart API" in response.content
    assert b"Mobile BFF" not in response.content


def test_an_htmx_request_gets_only_the_table(client_for, services):
    response = client_for("lee").get("/services/?team=mobile", HTTP_HX_REQUEST="true")

    assert b"<html" not in response.content
    assert b"Mobile BFF" in response.content and b"Cart API" not in response.content


def test_an_empty_list_explains_what_to_do(client_for, org):
    response = client_for("lee").get("/services/")

    assert b"No services match" in response.content
    assert b"POST /api/v1/services/" in response.content


def test_leads_see_an_objects_history_and_members_do_not(client_for, services, org):
    service_update(actor=org.users["lee"], service=services["cart"], data={"tier": 2})

    assert b"service.update" in client_for("lee").get("/services/cart-api/").content
    assert b"service.update" not in client_for("mo").get("/services/cart-api/").content


def test_the_admin_link_shows_for_admins_only(client_for, org):
    org.users["ada"].is_staff = True
    org.users["ada"].save()

    assert b'href="/admin/"' in client_for("ada").get("/").content
    assert b'href="/admin/"' not in client_for("lee").get("/").content


def test_password_change_page_renders(client_for):
    response = client_for("mo").get("/accounts/password/")

    assert response.status_code == 200
    assert b"Change your password" in response.content


def test_home_previews_a_big_team_and_links_to_the_rest(client_for, org):
    for number in range(10):
        ServiceFactory(team=org.checkout, name=f"Service {number:02d}", slug=f"s-{number:02d}")

    content = client_for("mo").get("/").content.decode()

    assert "Service 07" in content and "Service 08" not in content
    assert "and 2 more…" in content
    assert "10 services" in content


@pytest.mark.parametrize("path", ["/", "/services/", "/teams/", "/api/v1/services/"])
def test_pages_use_a_fixed_number_of_queries(client_for, org, django_assert_max_num_queries, path):
    for team in (org.checkout, org.mobile):
        for number in range(30):
            ServiceFactory(team=team, slug=f"{team.slug}-{number}")
    client = client_for("sam")

    with django_assert_max_num_queries(8):
        assert client.get(path).status_code == 200


def test_an_unknown_page_is_the_sites_own_404(client_for):
    response = client_for("mo").get("/no-such-page/")

    assert response.status_code == 404
    assert b"Page not found" in response.content and b"Flightdeck" in response.content


def test_teams_are_listed_by_name(client_for, org):
    for name in ["Zeta", "Alpha"]:
        ServiceFactory(team=TeamFactory(name=name))

    for path in ["/", "/teams/"]:
        content = client_for("sam").get(path).content.decode()
        positions = [content.index(name) for name in ["Alpha", "Checkout", "Mobile", "Zeta"]]
        assert positions == sorted(positions), path
