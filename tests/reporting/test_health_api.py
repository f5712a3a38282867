"""GET /api/v1/metrics/pipeline-health/ on stored runs and jobs (hand-computed, see below).

Cart API (default branch main), runs created on 2 March 2026:
    A main  failure  10:00 / 10:05 / 10:35   job tests failed 10:05-10:30 (25 min)
    B main  success  12:00 / 12:00 / 12:20   job tests passed 12:00-12:15 (15 min), same sha
    -> success rate 1/2; durations 1,800 and 1,200: p50 rank 1 -> 1,200, p95 rank 2 -> 1,800;
       queue 300 and 0 -> median 150; "tests" flaky once; red 10:35-12:20 = 6,300 s (also the
       recovery); CI minutes 40, cost 40 x 0.008 = 0.32
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.models import JobRun, PipelineRun
from pipelines.services import push_source


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def runs(service):
    source = push_source()
    for external_id, status, created, started, finished, job_window in [
        ("A", "failure", "10:00", "10:05", "10:35", ("10:05", "10:30")),
        ("B", "success", "12:00", "12:00", "12:20", ("12:00", "12:15")),
    ]:
        run = PipelineRun.objects.create(
            source=source,
            service=service,
            external_id=external_id,
            name="ci",
            status=status,
            branch="main",
            sha="f" * 40,
            created_at=at(f"2026-03-02T{created}"),
            started_at=at(f"2026-03-02T{started}"),
            finished_at=at(f"2026-03-02T{finished}"),
        )
        JobRun.objects.create(
            source=source,
            run=run,
            run_external_id=external_id,
            external_id=f"{external_id}-1",
            name="tests",
            status=status,
            started_at=at(f"2026-03-02T{job_window[0]}"),
            finished_at=at(f"2026-03-02T{job_window[1]}"),
        )


def test_pipeline_health_through_the_api(org, api_client_for, runs):
    body = (
        api_client_for(org.users["mo"])
        .get("/api/v1/metrics/pipeline-health/?service=cart-api&start=2026-03-02&end=2026-03-02")
        .json()
    )

    assert (body["success_rate"], body["runs_finished"]) == (0.5, 2)
    assert (body["duration_p50"], body["duration_p95"], body["queue_p50"]) == (1200, 1800, 150)
    assert body["flaky_jobs"] == {"tests": 1}
    assert (body["red_seconds"], body["red_recovery_median"]) == (6300, 6300)
    assert (body["ci_minutes"], body["ci_cost"]) == (40, 0.32)


def test_bad_parameters_are_a_400(org, api_client_for, runs):
    response = api_client_for(org.users["mo"]).get(
        "/api/v1/metrics/pipeline-health/?start=2026-03-05&end=2026-03-01"
    )

    assert response.status_code == 400
