"""GitLabConnector.normalise and webhook_items over recorded REST items and webhook bodies."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    IncidentRecord,
    JobRecord,
    RawItem,
    RunRecord,
    RunStatus,
)
from pipelines.connectors.gitlab import GitLabConnector

FIXTURES = Path(__file__).parent / "fixtures" / "gitlab"
REPO = "merico-dev/ee/vdev.co"
normalise = GitLabConnector.normalise
webhook_items = GitLabConnector.webhook_items


def recorded_rows(name: str) -> list[dict[str, Any]]:
    with (FIXTURES / name).open(newline="") as file:
        return [json.loads(row["data"]) for row in csv.DictReader(file)]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


PIPELINE = recorded_rows("devlake-raw-gitlab-api-pipeline-details.csv")[0]
DEPLOYMENTS = recorded_rows("devlake-raw-gitlab-api-deployments.PARTLY-SYNTHETIC.csv")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("created", RunStatus.QUEUED),
        ("waiting_for_resource", RunStatus.QUEUED),
        ("preparing", RunStatus.QUEUED),
        ("pending", RunStatus.QUEUED),
        ("scheduled", RunStatus.QUEUED),
        ("manual", RunStatus.QUEUED),
        ("running", RunStatus.RUNNING),
        ("success", RunStatus.SUCCESS),
        ("failed", RunStatus.FAILURE),
        ("canceled", RunStatus.CANCELLED),
        ("canceling", RunStatus.CANCELLED),
        ("skipped", RunStatus.SKIPPED),
        ("bogus", RunStatus.OTHER),
    ],
)
def test_it_maps_each_pipeline_and_job_status(status, expected):
    pipeline = RawItem("gitlab.pipeline", REPO, {**PIPELINE, "status": status})
    job = recorded_rows("devlake-raw-gitlab-api-jobs.PARTLY-SYNTHETIC.csv")[0]
    job_item = RawItem("gitlab.job", REPO, {**job, "status": status})

    assert normalise(pipeline)[0].status is expected
    assert normalise(job_item)[0].status is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("created", RunStatus.QUEUED),
        ("blocked", RunStatus.QUEUED),
        ("running", RunStatus.RUNNING),
        ("success", RunStatus.SUCCESS),
        ("failed", RunStatus.FAILURE),
        ("canceled", RunStatus.CANCELLED),
        ("completed", RunStatus.OTHER),  # DevLake's hand-edited rows: not a GitLab status
    ],
)
def test_it_maps_each_deployment_status(status, expected):
    item = RawItem("gitlab.deployment", REPO, {**DEPLOYMENTS[0], "status": status})

    assert normalise(item)[0].status is expected


def test_it_normalises_every_recorded_list_row():
    for name, kind in [
        ("devlake-raw-gitlab-api-pipelines.PARTLY-SYNTHETIC.csv", "gitlab.pipeline"),
        ("devlake-raw-gitlab-api-jobs.PARTLY-SYNTHETIC.csv", "gitlab.job"),
        ("devlake-raw-gitlab-api-deployments.PARTLY-SYNTHETIC.csv", "gitlab.deployment"),
    ]:
        for row in recorded_rows(name):
            assert len(normalise(RawItem(kind, REPO, row))) == 1
    for job in fixture("rest-list-pipeline-jobs.narkoz.json"):  # 2015-era field set
        assert normalise(RawItem("gitlab.job", REPO, job))[0].run_external_id == "6"


def test_it_normalises_a_pipeline_with_its_timings():
    assert normalise(RawItem("gitlab.pipeline", REPO, PIPELINE)) == [
        RunRecord(
            external_id="1078343570",
            name="refs/merge-requests/5394/head",
            status=RunStatus.SUCCESS,
            created_at=at(2023, 11, 20, 7, 17, 8, 753000),
            started_at=at(2023, 11, 20, 7, 17, 10, 123000),
            finished_at=at(2023, 11, 21, 1, 54, 29, 748000),
            branch="refs/merge-requests/5394/head",
            sha="694ed6ede74c367f17c7fddb56de629354a27069",
            event="merge_request_event",
            url="https://gitlab.com/merico-dev/ee/vdev.co/-/pipelines/1078343570",
        )
    ]


def test_it_names_a_pipeline_without_a_ref_after_its_iid():
    (run,) = normalise(RawItem("gitlab.pipeline", REPO, {**PIPELINE, "ref": None}))

    assert run.name == "pipeline 36229"
    assert run.branch == ""


def test_it_normalises_a_job_to_its_pipeline():
    job = recorded_rows("devlake-raw-gitlab-api-jobs.PARTLY-SYNTHETIC.csv")[0]

    assert normalise(RawItem("gitlab.job", REPO, job, {"pipeline_id": 1})) == [
        JobRecord(
            external_id="152",
            run_external_id="73",
            name="format",
            status=RunStatus.FAILURE,
            created_at=at(2022, 8, 25, 21, 19, 10, 938000),
            started_at=None,
            finished_at=at(2022, 8, 25, 23, 0, 8, 594000),
            stage="test",
            url="https://gitlab.nddtf.com/merico/pip_test/-/jobs/152",
        )
    ]


def test_it_normalises_a_deployment_with_its_job_and_pipeline():
    assert normalise(RawItem("gitlab.deployment", REPO, DEPLOYMENTS[0])) == [
        DeploymentRecord(
            external_id="13426753",
            environment="staging",
            status=RunStatus.SUCCESS,
            started_at=at(2019, 3, 13, 14, 14, 24, 109000),
            finished_at=at(2019, 3, 13, 14, 17, 47, 640000),
            sha="add237f6852e6108ee8e0246780a54ce909c6087",
            ref="master",
            is_production=None,
            run_external_id="51653436",
            url="https://gitlab.com/merico-dev/ee/vdev.co/-/jobs/176919795",
        )
    ]


def test_it_leaves_an_unfinished_deployment_without_a_finish_time():
    created = next(d for d in DEPLOYMENTS if d["status"] == "created")

    (deployment,) = normalise(RawItem("gitlab.deployment", REPO, created))

    assert (deployment.status, deployment.finished_at) == (RunStatus.QUEUED, None)


def test_it_reads_production_from_the_environment_tier():
    production = fixture("deployments-production.handmade.json")[0]
    other = {**production, "environment": {"name": "production", "tier": "staging"}}

    assert normalise(RawItem("gitlab.deployment", REPO, production))[0].is_production is True
    assert normalise(RawItem("gitlab.deployment", REPO, other))[0].is_production is False


def test_it_prefers_the_squash_commit_and_falls_back_to_the_creation_time():
    merge_request = next(
        mr
        for mr in recorded_rows("devlake-raw-gitlab-api-merge-requests.csv")
        if mr["squash_commit_sha"]
    )

    (change,) = normalise(RawItem("gitlab.merge_request", REPO, merge_request))

    assert change.sha == "7f928f936c58b2e001f86d07b1f7b9411413e439"
    assert change.committed_at == at(2021, 2, 19, 20, 12, 14, 302000)


# --- webhooks -----------------------------------------------------------------------------


def test_it_turns_a_pipeline_hook_into_a_run_and_its_jobs():
    items = webhook_items("Pipeline Hook", fixture("webhook-pipeline-hook.go-gitlab.json"))

    assert [item.kind for item in items] == ["gitlab.pipeline_hook"] + ["gitlab.job"] * 5
    assert {item.repository for item in items} == {"gitlab-org/gitlab-test"}
    assert normalise(items[0]) == [
        RunRecord(
            external_id="31",
            name="master",
            status=RunStatus.SUCCESS,
            created_at=at(2016, 8, 12, 15, 23, 28),
            finished_at=at(2016, 8, 12, 15, 26, 29),
            branch="master",
            sha="bcbb5ec396a2c0f828686f14fac9b80b780504f2",
            event="merge_request_event",
            url="http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/31",
        )
    ]
    (deploy_job,) = normalise(items[1])
    assert (deploy_job.external_id, deploy_job.run_external_id) == ("380", "31")
    assert (deploy_job.status, deploy_job.stage) == (RunStatus.SKIPPED, "deploy")


def test_it_turns_job_hooks_into_jobs():
    success = webhook_items("Job Hook", fixture("webhook-job-hook-success.go-gitlab.json"))
    created = webhook_items("Job Hook", fixture("webhook-job-hook-created.go-gitlab.json"))

    # A Job Hook has no project path, only project_id.
    assert [(item.kind, item.repository) for item in success + created] == [
        ("gitlab.job_hook", "31537070"),
        ("gitlab.job_hook", "380"),
    ]
    assert normalise(success[0]) == [
        JobRecord(
            external_id="3580121225",
            run_external_id="743121198",
            name="auto_deploy:start",
            status=RunStatus.SUCCESS,
            created_at=at(2023, 1, 10, 13, 50, 2),
            started_at=at(2023, 1, 10, 13, 50, 5),
            finished_at=at(2023, 1, 10, 13, 50, 54),
            stage="coordinated:tag",
            url="https://gitlab.com/jsmithy2/release-tools-fake/-/jobs/3580121225",
            runner="linux",  # the shared runner's first tag (the job has none of its own)
        )
    ]
    (job,) = normalise(created[0])
    assert (job.status, job.created_at, job.finished_at) == (
        RunStatus.QUEUED,
        at(2021, 2, 23, 2, 41, 37, 886000),
        None,
    )


def test_it_turns_a_deployment_hook_into_a_deployment():
    payload = fixture("webhook-deployment-hook-success.go-gitlab.json")

    (item,) = webhook_items("Deployment Hook", payload)

    assert (item.kind, item.repository) == (
        "gitlab.deployment_hook",
        "root/test-deployment-webhooks",
    )
    assert normalise(item) == [
        DeploymentRecord(
            external_id="15",
            environment="staging",
            status=RunStatus.SUCCESS,
            finished_at=at(2021, 4, 28, 19, 50),  # "2021-04-28 21:50:00 +0200"
            sha="279484c09fbe69ededfced8c1bb6e6d24616b468",
            ref="1.0.0",
            url="http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796",
        )
    ]


def test_it_turns_a_merged_merge_request_hook_into_a_change():
    # The only merged-MR hook on record is a test template: fill its ${commitSha1} first.
    text = FIXTURES / "webhook-merge-request-hook-merged.TEMPLATE-placeholders.gitlab-plugin.json"
    sha = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    payload = json.loads(text.read_text().replace("${commitSha1}", sha))

    (item,) = webhook_items("Merge Request Hook", payload)

    assert item.repository == "awesome_space/awesome_project"
    assert normalise(item) == [
        ChangeRecord(
            sha=sha,
            committed_at=at(2013, 12, 3, 17, 23, 34, 123000),
            title="MS-Viewport",
            pull_request="http://example.com/diaspora/merge_requests/1",
            merged_at=at(2013, 12, 3, 17, 23, 34, 123000),
        )
    ]


def test_it_ignores_open_merge_requests_pushes_and_unknown_events():
    opened = fixture("webhook-merge-request-hook-open.go-gitlab.json")
    push = fixture("webhook-push-hook.go-gitlab.json")

    assert webhook_items("Merge Request Hook", opened) == []
    assert webhook_items("Push Hook", push) == []
    assert webhook_items("Note Hook", opened) == []


def test_it_turns_an_incident_issue_hook_into_an_incident():
    # No Issue Hook is on record: hand-made after GitLab's documented fields (type "Incident").
    payload = fixture("webhook-issue-hook-incident.handmade.json")
    plain = {**payload, "object_attributes": {**payload["object_attributes"], "type": "Issue"}}
    labelled = {**plain, "labels": [{"id": 9, "title": "Incident"}]}

    (item,) = webhook_items("Issue Hook", payload)

    assert normalise(item) == [
        IncidentRecord(
            external_id="features/issue-webhook#3",
            title="Checkout returns 502",
            opened_at=at(2024, 7, 1, 10),
            resolved_at=at(2024, 7, 1, 12, 30),
            url="http://gdk.test:3000/features/issue-webhook/-/issues/3",
        )
    ]
    assert webhook_items("Issue Hook", plain) == []
    assert len(webhook_items("Issue Hook", labelled)) == 1


# --- malformed payloads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("gitlab.pipeline", {**PIPELINE, "created_at": "yesterday"}),
        ("gitlab.pipeline", {key: value for key, value in PIPELINE.items() if key != "id"}),
        ("gitlab.deployment", {**DEPLOYMENTS[0], "environment": "staging"}),
        ("gitlab.job_hook", {"object_kind": "build", "build_status": "success"}),
        ("gitlab.compare", {"commits": [{"title": "no id"}]}),
    ],
)
def test_it_rejects_a_malformed_payload(kind, payload):
    with pytest.raises(ValidationError):
        normalise(RawItem(kind, REPO, payload))


def test_it_rejects_an_item_kind_it_does_not_know():
    with pytest.raises(ValueError, match="not a GitLab item kind"):
        normalise(RawItem("github.workflow_run", REPO, {}))
