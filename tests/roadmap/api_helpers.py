"""What the roadmap API tests share: request bodies, the refusal check, version URLs."""

from __future__ import annotations

from datetime import UTC, datetime

# 2027-02-15: a month and a half into the fixture deliverable's Q1 2027.
MID_FEBRUARY = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)
INITIATIVE = {
    "title": "Standard pipeline everywhere",
    "roadmap": "devops-2027",
    "theme": "faster-delivery",
    "owner": "lee",
    "teams": ["checkout"],
    "starts_on": "2027-01-01",
    "ends_on": "2027-06-30",
}
DELIVERABLE = {
    "title": "Cart API on the standard pipeline",
    "initiative": "standard-pipeline-everywhere",
    "team": "checkout",
    "services": ["cart-api"],
    "starts_on": "2027-01-01",
    "due_on": "2027-03-31",
    "budget": "10000.00",
    "targets": [
        {"name": "Change failure rate", "metric": "change_failure_rate", "comparison": "lte",
         "threshold": 10, "window_days": 30},
        {"name": "Runbook reviewed"},
    ],
}  # fmt: skip


def refused(response, status: int, *fields: str) -> dict:
    """A 4xx with a JSON body: ``detail`` or field errors (and these fields among them)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body, dict) and body, body
    assert "detail" in body or all(isinstance(v, list | dict) for v in body.values()), body
    for field in fields:
        assert field in body, body
    return body


def versions_url(roadmap_slug: str, number: int, action: str = "") -> str:
    return f"/api/v1/roadmaps/{roadmap_slug}/versions/{number}/" + (f"{action}/" if action else "")
