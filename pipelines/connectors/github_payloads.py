"""GitHub payloads as frozen pydantic models, and the pure mapping of GitHub raw items to records.

Vendors add fields, so the models ignore what they do not name (STYLE.md, pydantic); a missing or
mistyped field that a record needs raises ``pydantic.ValidationError`` before any record is built.
Field sets follow the recorded REST responses and webhooks in ``shared/ci-samples/github/``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    IncidentRecord,
    JobRecord,
    RawItem,
    Record,
    RunRecord,
    RunStatus,
    SourceOptions,
)
from pipelines.connectors.times import parse_time

Timestamp = Annotated[datetime, BeforeValidator(parse_time)]
OptionalTimestamp = Annotated[datetime | None, BeforeValidator(parse_time)]

PRODUCTION_NAMES = frozenset({"production", "prod"})
# Webhook handlers have no source options: webhook incidents use the default label.
WEBHOOK_INCIDENT_LABEL = SourceOptions().incident_label

# Runs and jobs (CI-APIS.md 1.2): ``status`` until completed, then ``conclusion``.
WAITING_STATUSES = frozenset({"queued", "requested", "waiting", "pending"})
CONCLUSIONS = {
    "success": RunStatus.SUCCESS,
    "failure": RunStatus.FAILURE,
    "timed_out": RunStatus.FAILURE,
    "startup_failure": RunStatus.FAILURE,
    "cancelled": RunStatus.CANCELLED,
    "skipped": RunStatus.SKIPPED,
    "neutral": RunStatus.SKIPPED,
}
# The newest deployment status when none is ``success``; ``inactive`` and unknown -> other.
DEPLOYMENT_STATES = {
    "failure": RunStatus.FAILURE,
    "error": RunStatus.FAILURE,
    "in_progress": RunStatus.RUNNING,
    "queued": RunStatus.QUEUED,
    "pending": RunStatus.QUEUED,
}


class GitHubPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class GitHubRunPayload(GitHubPayload):
    id: int
    name: str | None = None
    status: str | None = None
    conclusion: str | None = None
    created_at: Timestamp
    run_started_at: OptionalTimestamp = None
    updated_at: OptionalTimestamp = None
    head_branch: str | None = None
    head_sha: str = ""
    event: str = ""
    run_attempt: int = 1
    html_url: str = ""


class GitHubJobPayload(GitHubPayload):
    id: int
    run_id: int
    name: str
    status: str | None = None
    conclusion: str | None = None
    created_at: OptionalTimestamp = None
    started_at: OptionalTimestamp = None
    completed_at: OptionalTimestamp = None
    html_url: str | None = None
    labels: list[str] = []  # runs-on: the first is the runner image or "self-hosted"


class GitHubDeploymentPayload(GitHubPayload):
    id: int
    environment: str
    sha: str
    ref: str = ""
    created_at: Timestamp
    production_environment: bool | None = None


class GitHubDeploymentStatusPayload(GitHubPayload):
    id: int = 0
    state: str
    created_at: Timestamp
    log_url: str | None = None
    target_url: str | None = None


class GitHubCommitAuthorPayload(GitHubPayload):
    date: Timestamp


class GitHubGitCommitPayload(GitHubPayload):
    message: str
    author: GitHubCommitAuthorPayload


class GitHubCommitPayload(GitHubPayload):
    sha: str
    commit: GitHubGitCommitPayload
    html_url: str = ""


class GitHubComparePayload(GitHubPayload):
    commits: list[GitHubCommitPayload]


class GitHubPullRequestPayload(GitHubPayload):
    number: int
    title: str
    html_url: str
    created_at: Timestamp
    merged_at: OptionalTimestamp = None
    merge_commit_sha: str | None = None


class GitHubIssuePayload(GitHubPayload):
    number: int
    title: str
    html_url: str
    created_at: Timestamp
    closed_at: OptionalTimestamp = None
    pull_request: dict[str, Any] | None = None


_STATUSES = TypeAdapter(list[GitHubDeploymentStatusPayload])


def parse_statuses(statuses: list[dict[str, Any]]) -> list[GitHubDeploymentStatusPayload]:
    return _STATUSES.validate_python(statuses)


def run_status(status: str | None, conclusion: str | None) -> RunStatus:
    status = (status or "").lower()
    if status in WAITING_STATUSES:
        return RunStatus.QUEUED
    if status == "in_progress":
        return RunStatus.RUNNING
    if status == "completed":
        return CONCLUSIONS.get((conclusion or "").lower(), RunStatus.OTHER)
    return RunStatus.OTHER


def deployment_state(
    statuses: list[GitHubDeploymentStatusPayload],
) -> tuple[RunStatus, GitHubDeploymentStatusPayload | None]:
    """The deployment's status and the status it comes from: the first ``success`` if any
    (that is when it went live), else the newest status; no status yet is queued."""
    ordered = sorted(statuses, key=lambda status: (status.created_at, status.id))
    successes = [status for status in ordered if status.state == "success"]
    if successes:
        return RunStatus.SUCCESS, successes[0]
    if not ordered:
        return RunStatus.QUEUED, None
    return DEPLOYMENT_STATES.get(ordered[-1].state, RunStatus.OTHER), ordered[-1]


def is_production(deployment: dict[str, Any]) -> bool:
    return bool(deployment.get("production_environment")) or (
        str(deployment.get("environment", "")).lower() in PRODUCTION_NAMES
    )


def _title(message: str) -> str:
    return message.split("\n", 1)[0].strip()


# --- raw item -> records ----------------------------------------------------------------------


def _run_records(item: RawItem) -> list[Record]:
    run = GitHubRunPayload.model_validate(item.payload)
    status = run_status(run.status, run.conclusion)
    return [
        RunRecord(
            external_id=str(run.id),
            name=run.name or "",
            status=status,
            created_at=run.created_at,
            started_at=run.run_started_at,
            finished_at=run.updated_at if run.status == "completed" else None,
            branch=run.head_branch or "",
            sha=run.head_sha,
            event=run.event,
            attempt=run.run_attempt,
            url=run.html_url,
        )
    ]


def _job_records(item: RawItem) -> list[Record]:
    job = GitHubJobPayload.model_validate(item.payload)
    return [
        JobRecord(
            external_id=str(job.id),
            run_external_id=str(item.context.get("run_id", job.run_id)),
            name=job.name,
            status=run_status(job.status, job.conclusion),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.completed_at,
            url=job.html_url or "",
            runner=job.labels[0] if job.labels else "",
        )
    ]


def _deployment_records(item: RawItem) -> list[Record]:
    """The status's log (or target) URL is the link: a deployment has no web page of its own."""
    deployment = GitHubDeploymentPayload.model_validate(item.payload)
    status, source = deployment_state(parse_statuses(item.context.get("statuses", [])))
    return [
        DeploymentRecord(
            external_id=str(deployment.id),
            environment=deployment.environment,
            status=status,
            started_at=deployment.created_at,
            finished_at=source.created_at if source and status.is_finished else None,
            sha=deployment.sha,
            ref=deployment.ref,
            is_production=deployment.production_environment,
            url=(source.log_url or source.target_url or "") if source else "",
        )
    ]


def _commit_record(commit: GitHubCommitPayload, deployment_id: str) -> ChangeRecord:
    return ChangeRecord(
        sha=commit.sha,
        committed_at=commit.commit.author.date,
        title=_title(commit.commit.message),
        url=commit.html_url,
        deployment_external_id=deployment_id,
    )


def _compare_records(item: RawItem) -> list[Record]:
    compare = GitHubComparePayload.model_validate(item.payload)
    deployment_id = str(item.context["deployment_id"])
    return [_commit_record(commit, deployment_id) for commit in compare.commits]


def _single_commit_records(item: RawItem) -> list[Record]:
    commit = GitHubCommitPayload.model_validate(item.payload)
    return [_commit_record(commit, str(item.context["deployment_id"]))]


def _pull_request_records(item: RawItem) -> list[Record]:
    """A merged pull request as the change of its merge commit. For a squash merge that commit
    is new, so the change began with the pull request's first commit (``first_commit_at``,
    fetched by ``fetch``; a webhook has only the pull request's own ``created_at``)."""
    pull = GitHubPullRequestPayload.model_validate(item.payload)
    if pull.merged_at is None or not pull.merge_commit_sha:
        return []
    first_commit_at = parse_time(item.context.get("first_commit_at"))
    return [
        ChangeRecord(
            sha=pull.merge_commit_sha,
            committed_at=first_commit_at or pull.created_at,
            title=pull.title,
            pull_request=pull.html_url,
            merged_at=pull.merged_at,
        )
    ]


def _issue_records(item: RawItem) -> list[Record]:
    """``fetch`` asks for the configured label only; a webhook item lists its labels instead
    (GitHub label names are case-insensitive)."""
    issue = GitHubIssuePayload.model_validate(item.payload)
    if issue.pull_request is not None:
        return []
    labels = item.context.get("labels")
    if labels is not None and WEBHOOK_INCIDENT_LABEL.casefold() not in {
        str(label).casefold() for label in labels
    }:
        return []
    return [
        IncidentRecord(
            external_id=f"{item.repository}#{issue.number}",
            title=issue.title,
            opened_at=issue.created_at,
            resolved_at=issue.closed_at,
            url=issue.html_url,
        )
    ]


NORMALISERS: dict[str, Callable[[RawItem], list[Record]]] = {
    "github.workflow_run": _run_records,
    "github.workflow_job": _job_records,
    "github.deployment": _deployment_records,
    "github.compare": _compare_records,
    "github.commit": _single_commit_records,
    "github.pull_request": _pull_request_records,
    "github.issue": _issue_records,
}
