"""A roadmap for the org fixture: approvers sam and sue (stakeholders), one theme, one
initiative with one Checkout deliverable (budget 10 000, a measured and a checked target)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.models import Role
from roadmap import services
from roadmap.models import Roadmap
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def sue(org):
    """A second stakeholder, organisation-wide."""
    user = UserFactory(username="sue", first_name="Sue", last_name="Park")
    MembershipFactory(user=user, team=None, role=Role.STAKEHOLDER)
    org.users["sue"] = user  # client_for("sue") signs her in
    return user


@pytest.fixture
def roadmap(org, sue):
    return services.roadmap_create(
        actor=org.users["lee"],
        name="DevOps 2027",
        approvers=[org.users["sam"], sue],
        approval_rule=Roadmap.Rule.ALL,
    )


@pytest.fixture
def theme(org, roadmap):
    return services.theme_create(actor=org.users["lee"], roadmap=roadmap, name="Faster delivery")


@pytest.fixture
def initiative(org, theme):
    return services.initiative_create(
        actor=org.users["lee"],
        theme=theme,
        title="Standard pipeline everywhere",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 6, 30),
        teams=[org.checkout],
        owner=org.users["lee"],
    )


@pytest.fixture
def deliverable(org, initiative, service):
    return services.deliverable_create(
        actor=org.users["lee"],
        initiative=initiative,
        title="Cart API on the standard pipeline",
        team=org.checkout,
        starts_on=date(2027, 1, 1),
        due_on=date(2027, 3, 31),
        budget=Decimal("10000"),
        services=[service],
        targets=[
            {"name": "Change failure rate", "metric": "change_failure_rate",
             "comparison": "lte", "threshold": 10, "window_days": 30},
            {"name": "Runbook reviewed"},
        ],
    )  # fmt: skip
