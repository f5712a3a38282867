from __future__ import annotations

from datetime import date

import pytest

from poc import services
from poc.models import Quadrant
from portal.models import Role
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def ana(org):
    """A second member of Checkout, to evaluate alongside mo."""
    user = UserFactory(username="ana", first_name="Ana", last_name="Silva")
    MembershipFactory(user=user, team=org.checkout, role=Role.MEMBER)
    org.users["ana"] = user  # client_for("ana") signs her in
    return user


@pytest.fixture
def tools():
    return Quadrant.objects.get(slug="tools")


@pytest.fixture
def proposed(org, ana, tools):
    """Checkout's POC of Dagster, proposed by mo with ana and mo as evaluators."""
    return services.poc_propose(
        actor=org.users["mo"],
        team=org.checkout,
        title="Dagster for the nightly jobs",
        tool="Dagster",
        quadrant=tools,
        problem="Cron jobs fail silently and nobody can rerun one step.",
        problem_key="orchestration",
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 12, 15),
        evaluators=[org.users["mo"], ana],
        criteria=[("fit", "Fit", 3), ("cost", "Cost", 1), ("ops", "Ops", 2)],
    )


def run_to_review(org, poc):
    services.poc_transition(actor=org.users["lee"], poc=poc, action="approve")
    services.poc_transition(actor=org.users["mo"], poc=poc, action="start")
    services.poc_transition(actor=org.users["mo"], poc=poc, action="review")
    poc.refresh_from_db()
    return poc
