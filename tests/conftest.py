"""Personas (after healthchecks' alice, bob and charlie) and API clients for every test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from portal.models import Role
from roadmap import services as roadmap_services
from roadmap.models import Roadmap
from tests.factories import MembershipFactory, TeamFactory, UserFactory


@dataclass
class Org:
    """A small organisation: two teams and one user per role.

    checkout: member ``mo`` and viewer ``val``; mobile: member ``kim`` (the outsider to checkout).
    ``ada`` is an admin, ``lee`` a lead and ``sam`` a stakeholder, all organisation-wide.
    """

    checkout: object
    mobile: object
    users: dict


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield


@pytest.fixture
def org(db) -> Org:
    checkout = TeamFactory(name="Checkout", slug="checkout")
    mobile = TeamFactory(name="Mobile", slug="mobile")
    users = {}
    for username, team, role in [
        ("ada", None, Role.ADMIN),
        ("lee", None, Role.LEAD),
        ("sam", None, Role.STAKEHOLDER),
        ("mo", checkout, Role.MEMBER),
        ("val", checkout, Role.VIEWER),
        ("kim", mobile, Role.MEMBER),
    ]:
        user = UserFactory(username=username)
        MembershipFactory(user=user, team=team, role=role)
        users[username] = user
    return Org(checkout=checkout, mobile=mobile, users=users)


@pytest.fixture
def service(org):
    """Checkout's Cart API: the service most tests record deployments and runs for."""
    from tests.factories import ServiceFactory

    return ServiceFactory(team=org.checkout, name="Cart API", slug="cart-api")


@pytest.fixture
def api_client_for():
    """``api_client_for(user)``: an APIClient authenticated as ``user`` (None: anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def client_for(org):
    """``client_for(username)``: a browser client signed in as one of the ``org`` personas."""
    from django.test import Client

    def make(username: str) -> Client:
        client = Client()
        client.force_login(org.users[username])
        return client

    return make


# --- the roadmap (tests/roadmap, and the status reports in tests/reporting) -----------------


@pytest.fixture
def sue(org):
    """A second stakeholder, organisation-wide."""
    user = UserFactory(username="sue", first_name="Sue", last_name="Park")
    MembershipFactory(user=user, team=None, role=Role.STAKEHOLDER)
    org.users["sue"] = user  # client_for("sue") signs her in
    return user


@pytest.fixture
def roadmap(org, sue):
    return roadmap_services.roadmap_create(
        actor=org.users["lee"],
        name="DevOps 2027",
        approvers=[org.users["sam"], sue],
        approval_rule=Roadmap.Rule.ALL,
    )


@pytest.fixture
def theme(org, roadmap):
    return roadmap_services.theme_create(
        actor=org.users["lee"], roadmap=roadmap, name="Faster delivery"
    )


@pytest.fixture
def initiative(org, theme):
    return roadmap_services.initiative_create(
        actor=org.users["lee"],
        theme=theme,
        title="Standard pipeline everywhere",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 6, 30),
        teams=[org.checkout],
        owner=org.users["lee"],
    )
