"""Hand-made delivery data for the change request tests: dev, staging and production, the
Checkout team's Cart API (tests/conftest.py), changes and deployments pushed by hand, and
requests raised at a fixed time (2027-03-01 09:00 UTC) so their creation precedes the work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from pipelines.change_requests import services
from pipelines.models import Change, Deployment
from pipelines.services import push_source
from portal.models import Environment
from tests.factories import ServiceFactory

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # requests are raised at T0 unless said otherwise


def at(hours: float) -> datetime:
    """``hours`` after T0."""
    return T0 + timedelta(hours=hours)


@pytest.fixture
def envs(db) -> dict[str, Environment]:
    made = {}
    for slug, position, production in [("dev", 10, False), ("staging", 20, False),
                                       ("production", 30, True)]:  # fmt: skip
        made[slug], _ = Environment.objects.update_or_create(
            slug=slug, defaults={"name": slug, "position": position, "is_production": production}
        )
    return made


@pytest.fixture
def bff(org):
    """Mobile's service: another team's."""
    return ServiceFactory(team=org.mobile, name="Mobile BFF", slug="mobile-bff")


@pytest.fixture
def commit(service):
    """``commit(sha, title, hours, service=..., pull_request=...)``: a change."""

    def make(sha: str, title: str = "", hours: float = 0, *, on=None, pull_request: str = ""):
        return Change.objects.create(
            service=on or service,
            sha=sha,
            title=title,
            committed_at=at(hours),
            pull_request=pull_request,
        )

    return make


@pytest.fixture
def deploy(service, envs):
    """``deploy(env, external_id, hours, changes=[...], status=, ref=, sha=, on=)``."""

    def make(env: str, external_id: str, hours: float, *, changes=(), status="success",
             ref: str = "", sha: str = "", on=None) -> Deployment:  # fmt: skip
        deployment = Deployment.objects.create(
            source=push_source(),
            service=on or service,
            environment=envs[env],
            external_id=external_id,
            status=status,
            started_at=at(hours) - timedelta(minutes=5),
            finished_at=at(hours),
            sha=sha or (changes[-1].sha if changes else ""),
            ref=ref,
        )
        deployment.changes.set(changes)
        return deployment

    return make


@pytest.fixture
def raise_request(org):
    """``raise_request(title, by="mo", team=None, hours=0)``: a request in intake, raised then."""

    def make(title: str = "Export invoices as CSV", *, by: str = "mo", team=None,
             hours: float = 0, **fields):  # fmt: skip
        with time_machine.travel(at(hours), tick=False):
            return services.cr_create(
                actor=org.users[by],
                team=team or org.checkout,
                title=title,
                requester=fields.pop("requester", "ACME Corp"),
                **fields,
            )

    return make


@pytest.fixture
def accept(org):
    """``accept(request, hours=...)``: lee accepts it then."""

    def make(request, hours: float = 0, comment: str = ""):
        with time_machine.travel(at(hours), tick=False):
            return services.cr_triage(
                actor=org.users["lee"], request=request, decision="accept", comment=comment
            )

    return make
