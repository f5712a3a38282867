"""JenkinsConnector.normalise and webhook_items: pure mappings of recorded payloads, no server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pydantic
import pytest

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    JobRecord,
    RawItem,
    RunRecord,
    RunStatus,
)
from pipelines.connectors.jenkins import JenkinsConnector

FIXTURES = Path(__file__).parent / "fixtures" / "jenkins"
GIT_BUILD = "build-api-json-git-changeset.jenkins-2.60.1.ci-eye.json"  # foo #2, one commit
SHA = "cd90b94b651158d2ce923067bad99738b741228c"
# No Notification-plugin body was ever recorded (ci-samples/SOURCES.md): this one is made by hand
# from the plugin's JobState/BuildState/ScmState fields, for the build GIT_BUILD records.
NOTIFICATION = "notification-completed.handmade.json"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def at(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


def build_item(payload: dict, job: str = "foo", stages: list | None = None, **context) -> RawItem:
    context = {"job": job, "deployment_pattern": r"(?i)deploy", "stages": stages or [], **context}
    return RawItem(kind="jenkins.build", repository=job, payload=payload, context=context)


def records(item: RawItem, kind: type) -> list:
    return [record for record in JenkinsConnector.normalise(item) if isinstance(record, kind)]


def test_it_maps_a_finished_build_to_a_run():
    [run] = records(build_item(recorded(GIT_BUILD)), RunRecord)

    assert run == RunRecord(
        external_id="foo#2",
        name="foo",
        status=RunStatus.SUCCESS,
        created_at=at(1500024430269),
        started_at=at(1500024430269),
        finished_at=at(1500024430269 + 1599),
        branch="master",  # from refs/remotes/origin/master
        sha=SHA,
        url="http://jenkins/job/foo/2/",
    )


@pytest.mark.parametrize(
    ("result", "building", "status"),
    [
        ("SUCCESS", False, RunStatus.SUCCESS),
        ("UNSTABLE", False, RunStatus.FAILURE),
        ("FAILURE", False, RunStatus.FAILURE),
        ("ABORTED", False, RunStatus.CANCELLED),
        ("NOT_BUILT", False, RunStatus.SKIPPED),
        (None, True, RunStatus.RUNNING),
        ("FAILURE", True, RunStatus.RUNNING),  # a step may set the result before the end
        ("NOT_BUILD", False, RunStatus.OTHER),  # DevLake's hand-made row 10004 spells it so
        (None, False, RunStatus.OTHER),
    ],
)
def test_it_maps_build_results_to_statuses(result, building, status):
    payload = {**recorded(GIT_BUILD), "result": result, "building": building}

    [run] = records(build_item(payload), RunRecord)

    assert run.status == status
    assert (run.finished_at is None) == building


def test_it_maps_a_git_change_set_to_changes():
    [change] = records(build_item(recorded(GIT_BUILD)), ChangeRecord)

    assert change == ChangeRecord(
        sha=SHA,
        committed_at=at(1500024223000),
        title="add some example json from jenkins for testing",
    )


def test_it_maps_the_change_sets_of_a_pipeline_build_to_changes():
    payload = recorded("build-api-json-changesets-git.PARTLY-EDITED.cdancy.json")

    [change] = records(build_item(payload, job="fish"), ChangeRecord)

    assert (change.sha, change.committed_at, change.title) == (
        "d27afa0805201322d846d7defc29b82c88d9b5ce",
        at(1461091892486),
        "Commit comment",
    )


def test_it_finds_no_changes_in_an_empty_change_set():
    payload = recorded("build-api-json-empty-changeset.jenkins-2.60.1.ci-eye.json")

    assert records(build_item(payload), ChangeRecord) == []


def test_it_identifies_an_svn_change_by_its_revision():
    payload = recorded("build-api-json-svn-changeset.jenkins-1.625.3.ci-eye.json")

    [change] = records(build_item(payload, job="tomd_test_svn"), ChangeRecord)

    assert (change.sha, change.committed_at, change.title) == (
        "133042",
        at(1500028427046),
        "tomd: add readme",
    )


def test_it_skips_an_svn_change_without_a_revision():
    payload = recorded("build-api-json-svn-changeset.jenkins-1.625.3.ci-eye.json")
    change_set = payload["changeSet"]
    items = [{k: v for k, v in item.items() if k != "revision"} for item in change_set["items"]]
    payload["changeSet"] = {**change_set, "items": items}

    assert records(build_item(payload, job="tomd_test_svn"), ChangeRecord) == []
    assert len(records(build_item(payload, job="tomd_test_svn"), RunRecord)) == 1


def test_it_maps_wfapi_stages_to_jobs():
    stages = recorded("wfapi-describe.cdancy.json")["stages"]

    jobs = records(build_item(recorded(GIT_BUILD), stages=stages), JobRecord)

    assert [(job.external_id, job.name, job.status) for job in jobs] == [
        ("foo#2/5", "Build", RunStatus.SUCCESS),
        ("foo#2/8", "Test", RunStatus.SUCCESS),
        ("foo#2/10", "Deploy", RunStatus.RUNNING),  # PAUSED_PENDING_INPUT
    ]
    assert {job.run_external_id for job in jobs} == {"foo#2"}
    assert (jobs[0].started_at, jobs[0].finished_at) == (
        at(1413461275770),
        at(1413461275770 + 5228),
    )
    assert jobs[2].finished_at is None


@pytest.mark.parametrize(
    ("wfapi_status", "status"),
    [
        ("SUCCESS", RunStatus.SUCCESS),
        ("FAILED", RunStatus.FAILURE),
        ("UNSTABLE", RunStatus.FAILURE),
        ("ABORTED", RunStatus.CANCELLED),
        ("NOT_EXECUTED", RunStatus.SKIPPED),
        ("IN_PROGRESS", RunStatus.RUNNING),
        ("PAUSED_PENDING_INPUT", RunStatus.RUNNING),
        ("NOT_BUILD", RunStatus.OTHER),  # DevLake's hand-made stage row 20002
        (None, RunStatus.OTHER),
    ],
)
def test_it_maps_stage_statuses(wfapi_status, status):
    stage = {**recorded("wfapi-describe.cdancy.json")["stages"][0], "status": wfapi_status}

    [job] = records(build_item(recorded(GIT_BUILD), stages=[stage]), JobRecord)

    assert job.status == status


def test_it_makes_the_build_a_deployment_when_the_job_name_matches():
    stages = recorded("wfapi-describe.cdancy.json")["stages"]  # has a "Deploy" stage too
    item = build_item(recorded(GIT_BUILD), job="shop/deploy-production", stages=stages)

    [deployment] = records(item, DeploymentRecord)

    assert deployment == DeploymentRecord(
        external_id="shop/deploy-production#2",
        environment="production",
        status=RunStatus.SUCCESS,
        started_at=at(1500024430269),
        finished_at=at(1500024430269 + 1599),
        sha=SHA,
        ref="master",
        run_external_id="shop/deploy-production#2",
        url="http://jenkins/job/foo/2/",
    )
    [change] = records(item, ChangeRecord)
    assert change.deployment_external_id == "shop/deploy-production#2"


def test_it_makes_each_matching_stage_a_deployment():
    stages = recorded("wfapi-describe.cdancy.json")["stages"]
    stages = [*stages, {**stages[1], "id": "12", "name": "Deploy to staging"}]
    item = build_item(recorded(GIT_BUILD), stages=stages)

    deployments = records(item, DeploymentRecord)

    assert [(d.external_id, d.environment, d.status) for d in deployments] == [
        ("foo#2/10", "production", RunStatus.RUNNING),
        ("foo#2/12", "staging", RunStatus.SUCCESS),
    ]
    assert {(d.run_external_id, d.sha) for d in deployments} == {("foo#2", SHA)}
    [change] = records(item, ChangeRecord)
    assert change.deployment_external_id == "foo#2/10"  # the first deployment brought it


@pytest.mark.parametrize(
    ("name", "environment"),
    [
        ("Deploy to staging", "staging"),
        ("deploy-production", "production"),
        ("Deploy prod-eu", "prod-eu"),
        ("Deploy", "production"),
        ("Deployment into QA", "qa"),
        ("app-deploy_uat", "uat"),
    ],
)
def test_it_reads_the_environment_from_the_name(name, environment):
    item = build_item(recorded(GIT_BUILD), job=f"folder/{name}")

    [deployment] = records(item, DeploymentRecord)

    assert deployment.environment == environment


def test_it_uses_the_deployment_pattern_fetch_recorded():
    stages = [{**recorded("wfapi-describe.cdancy.json")["stages"][2], "name": "Ship to eu-west"}]
    item = build_item(recorded(GIT_BUILD), stages=stages, deployment_pattern=r"(?i)ship")

    [deployment] = records(item, DeploymentRecord)

    assert deployment.environment == "eu-west"
    assert (
        records(
            build_item(recorded(GIT_BUILD), job="deploy", deployment_pattern=""), DeploymentRecord
        )
        == []
    )


def test_it_rejects_an_invalid_deployment_pattern_with_a_value_error():
    with pytest.raises(ValueError, match="not a valid regex"):
        JenkinsConnector.normalise(build_item(recorded(GIT_BUILD), deployment_pattern="(deploy"))


@pytest.mark.parametrize(
    ("payload", "stages"),
    [
        ({**recorded(GIT_BUILD), "number": "two"}, []),
        ({k: v for k, v in recorded(GIT_BUILD).items() if k != "timestamp"}, []),
        ({**recorded(GIT_BUILD), "actions": [{"lastBuiltRevision": {"branch": []}}]}, []),
        (recorded(GIT_BUILD), [{"name": "Build", "status": "SUCCESS"}]),  # a stage without id
    ],
)
def test_it_rejects_a_malformed_build_with_a_validation_error(payload, stages):
    with pytest.raises(pydantic.ValidationError):
        JenkinsConnector.normalise(build_item(payload, stages=stages))


def test_it_rejects_an_item_of_another_kind():
    with pytest.raises(ValueError, match="not a Jenkins item"):
        JenkinsConnector.normalise(RawItem(kind="github.workflow_run", repository="x", payload={}))


# --- Notification-plugin webhooks -----------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "count"), [("QUEUED", 0), ("STARTED", 0), ("COMPLETED", 1), ("FINALIZED", 1)]
)
def test_it_takes_only_final_notification_phases(phase, count):
    payload = recorded(NOTIFICATION)
    payload["build"]["phase"] = phase

    items = JenkinsConnector.webhook_items("", payload)

    assert [(i.kind, i.repository, i.payload) for i in items] == [
        ("jenkins.notification", "foo", payload)
    ][:count]


def test_it_ignores_a_body_that_is_not_a_notification():
    assert JenkinsConnector.webhook_items("", {"name": "foo"}) == []


def test_it_maps_a_notification_to_the_run_the_poll_writes():
    [item] = JenkinsConnector.webhook_items("", recorded(NOTIFICATION))
    [polled] = records(build_item(recorded(GIT_BUILD)), RunRecord)

    [run] = JenkinsConnector.normalise(item)

    assert run.external_id == polled.external_id == "foo#2"
    assert (run.status, run.sha, run.branch) == (RunStatus.SUCCESS, SHA, "master")
    assert (run.created_at, run.started_at, run.finished_at) == (
        polled.created_at,
        polled.started_at,
        polled.finished_at,
    )
    assert run.url == polled.url


def test_it_names_a_folder_job_by_its_full_name_in_a_notification():
    payload = recorded(NOTIFICATION)
    payload.update(name="main", url="job/github_org/job/devlake-jenkins/job/main/")

    [item] = JenkinsConnector.webhook_items("", payload)
    [run] = JenkinsConnector.normalise(item)

    assert item.repository == "github_org/devlake-jenkins/main"
    assert run.external_id == "github_org/devlake-jenkins/main#2"


def test_it_maps_a_failed_notification_to_a_failed_run():
    payload = recorded(NOTIFICATION)
    payload["build"].update(status="UNSTABLE", phase="FINALIZED")

    [run] = JenkinsConnector.normalise(JenkinsConnector.webhook_items("", payload)[0])

    assert run.status == RunStatus.FAILURE


def test_it_rejects_a_notification_it_cannot_date():
    payload = recorded(NOTIFICATION)
    del payload["build"]["timestamp"]

    with pytest.raises(ValueError, match="timestamp"):
        JenkinsConnector.normalise(JenkinsConnector.webhook_items("", payload)[0])


def test_it_rejects_a_malformed_notification_with_a_validation_error():
    payload = recorded(NOTIFICATION)
    payload["build"]["number"] = None

    [item] = JenkinsConnector.webhook_items("", payload)

    with pytest.raises(pydantic.ValidationError):
        JenkinsConnector.normalise(item)
