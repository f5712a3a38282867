"""The pure mapping of GitLab raw items to records: one normaliser per item kind (NORMALISERS).

The payloads are read through the models in ``gitlab_payloads``; a malformed one raises
``pydantic.ValidationError`` before any record is built.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    IncidentRecord,
    JobRecord,
    RawItem,
    Record,
    RunRecord,
    RunStatus,
)
from pipelines.connectors.gitlab_payloads import (
    GitLabCommitPayload,
    GitLabComparePayload,
    GitLabDeploymentHookPayload,
    GitLabDeploymentPayload,
    GitLabIssueHookPayload,
    GitLabIssuePayload,
    GitLabJobHookPayload,
    GitLabJobPayload,
    GitLabMergeRequestHookPayload,
    GitLabMergeRequestPayload,
    GitLabPipelineHookPayload,
    GitLabPipelinePayload,
    deployment_status,
    run_status,
    runner_kind,
    tier_is_production,
)
from pipelines.connectors.times import parse_time


def _pipeline(item: RawItem) -> list[Record]:
    pipeline = GitLabPipelinePayload.model_validate(item.payload)
    return [_run_record(pipeline, pipeline.web_url)]


def _pipeline_hook(item: RawItem) -> list[Record]:
    hook = GitLabPipelineHookPayload.model_validate(item.payload)
    pipeline = hook.object_attributes
    project_url = hook.project.web_url if hook.project else ""
    url = pipeline.web_url or (f"{project_url}/-/pipelines/{pipeline.id}" if project_url else "")
    return [_run_record(pipeline, url)]


def _run_record(pipeline: GitLabPipelinePayload, url: str) -> RunRecord:
    return RunRecord(
        external_id=str(pipeline.id),
        name=pipeline.ref or f"pipeline {pipeline.iid}",
        status=run_status(pipeline.status),
        created_at=pipeline.created_at,
        started_at=pipeline.started_at,
        finished_at=pipeline.finished_at,
        branch=pipeline.ref,
        sha=pipeline.sha,
        event=pipeline.source,
        url=url,
    )


def _job(item: RawItem) -> list[Record]:
    job = GitLabJobPayload.model_validate(item.payload)
    run_id = job.pipeline.id if job.pipeline else item.context.get("pipeline_id")
    if run_id is None:
        raise ValueError(f"job {job.id} names no pipeline")
    return [
        JobRecord(
            external_id=str(job.id),
            run_external_id=str(run_id),
            name=job.name,
            status=run_status(job.status),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            stage=job.stage,
            url=job.web_url,
            runner=runner_kind(job.runner, job.tag_list),
        )
    ]


def _job_hook(item: RawItem) -> list[Record]:
    hook = GitLabJobHookPayload.model_validate(item.payload)
    homepage = hook.repository.homepage if hook.repository else ""
    return [
        JobRecord(
            external_id=str(hook.build_id),
            run_external_id=str(hook.pipeline_id),
            name=hook.build_name,
            status=run_status(hook.build_status),
            created_at=hook.build_created_at,
            started_at=hook.build_started_at,
            finished_at=hook.build_finished_at,
            stage=hook.build_stage,
            url=f"{homepage}/-/jobs/{hook.build_id}" if homepage else "",
            runner=runner_kind(hook.runner, []),
        )
    ]


def _deployment(item: RawItem) -> list[Record]:
    deployment = GitLabDeploymentPayload.model_validate(item.payload)
    status = deployment_status(deployment.status)
    deployable = deployment.deployable
    pipeline = deployable.pipeline if deployable else None
    finished_at = None
    if status.is_finished:
        finished_at = (deployable.finished_at if deployable else None) or deployment.updated_at
    return [
        DeploymentRecord(
            external_id=str(deployment.id),
            environment=deployment.environment.name,
            status=status,
            started_at=deployment.created_at,
            finished_at=finished_at,
            sha=deployment.sha,
            ref=deployment.ref,
            is_production=tier_is_production(deployment.environment.tier),
            run_external_id=str(pipeline.id) if pipeline else "",
            url=deployable.web_url if deployable else "",
        )
    ]


def _deployment_hook(item: RawItem) -> list[Record]:
    hook = GitLabDeploymentHookPayload.model_validate(item.payload)
    status = deployment_status(hook.status)
    # The hook says when the status changed, not when the deployment began.
    return [
        DeploymentRecord(
            external_id=str(hook.deployment_id),
            environment=hook.environment,
            status=status,
            started_at=hook.status_changed_at if status is RunStatus.RUNNING else None,
            finished_at=hook.status_changed_at if status.is_finished else None,
            sha=hook.commit_url.rstrip("/").rpartition("/")[2] if hook.commit_url else "",
            ref=hook.ref,
            is_production=tier_is_production(hook.environment_tier),
            url=hook.deployable_url,
        )
    ]


def _compare(item: RawItem) -> list[Record]:
    compare = GitLabComparePayload.model_validate(item.payload)
    return [_change(commit, item) for commit in compare.commits]


def _commit(item: RawItem) -> list[Record]:
    return [_change(GitLabCommitPayload.model_validate(item.payload), item)]


def _change(commit: GitLabCommitPayload, item: RawItem) -> ChangeRecord:
    committed_at = commit.authored_date or commit.created_at
    if committed_at is None:
        raise ValueError(f"commit {commit.id} has no date")
    deployment_id = item.context.get("deployment_id")
    return ChangeRecord(
        sha=commit.id,
        committed_at=committed_at,
        title=commit.title,
        url=commit.web_url,
        deployment_external_id=str(deployment_id) if deployment_id is not None else "",
    )


def _merge_request(item: RawItem) -> list[Record]:
    merge_request = GitLabMergeRequestPayload.model_validate(item.payload)
    first_commit_at = parse_time(item.context.get("first_commit_at"))
    return [
        ChangeRecord(
            sha=merge_request.squash_commit_sha
            or merge_request.merge_commit_sha
            or merge_request.sha,
            committed_at=first_commit_at or merge_request.created_at,
            title=merge_request.title,
            pull_request=merge_request.web_url,
            merged_at=merge_request.merged_at,
        )
    ]


def _merge_request_hook(item: RawItem) -> list[Record]:
    attributes = GitLabMergeRequestHookPayload.model_validate(item.payload).object_attributes
    last_commit = attributes.last_commit.id if attributes.last_commit else ""
    # A hook knows no first-commit time, and its updated_at is the merge itself.
    return [
        ChangeRecord(
            sha=attributes.merge_commit_sha or last_commit,
            committed_at=attributes.created_at,
            title=attributes.title,
            pull_request=attributes.url,
            merged_at=attributes.updated_at,
        )
    ]


def _issue(item: RawItem) -> list[Record]:
    issue = GitLabIssuePayload.model_validate(item.payload)
    return [
        _incident(item, issue.iid, issue.title, issue.created_at, issue.closed_at, issue.web_url)
    ]


def _issue_hook(item: RawItem) -> list[Record]:
    issue = GitLabIssueHookPayload.model_validate(item.payload).object_attributes
    return [_incident(item, issue.iid, issue.title, issue.created_at, issue.closed_at, issue.url)]


def _incident(
    item: RawItem, iid: int, title: str, opened: datetime, resolved: datetime | None, url: str
) -> IncidentRecord:
    return IncidentRecord(
        external_id=f"{item.repository}#{iid}",
        title=title,
        opened_at=opened,
        resolved_at=resolved,
        url=url,
    )


NORMALISERS: dict[str, Callable[[RawItem], list[Record]]] = {
    "gitlab.pipeline": _pipeline,
    "gitlab.pipeline_hook": _pipeline_hook,
    "gitlab.job": _job,
    "gitlab.job_hook": _job_hook,
    "gitlab.deployment": _deployment,
    "gitlab.deployment_hook": _deployment_hook,
    "gitlab.compare": _compare,
    "gitlab.commit": _commit,
    "gitlab.merge_request": _merge_request,
    "gitlab.merge_request_hook": _merge_request_hook,
    "gitlab.issue": _issue,
    "gitlab.issue_hook": _issue_hook,
}
