"""One Checkout deliverable on the roadmap of tests/conftest.py (budget 10 000, a measured and a
checked target)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from roadmap import services


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


# API clients of the org fixture's people (tests/conftest.py).
@pytest.fixture
def lee(org, api_client_for):
    return api_client_for(org.users["lee"])


@pytest.fixture
def mo(org, api_client_for):
    return api_client_for(org.users["mo"])


@pytest.fixture
def sam(org, api_client_for):
    return api_client_for(org.users["sam"])


@pytest.fixture
def sue_client(sue, api_client_for):
    return api_client_for(sue)
