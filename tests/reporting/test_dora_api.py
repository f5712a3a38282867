"""The DORA endpoint on the hand-computed world of test_dora.py, pushed through the push API."""

from __future__ import annotations

import pytest

WORLD = [
    # (external id, environment, status, finished_at, change shas)
    ("D1", "production", "success", "2026-02-28T12:00:00Z", ["b"]),
    ("D2", "production", "success", "2026-03-01T10:00:00Z", ["a", "b"]),
    ("D3", "production", "failure", "2026-03-01T12:00:00Z", ["c"]),
    ("D4", "staging", "success", "2026-03-01T13:00:00Z", []),
    ("D5", "production", "success", "2026-03-03T00:30:00+01:00", ["c", "d"]),
    ("D6", "production", "success", "2026-03-03T00:00:00Z", []),
]
COMMITTED = {
    "a": "2026-03-01T04:00:00Z",
    "b": "2026-02-27T12:00:00Z",
    "c": "2026-03-01T11:30:00Z",
    "d": "2026-03-01T00:00:00Z",
}
INCIDENTS = [
    {
        "external_id": "I1",
        "opened_at": "2026-03-01T11:00:00Z",
        "resolved_at": "2026-03-01T11:30:00Z",
    },
    {"external_id": "I2", "opened_at": "2026-03-02T23:30:00Z"},
    {
        "external_id": "I3",
        "opened_at": "2026-03-01T09:00:00Z",
        "resolved_at": "2026-03-01T10:00:00Z",
        "deployment": "D1",
    },
    {
        "external_id": "I4",
        "opened_at": "2026-02-28T11:00:00Z",
        "resolved_at": "2026-02-28T13:00:00Z",
    },
]


@pytest.fixture
def lee(org, api_client_for, service):
    client = api_client_for(org.users["lee"])
    for external_id, environment, status, finished_at, shas in WORLD:
        response = client.post(
            "/api/v1/deployments/",
            {
                "external_id": external_id,
                "service": "cart-api",
                "environment": environment,
                "status": status,
                "started_at": "2026-02-27T12:00:00Z",
                "finished_at": finished_at,
                "sha": shas[-1] if shas else "",
                "changes": [{"sha": sha, "committed_at": COMMITTED[sha]} for sha in shas],
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    for incident in INCIDENTS:
        response = client.post(
            "/api/v1/incidents/", {"service": "cart-api", "title": "x", **incident}, format="json"
        )
        assert response.status_code == 201, response.content
    return client


def test_the_endpoint_agrees_with_the_hand_computed_world(lee):
    body = lee.get("/api/v1/metrics/dora/?service=cart-api&start=2026-03-01&end=2026-03-02").json()

    assert body["deployment_frequency"] == {"count": 2, "per_day": 1.0, "tier": "elite"}
    assert body["lead_time_for_changes"] == {
        "median_seconds": 129_600.0,
        "count": 3,
        "tier": "high",
    }
    assert body["change_failure_rate"] == {"rate": 1.0, "failed": 2, "total": 2, "tier": "low"}
    assert body["failed_deployment_recovery_time"] == {
        "median_seconds": 5_400.0,
        "count": 1,
        "tier": "high",
    }
    assert body["deployment_rework_rate"] == {"rate": 0.5, "rework": 1, "total": 2}
    assert body["scope"]["kind"] == "service"


def test_replaying_every_push_changes_no_number(lee):
    before = lee.get("/api/v1/metrics/dora/?team=checkout&start=2026-03-01&end=2026-03-02").json()
    for external_id, environment, status, finished_at, shas in WORLD:
        lee.post(
            "/api/v1/deployments/",
            {
                "external_id": external_id,
                "service": "cart-api",
                "environment": environment,
                "status": status,
                "started_at": "2026-02-27T12:00:00Z",
                "finished_at": finished_at,
                "sha": "",
                "changes": [{"sha": s, "committed_at": COMMITTED[s]} for s in shas],
            },
            format="json",
        )

    after = lee.get("/api/v1/metrics/dora/?team=checkout&start=2026-03-01&end=2026-03-02").json()

    assert {k: v for k, v in after.items() if k != "scope"} == {
        k: v for k, v in before.items() if k != "scope"
    }


def test_an_empty_range_is_nulls_not_errors(lee):
    body = lee.get("/api/v1/metrics/dora/?start=2020-01-01&end=2020-01-31").json()

    assert body["deployment_frequency"] == {"count": 0, "per_day": 0.0, "tier": None}
    assert body["change_failure_rate"]["rate"] is None
    assert body["lead_time_for_changes"]["median_seconds"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-03-05&end=2026-03-01", "end"),
        ("start=2026-02-30", "start"),
        ("start=2015-01-01&end=2026-01-01", "end"),
        ("service=no-such-service", "service"),
        ("team=no-such-team", "team"),
        ("service=cart-api&team=checkout", "team"),
        ("report=2019", "report"),
        ("team=", "team"),
    ],
)
def test_bad_parameters_are_a_400_with_a_reason(lee, query, field):
    response = lee.get(f"/api/v1/metrics/dora/?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_another_teams_service_is_unknown_to_a_member(org, api_client_for, lee):
    response = api_client_for(org.users["kim"]).get("/api/v1/metrics/dora/?service=cart-api")

    assert response.status_code == 400
