"""GitLab payloads as frozen pydantic models, and GitLab's status vocabularies.

The models (``GitLab<Thing>Payload``) cover REST v4 objects and the Pipeline, Job, Deployment,
Merge Request and Issue hooks; vendors add fields, so they ignore what they do not name, and a
malformed object raises ``pydantic.ValidationError`` instead of becoming half a record (CI-APIS.md
section 2). ``gitlab_normalise`` maps them to records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from pipelines.connectors.base import (
    RunStatus,
)
from pipelines.connectors.times import parse_time

# Pipelines and jobs share one vocabulary (https://docs.gitlab.com/api/pipelines/).
RUN_STATUSES = {
    "created": RunStatus.QUEUED,
    "waiting_for_resource": RunStatus.QUEUED,
    "preparing": RunStatus.QUEUED,
    "pending": RunStatus.QUEUED,
    "scheduled": RunStatus.QUEUED,
    "manual": RunStatus.QUEUED,
    "running": RunStatus.RUNNING,
    "success": RunStatus.SUCCESS,
    "failed": RunStatus.FAILURE,
    "canceled": RunStatus.CANCELLED,
    "canceling": RunStatus.CANCELLED,
    "skipped": RunStatus.SKIPPED,
}
# https://docs.gitlab.com/api/deployments/
DEPLOYMENT_STATUSES = {
    "created": RunStatus.QUEUED,
    "blocked": RunStatus.QUEUED,
    "running": RunStatus.RUNNING,
    "success": RunStatus.SUCCESS,
    "failed": RunStatus.FAILURE,
    "canceled": RunStatus.CANCELLED,
}


def run_status(value: str) -> RunStatus:
    return RUN_STATUSES.get(value, RunStatus.OTHER)


def deployment_status(value: str) -> RunStatus:
    return DEPLOYMENT_STATUSES.get(value, RunStatus.OTHER)


def tier_is_production(tier: str | None) -> bool | None:
    return None if tier is None else tier == "production"


# --- vendor payloads ------------------------------------------------------------------------

# REST writes ISO 8601, pipeline and job hooks "2016-08-12 15:23:28 UTC": parse_time reads both.
Time = Annotated[datetime, BeforeValidator(parse_time)]
OptionalTime = Annotated[datetime | None, BeforeValidator(parse_time)]
# GitLab sends null for many strings (ref of a detached pipeline, web_url of old instances).
Text = Annotated[str, BeforeValidator(lambda value: "" if value is None else value)]


class GitLabPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class GitLabIdPayload(GitLabPayload):
    id: int


class GitLabPipelinePayload(GitLabPayload):
    """GET projects/:id/pipelines/:pipeline_id, and a Pipeline Hook's ``object_attributes``."""

    id: int
    iid: int | None = None
    ref: Text = ""
    sha: Text = ""
    status: str
    source: Text = ""
    created_at: Time
    started_at: OptionalTime = None
    finished_at: OptionalTime = None
    web_url: Text = ""


class GitLabRunnerPayload(GitLabPayload):
    description: Text = ""
    is_shared: bool | None = None
    tags: list[str] = []


def runner_kind(runner: GitLabRunnerPayload | None, tags: list[str]) -> str:
    """What a job ran on, for CI cost: its first tag (the job's, else the runner's: GitLab.com's
    runner sizes are tags such as ``saas-linux-medium-amd64``), else shared or self-managed."""
    tags = tags or (runner.tags if runner else [])
    if tags:
        return tags[0]
    if runner is None or runner.is_shared is None:
        return ""
    return "shared" if runner.is_shared else "self-managed"


class GitLabJobPayload(GitLabPayload):
    """GET projects/:id/pipelines/:pipeline_id/jobs item, and a Pipeline Hook's ``builds`` item."""

    id: int
    name: str
    stage: Text = ""
    status: str
    runner: GitLabRunnerPayload | None = None
    tag_list: list[str] = []
    created_at: OptionalTime = None
    started_at: OptionalTime = None
    finished_at: OptionalTime = None
    web_url: Text = ""
    pipeline: GitLabIdPayload | None = None


class GitLabEnvironmentPayload(GitLabPayload):
    name: str
    tier: str | None = None  # GitLab 13.10+


class GitLabDeployablePayload(GitLabPayload):
    finished_at: OptionalTime = None
    web_url: Text = ""
    pipeline: GitLabIdPayload | None = None


class GitLabDeploymentPayload(GitLabPayload):
    id: int
    status: str
    sha: Text = ""
    ref: Text = ""
    created_at: Time
    updated_at: OptionalTime = None
    environment: GitLabEnvironmentPayload
    deployable: GitLabDeployablePayload | None = None


class GitLabCommitPayload(GitLabPayload):
    id: str
    title: Text = ""
    authored_date: OptionalTime = None
    created_at: OptionalTime = None
    web_url: Text = ""


class GitLabComparePayload(GitLabPayload):
    """GET projects/:id/repository/compare: ``commits`` are those in ``to`` and not in ``from``."""

    commits: list[GitLabCommitPayload]


class GitLabMergeRequestPayload(GitLabPayload):
    iid: int
    title: Text = ""
    sha: Text = ""
    merge_commit_sha: Text = ""
    squash_commit_sha: Text = ""
    created_at: Time
    merged_at: OptionalTime = None
    web_url: Text = ""


class GitLabIssuePayload(GitLabPayload):
    iid: int
    title: Text = ""
    created_at: Time
    closed_at: OptionalTime = None
    web_url: Text = ""


class GitLabHookProjectPayload(GitLabPayload):
    web_url: Text = ""


class GitLabPipelineHookPayload(GitLabPayload):
    object_attributes: GitLabPipelinePayload
    project: GitLabHookProjectPayload | None = None


class GitLabHookRepositoryPayload(GitLabPayload):
    homepage: Text = ""


class GitLabJobHookPayload(GitLabPayload):
    """Job Hook (``object_kind: build``): flat ``build_*`` fields, no job URL."""

    build_id: int
    build_name: str
    build_stage: Text = ""
    build_status: str
    build_created_at: OptionalTime = None
    build_started_at: OptionalTime = None
    build_finished_at: OptionalTime = None
    pipeline_id: int
    runner: GitLabRunnerPayload | None = None
    repository: GitLabHookRepositoryPayload | None = None


class GitLabDeploymentHookPayload(GitLabPayload):
    """Deployment Hook: the environment is a bare name; the full sha only ends ``commit_url``."""

    deployment_id: int
    status: str
    status_changed_at: OptionalTime = None
    environment: str
    environment_tier: str | None = None  # newer GitLab versions only
    commit_url: Text = ""
    ref: Text = ""
    deployable_url: Text = ""


class GitLabLastCommitPayload(GitLabPayload):
    id: str


class GitLabMergeRequestHookAttributes(GitLabPayload):
    title: Text = ""
    merge_commit_sha: Text = ""
    last_commit: GitLabLastCommitPayload | None = None
    created_at: Time
    updated_at: OptionalTime = None
    url: Text = ""


class GitLabMergeRequestHookPayload(GitLabPayload):
    object_attributes: GitLabMergeRequestHookAttributes


class GitLabIssueHookAttributes(GitLabPayload):
    iid: int
    title: Text = ""
    created_at: Time
    closed_at: OptionalTime = None
    url: Text = ""


class GitLabIssueHookPayload(GitLabPayload):
    object_attributes: GitLabIssueHookAttributes
