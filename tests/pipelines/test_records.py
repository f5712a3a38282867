"""records_apply: idempotent upserts that never move backwards, links in any order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    IncidentRecord,
    JobRecord,
    RunRecord,
    RunStatus,
)
from pipelines.models import Change, Deployment, Incident, JobRun, PipelineRun
from pipelines.records import records_apply

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def apply(make_source, service):
    source = make_source("github")

    def do(*records):
        return records_apply(source=source, service=service, records=list(records))

    return do


def run(status=RunStatus.SUCCESS, **overrides):
    return RunRecord(
        **{"external_id": "101", "name": "CI", "status": status, "created_at": T0, **overrides}
    )


def test_applying_the_same_records_twice_changes_nothing(apply):
    records = [
        run(),
        JobRecord(external_id="7", run_external_id="101", name="test", status=RunStatus.SUCCESS),
    ]

    apply(*records)
    apply(*records)

    assert (PipelineRun.objects.count(), JobRun.objects.count()) == (1, 1)


def test_a_late_in_progress_update_does_not_undo_a_finished_run(apply):
    apply(run(RunStatus.SUCCESS, finished_at=T0 + timedelta(minutes=5)))

    apply(run(RunStatus.RUNNING))

    assert PipelineRun.objects.get().status == "success"


def test_within_one_batch_the_finished_state_wins(apply):
    apply(run(RunStatus.FAILURE), run(RunStatus.RUNNING))

    assert PipelineRun.objects.get().status == "failure"


def test_a_job_that_arrives_before_its_run_is_linked_when_the_run_comes(apply):
    apply(JobRecord(external_id="7", run_external_id="101", name="test", status=RunStatus.SUCCESS))
    assert JobRun.objects.get().run is None

    apply(run())

    assert JobRun.objects.get().run == PipelineRun.objects.get()


def test_a_change_keeps_its_earliest_known_time(apply):
    squash_commit = ChangeRecord(sha="c" * 40, committed_at=T0, title="Squashed")
    first_commit_of_pr = ChangeRecord(
        sha="c" * 40,
        committed_at=T0 - timedelta(days=2),
        pull_request="https://github.com/acme/cart/pull/9",
    )

    apply(squash_commit)
    apply(first_commit_of_pr)
    apply(squash_commit)

    change = Change.objects.get()
    assert change.committed_at == T0 - timedelta(days=2)
    assert (change.title, change.pull_request) == (
        "Squashed",
        "https://github.com/acme/cart/pull/9",
    )


def test_changes_and_incidents_link_to_their_deployment(apply):
    apply(
        DeploymentRecord(
            external_id="d1", environment="production", status=RunStatus.SUCCESS, finished_at=T0
        ),
        ChangeRecord(
            sha="a" * 40, committed_at=T0 - timedelta(hours=3), deployment_external_id="d1"
        ),
        IncidentRecord(
            external_id="acme/cart#3", title="Errors", opened_at=T0, deployment_external_id="d1"
        ),
    )

    deployment = Deployment.objects.get()
    assert [c.sha for c in deployment.changes.all()] == ["a" * 40]
    assert Incident.objects.get().deployment == deployment
    assert deployment.environment.is_production


def test_overlong_text_is_cut_to_the_column_not_refused(apply):
    apply(run(name="x" * 1000, branch="b" * 1000))

    stored = PipelineRun.objects.get()
    assert (len(stored.name), len(stored.branch)) == (300, 300)
