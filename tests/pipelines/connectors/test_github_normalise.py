"""GitHubConnector.normalise and webhook_items over recorded GitHub payloads (no I/O).

Every ``webhook-*.json`` in ``fixtures/github/`` (copies of ``shared/ci-samples/github/``) is
normalised; the event name is the file name's first part, or the captured X-GitHub-Event header.
GitHub has no recorded ``issues`` webhook here: that payload is assembled from the hand-made issue
list (``issues-incident.handmade.json``) and a recorded repository object.
"""

from __future__ import annotations

import base64
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
from pipelines.connectors.github import GitHubConnector

FIXTURES = Path(__file__).parent / "fixtures" / "github"
S = RunStatus


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


def webhook(name: str) -> tuple[str, dict[str, Any]]:
    """(event, payload); the Cogni captures are whole deliveries with the body in base64."""
    payload = load(name)
    event = name.removeprefix("webhook-").split("-")[0]
    if "body_raw_base64" in payload:
        assert payload["headers"]["x-github-event"] == event
        payload = json.loads(base64.b64decode(payload["body_raw_base64"]))
    return event, payload


def normalised(event: str, payload: dict[str, Any]) -> list:
    items = GitHubConnector.webhook_items(event, payload)
    return [record for item in items for record in GitHubConnector.normalise(item)]


def summary(record) -> tuple:
    if isinstance(record, ChangeRecord):
        return ("change", record.sha[:7], record.committed_at.isoformat())
    return (type(record).__name__, record.external_id, record.status)


WEBHOOKS = {
    "webhook-workflow_run-requested.octokit.json": [("RunRecord", "289782451", S.QUEUED)],
    "webhook-workflow_run-in_progress.captured-with-headers-signed.cogni.json": [
        ("RunRecord", "18436407157", S.RUNNING)
    ],
    "webhook-workflow_run-completed-success.octokit.json": [("RunRecord", "289782451", S.SUCCESS)],
    "webhook-workflow_run-completed-success-with-pull-requests.octokit.json": [
        ("RunRecord", "289782451", S.SUCCESS)
    ],
    "webhook-workflow_run-completed-success.ideacrew.json": [
        ("RunRecord", "1321542128", S.SUCCESS)
    ],
    "webhook-workflow_run-completed-failure.ideacrew-HAND-EDITED.json": [
        ("RunRecord", "1321542128", S.FAILURE)
    ],
    "webhook-workflow_job-queued-with-deployment.octokit.json": [
        ("JobRecord", "12877621891", S.QUEUED)
    ],
    "webhook-workflow_job-completed-success.octokit.json": [("JobRecord", "289782451", S.SUCCESS)],
    "webhook-workflow_job-completed-failure.octokit.json": [("JobRecord", "289782451", S.FAILURE)],
    "webhook-deployment-created.octokit.json": [("DeploymentRecord", "145988746", S.QUEUED)],
    "webhook-deployment-created-github-pages-with-workflow_run.octokit.json": [
        ("DeploymentRecord", "145988746", S.QUEUED)
    ],
    "webhook-deployment_status-success.octokit.json": [
        ("DeploymentRecord", "145988746", S.SUCCESS)
    ],
    "webhook-deployment_status-in_progress-github-pages.octokit.json": [
        ("DeploymentRecord", "145988746", S.RUNNING)
    ],
    # A webhook has no first commit: the change dates from the pull request's creation.
    "webhook-pull_request-closed-merged.ideacrew.json": [
        ("change", "012a9ee", "2022-04-13T19:17:03+00:00")
    ],
    "webhook-pull_request-closed-merged.captured-with-headers-signed.cogni.json": [
        ("change", "18cc785", "2025-10-15T07:09:59+00:00")
    ],
    "webhook-pull_request-closed-not-merged.octokit.json": [],
    "webhook-push-new-branch-one-commit.octokit.json": [],  # commits come from compare
}


def test_it_has_an_expectation_for_every_recorded_webhook():
    assert sorted(WEBHOOKS) == sorted(path.name for path in FIXTURES.glob("webhook-*.json"))


@pytest.mark.parametrize("name", WEBHOOKS)
def test_it_normalises_each_recorded_webhook(name):
    assert [summary(record) for record in normalised(*webhook(name))] == WEBHOOKS[name]


def test_it_maps_a_workflow_run_webhook_field_by_field():
    assert normalised(*webhook("webhook-workflow_run-completed-success.ideacrew.json")) == [
        RunRecord(
            external_id="1321542128",
            name="test cloud functions",
            status=S.SUCCESS,
            created_at=datetime(2021, 10, 8, 18, 58, 9, tzinfo=UTC),
            started_at=datetime(2021, 10, 8, 18, 58, 9, tzinfo=UTC),
            finished_at=datetime(2021, 10, 8, 18, 58, 53, tzinfo=UTC),
            branch="trunk",
            sha="b440c373712f27d84aa428703e55cdc95ef41ea3",
            event="push",
            attempt=1,
            url="https://github.com/ideacrew/active-branch-tracker/actions/runs/1321542128",
        )
    ]


def test_it_maps_a_workflow_job_webhook_with_its_run():
    (item,) = GitHubConnector.webhook_items(
        *webhook("webhook-workflow_job-completed-failure.octokit.json")
    )
    assert (item.repository, item.context) == ("Codertocat/Hello-World", {"run_id": 2202229078})
    assert GitHubConnector.normalise(item) == [
        JobRecord(
            external_id="289782451",
            run_external_id="2202229078",
            name="linters",
            status=S.FAILURE,
            created_at=datetime(2021, 8, 5, 10, 33, 58, tzinfo=UTC),
            started_at=datetime(2021, 8, 5, 10, 34, 58, tzinfo=UTC),
            finished_at=datetime(2021, 8, 5, 10, 38, 16, tzinfo=UTC),
            url="https://github.com/octo-org/octo-repo/runs/1291536064",
            runner="ubuntu-latest",  # the job's first runs-on label
        )
    ]


def test_it_finishes_a_deployment_at_its_success_status():
    assert normalised(*webhook("webhook-deployment_status-success.octokit.json")) == [
        DeploymentRecord(
            external_id="145988746",
            environment="production",
            status=S.SUCCESS,
            started_at=datetime(2019, 5, 15, 15, 20, 53, tzinfo=UTC),
            finished_at=datetime(2019, 5, 15, 15, 20, 55, tzinfo=UTC),
            sha="f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
            ref="master",
            is_production=None,  # the webhook's deployment does not say
        )
    ]


def test_it_ignores_an_inactive_deployment_status_and_other_events():
    event, payload = webhook("webhook-deployment_status-success.octokit.json")
    inactive = {
        **payload,
        "deployment_status": {**payload["deployment_status"], "state": "inactive"},
    }
    assert GitHubConnector.webhook_items(event, inactive) == []
    assert GitHubConnector.webhook_items("ping", {"zen": "Keep it logically awesome."}) == []


@pytest.mark.parametrize(
    ("labels", "incidents"), [(["incident", "sev1"], 1), (["Incident"], 1), (["sev1"], 0)]
)
def test_it_keeps_issue_webhooks_with_the_default_incident_label(labels, incidents):
    issue = load("issues-incident.handmade.json")[2]
    issue = {**issue, "labels": [{"name": name} for name in labels]}
    repository = webhook("webhook-deployment-created.octokit.json")[1]["repository"]
    payload = {"action": "labeled", "issue": issue, "repository": repository}
    found = normalised("issues", payload)
    assert [record.external_id for record in found] == ["Codertocat/Hello-World#41"] * incidents
    assert all(isinstance(record, IncidentRecord) for record in found)


def recorded_run() -> dict[str, Any]:
    return load("webhook-workflow_run-completed-success.ideacrew.json")["workflow_run"]


@pytest.mark.parametrize(
    ("status", "conclusion", "expected"),
    [
        ("queued", None, S.QUEUED),
        ("requested", None, S.QUEUED),
        ("waiting", None, S.QUEUED),
        ("pending", None, S.QUEUED),
        ("in_progress", None, S.RUNNING),
        ("completed", "success", S.SUCCESS),
        ("completed", "failure", S.FAILURE),
        ("completed", "timed_out", S.FAILURE),
        ("completed", "startup_failure", S.FAILURE),
        ("completed", "cancelled", S.CANCELLED),
        ("completed", "skipped", S.SKIPPED),
        ("completed", "neutral", S.SKIPPED),
        ("completed", "action_required", S.OTHER),
        ("completed", "stale", S.OTHER),
        ("completed", None, S.OTHER),
        ("something_new", None, S.OTHER),
    ],
)
def test_it_maps_run_and_job_statuses(status, conclusion, expected):
    run = {**recorded_run(), "status": status, "conclusion": conclusion}
    job = {**load("webhook-workflow_job-completed-success.octokit.json")["workflow_job"]}
    job |= {"status": status, "conclusion": conclusion}
    (run_record,) = GitHubConnector.normalise(RawItem("github.workflow_run", "o/r", run))
    (job_record,) = GitHubConnector.normalise(RawItem("github.workflow_job", "o/r", job))
    assert (run_record.status, job_record.status) == (expected, expected)
    assert (run_record.finished_at is None) == (status != "completed")


@pytest.mark.parametrize(
    ("states", "expected", "finished_by"),
    [
        ([], S.QUEUED, None),
        (["queued"], S.QUEUED, None),
        (["pending"], S.QUEUED, None),
        (["queued", "in_progress"], S.RUNNING, None),
        (["in_progress", "failure"], S.FAILURE, 1),
        (["in_progress", "error"], S.FAILURE, 1),
        (["in_progress", "success"], S.SUCCESS, 1),
        (["success", "inactive"], S.SUCCESS, 0),
        (["inactive"], S.OTHER, 0),
    ],
)
def test_it_takes_a_deployments_status_from_its_statuses(states, expected, finished_by):
    """``states`` oldest first; ``finished_by`` indexes the status the deployment ended at."""
    payload = webhook("webhook-deployment_status-success.octokit.json")[1]
    times = [f"2019-05-15T15:2{minute}:00Z" for minute in range(len(states))]
    statuses = [
        {**payload["deployment_status"], "id": index, "state": state, "created_at": times[index]}
        for index, state in reversed(list(enumerate(states)))  # GitHub lists newest first
    ]
    item = RawItem("github.deployment", "o/r", payload["deployment"], {"statuses": statuses})
    (record,) = GitHubConnector.normalise(item)
    finished = None if finished_by is None else datetime.fromisoformat(times[finished_by])
    assert (record.status, record.finished_at) == (expected, finished)


def test_it_maps_a_compare_to_one_change_per_commit():
    item = RawItem("github.compare", "o/r", load("compare.handmade.json"), {"deployment_id": 7})
    changes = GitHubConnector.normalise(item)
    assert [(change.title, change.deployment_external_id) for change in changes] == [
        ("Add deployment statuses", "7"),
        ("Fix the deployment payload", "7"),
    ]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("github.workflow_run", {**recorded_run(), "created_at": None}),
        ("github.workflow_run", {**recorded_run(), "id": "not a number"}),
        ("github.workflow_job", {"id": 1, "name": "build"}),  # no run_id
        ("github.deployment", {"id": 1, "environment": "prod", "sha": "abc", "created_at": "soon"}),
        ("github.compare", {"commits": [{"sha": "abc", "commit": {"message": "no author"}}]}),
        ("github.issue", {"number": 1, "title": "t", "html_url": "u"}),  # no created_at
    ],
)
def test_it_rejects_a_malformed_payload_instead_of_half_a_record(kind, payload):
    context = {"deployment_id": 1, "run_id": 1}
    with pytest.raises(ValidationError):
        GitHubConnector.normalise(RawItem(kind, "o/r", payload, context))


def test_it_rejects_an_item_kind_it_does_not_know():
    with pytest.raises(ValueError, match="not a GitHub item kind"):
        GitHubConnector.normalise(RawItem("gitlab.pipeline", "o/r", {}))


def test_it_authenticates_with_a_bearer_token_and_a_pinned_api_version():
    assert GitHubConnector.auth_headers("ghp_x") == (
        {
            "Authorization": "Bearer ghp_x",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        None,
    )
