"""SLO fixtures: a Checkout team lead, incidents of the Cart API, a fake Prometheus HTTP API on
loopback (pytest-httpserver) and a CI source pointing at it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipelines.models import CISource, Incident
from pipelines.services import push_source
from portal.models import Role
from tests.factories import MembershipFactory, UserFactory

QUERY_RANGE = "/api/v1/query_range"
TOKEN = "prom-read-token"


@pytest.fixture
def tia(org):
    """Checkout's team lead: edits Checkout's SLOs, not Mobile's."""
    user = UserFactory(username="tia")
    MembershipFactory(user=user, team=org.checkout, role=Role.LEAD)
    org.users["tia"] = user
    return user


@pytest.fixture
def open_incident(service):
    """``open_incident(opened_at, mitigated_at=None, resolved_at=None, **fields)``."""
    count = iter(range(1, 1000))

    def make(opened_at: datetime, mitigated_at=None, resolved_at=None, **fields) -> Incident:
        return Incident.objects.create(
            source=push_source(),
            service=fields.pop("for_service", service),
            external_id=f"INC-{next(count)}",
            title="Checkout errors",
            opened_at=opened_at,
            mitigated_at=mitigated_at,
            resolved_at=resolved_at,
            **fields,
        )

    return make


@pytest.fixture
def prometheus(db, httpserver: HTTPServer) -> CISource:
    """A Prometheus source on the loopback server, with a bearer token."""
    source = CISource(
        kind=CISource.Kind.PROMETHEUS,
        name="Prometheus",
        slug="prometheus",
        base_url=httpserver.url_for("/"),
        is_active=False,  # queried by SLOs, never synced
    )
    source.set_token(TOKEN)
    source.save()
    return source


def matrix(values: list[tuple[float, float]], *, metric: dict | None = None) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": metric or {}, "values": [[at, repr(value)] for at, value in values]}
            ],
        },
    }


def serve_good_fraction(
    httpserver: HTTPServer, good_at: Callable[[float], float], **expect
) -> list[dict]:
    """Answer every query_range with one series: ``good_at(t)`` at each step from ``start``
    to ``end``, as Prometheus does. Returns the query parameters of each request, in order."""
    asked: list[dict] = []

    def handler(request: Request) -> Response:
        args = request.args
        asked.append(dict(args))
        start, end, step = float(args["start"]), float(args["end"]), int(args["step"])
        steps = int((end - start) // step) + 1
        values = [(start + i * step, good_at(start + i * step)) for i in range(steps)]
        return Response(json.dumps(matrix(values)), content_type="application/json")

    httpserver.expect_request(QUERY_RANGE, method="GET", **expect).respond_with_handler(handler)
    return asked


def now_minute() -> datetime:
    """Now, at a whole minute (Prometheus evaluations end on one)."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
