"""Hand-made incidents for the production support tests: Checkout's Cart API (tests/conftest.py)
and Mobile's BFF, incidents opened in the portal at fixed past moments (T0 = 2026-03-02 09:00
UTC, a Monday), production deployments pushed by hand, and a maturity capability to plan
improvement actions against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maturity.models import Area, Capability, MaturityModel
from pipelines.incidents import services
from pipelines.models import Deployment
from pipelines.services import push_source
from portal.models import Environment
from tests.factories import ServiceFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def bff(org):
    """Mobile's service: another team's."""
    return ServiceFactory(team=org.mobile, name="Mobile BFF", slug="mobile-bff")


@pytest.fixture
def open_incident(org, service):
    """``open_incident(title, by="mo", on=service, minutes=0, severity="", **fields)``."""

    def make(title: str = "Checkout errors", *, by: str = "mo", on=None, minutes: float = 0,
             severity: str = "", **fields):  # fmt: skip
        return services.incident_open(
            actor=org.users[by],
            service=on or service,
            title=title,
            severity=severity,
            opened_at=at(minutes),
            **fields,
        )

    return make


@pytest.fixture
def incident(open_incident):
    """Cart API's incident, opened by mo at T0, not triaged."""
    return open_incident()


@pytest.fixture
def production(db) -> Environment:
    environment, _ = Environment.objects.update_or_create(
        slug="production", defaults={"name": "production", "is_production": True}
    )
    return environment


@pytest.fixture
def deploy(service, production):
    """``deploy(external_id, minutes, on=service, status="success")``: a production deployment
    finished ``minutes`` after T0."""

    def make(external_id: str, minutes: float, *, on=None, status: str = "success"):
        return Deployment.objects.create(
            source=push_source(),
            service=on or service,
            environment=production,
            external_id=external_id,
            status=status,
            started_at=at(minutes - 5),
            finished_at=at(minutes),
            sha=external_id.ljust(40, "0")[:40],
        )

    return make


@pytest.fixture
def capability(db) -> Capability:
    model = MaturityModel.objects.create(slug="devops", name="DevOps")
    area = Area.objects.create(model=model, key="operate", name="Operate")
    return Capability.objects.create(
        model=model, area=area, key="incident-response", name="Incident response"
    )
