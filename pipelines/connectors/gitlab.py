"""GitLab CI over REST v4 and webhooks: pipelines, jobs, deployments, merge requests, incidents.

The source's base URL is the API root (``https://gitlab.com/api/v4/`` or a self-hosted one);
``Repository.name`` is a project path (``group/sub/project``) or a numeric project id. Payloads
are read through small frozen pydantic models (``GitLab<Thing>Payload``) so a malformed object
raises ``ValidationError`` instead of becoming half a record (CI-APIS.md section 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict

from pipelines.connectors.base import (
    ChangeRecord,
    Connector,
    DeploymentRecord,
    IncidentRecord,
    JobRecord,
    RawItem,
    Record,
    Repository,
    RunRecord,
    RunStatus,
)
from pipelines.connectors.http import ConnectorError
from pipelines.connectors.times import parse_time

PER_PAGE = 100
# updated_at ties are common (a whole stage of jobs finishing at once), so each poll re-reads a
# little of the previous window; re-reading an unchanged object stores nothing new (fingerprint).
OVERLAP = timedelta(minutes=10)
PRODUCTION_NAMES = frozenset({"production", "prod"})
# The raw items of one object and that object's updated_at (the stream cursor's position).
Batch = tuple[list[RawItem], datetime | None]

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


class GitLabJobPayload(GitLabPayload):
    """GET projects/:id/pipelines/:pipeline_id/jobs item, and a Pipeline Hook's ``builds`` item."""

    id: int
    name: str
    stage: Text = ""
    status: str
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


# --- the connector --------------------------------------------------------------------------


class GitLabConnector(Connector):
    kind: ClassVar[str] = "gitlab"
    webhook_event_header: ClassVar[str] = "X-Gitlab-Event"

    @staticmethod
    def auth_headers(token: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        return {"PRIVATE-TOKEN": token}, None

    def fetch(
        self, repository: Repository, *, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Pipelines (with jobs), deployments (with the commits they shipped), merged merge
        requests and incidents updated since each stream's cursor, oldest first."""
        project = f"projects/{quote(repository.name, safe='')}"
        if full:
            # A re-read rebuilds the per-environment chain of shipped commits from the window.
            state.pop("last_success_sha", None)
            state.pop("last_success_id", None)
        streams: list[tuple[str, Callable[..., Iterator[Batch]]]] = [
            ("pipelines_since", self._pipelines),
            ("deployments_since", self._deployments),
            ("merge_requests_since", self._merge_requests),
            ("incidents_since", self._incidents),
        ]
        for key, stream in streams:
            stored = parse_time(state.get(key))
            cursor = stored - OVERLAP if stored and not full else since
            for batch, updated_at in stream(repository.name, project, _iso(cursor), state):
                yield from batch
                # Advanced only once the items it covers are out (a stop resumes from here).
                if updated_at and (stored is None or updated_at > stored):
                    stored = updated_at
                    state[key] = _iso(updated_at)

    # --- streams: each yields (the items of one object, that object's updated_at) ----------

    def _pipelines(
        self, name: str, project: str, updated_after: str, state: dict[str, Any]
    ) -> Iterator[Batch]:
        """Finished pipelines with their details and jobs. A queued or running pipeline is
        skipped: finishing changes its updated_at, so a later poll brings it back."""
        for summary in self._list(f"{project}/pipelines", _incremental(updated_after)):
            if not run_status(summary.get("status", "")).is_finished:
                continue
            pipeline_id = summary["id"]
            # The list lacks started_at, finished_at and duration.
            details = self.http.get_json(f"{project}/pipelines/{pipeline_id}")
            batch = [RawItem("gitlab.pipeline", name, details)]
            batch += [
                RawItem("gitlab.job", name, job, {"pipeline_id": pipeline_id})
                for job in self._list(f"{project}/pipelines/{pipeline_id}/jobs", {})
            ]
            yield batch, parse_time(summary.get("updated_at"))

    def _deployments(
        self, name: str, project: str, updated_after: str, state: dict[str, Any]
    ) -> Iterator[Batch]:
        """Every deployment; for a successful production one also the commits it shipped,
        compared with the previous successful deployment of that environment."""
        last_sha: dict[str, str] = state.setdefault("last_success_sha", {})
        last_id: dict[str, int] = state.setdefault("last_success_id", {})
        for deployment in self._list(f"{project}/deployments", _incremental(updated_after)):
            batch = [RawItem("gitlab.deployment", name, deployment)]
            environment = deployment.get("environment") or {}
            env = environment.get("name", "")
            sha, deployment_id = deployment.get("sha"), deployment["id"]
            shipped = (
                deployment.get("status") == "success"
                and sha
                and _is_production(env, environment.get("tier"))
                # The overlap re-reads deployments already chained; never compare backwards.
                and deployment_id > last_id.get(env, 0)
            )
            if shipped:
                context = {"deployment_id": deployment_id}
                base = last_sha.get(env)
                if not base:
                    commit = self.http.get_json(f"{project}/repository/commits/{sha}")
                    batch.append(RawItem("gitlab.commit", name, commit, context))
                elif base != sha:
                    compare = self.http.get_json(
                        f"{project}/repository/compare", {"from": base, "to": sha}
                    )
                    batch.append(RawItem("gitlab.compare", name, compare, context))
            yield batch, parse_time(deployment.get("updated_at"))
            if shipped:  # only once its commits are out
                last_sha[env], last_id[env] = sha, deployment_id

    def _merge_requests(
        self, name: str, project: str, updated_after: str, state: dict[str, Any]
    ) -> Iterator[Batch]:
        """Merged merge requests, each with the time of its first commit (lead time starts
        there, not at the squash or merge commit)."""
        params = {"state": "merged", **_incremental(updated_after)}
        for merge_request in self._list(f"{project}/merge_requests", params):
            commits = self._list(f"{project}/merge_requests/{merge_request['iid']}/commits", {})
            # GitLab lists newest first; the minimum holds whatever the order.
            times = [
                parse_time(commit.get("authored_date") or commit.get("created_at"))
                for commit in commits
            ]
            known = [time for time in times if time is not None]
            context = {"first_commit_at": _iso(min(known))} if known else {}
            item = RawItem("gitlab.merge_request", name, merge_request, context)
            yield [item], parse_time(merge_request.get("updated_at"))

    def _incidents(
        self, name: str, project: str, updated_after: str, state: dict[str, Any]
    ) -> Iterator[Batch]:
        """Issues of type incident plus issues carrying the incident label, once each."""
        by_iid: dict[int, dict[str, Any]] = {}
        for params in ({"issue_type": "incident"}, {"labels": self.options.incident_label}):
            for issue in self._list(f"{project}/issues", {**params, **_incremental(updated_after)}):
                by_iid[issue["iid"]] = issue
        for issue in sorted(by_iid.values(), key=lambda issue: issue.get("updated_at") or ""):
            yield [RawItem("gitlab.issue", name, issue)], parse_time(issue.get("updated_at"))

    # --- pagination -----------------------------------------------------------------------

    def _list(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list. ``self.http.pages`` follows ``Link rel=next``; some
        instances and proxies send only ``x-next-page``, which is followed here. GitLab omits
        ``x-total`` past 10,000 rows, so only "next" is trusted."""
        params = {**params, "per_page": PER_PAGE}
        seen_pages: set[str] = set()
        while True:
            response = None
            for response in self.http.pages(path, params):
                page = response.json()
                if not isinstance(page, list):
                    raise ConnectorError(
                        f"{response.url} answered a {type(page).__name__}, not a list",
                        permanent=True,
                        status=response.status,
                    )
                yield from page
            next_page = response.headers.get("x-next-page", "").strip() if response else ""
            if not next_page or next_page in seen_pages:
                return
            seen_pages.add(next_page)
            params["page"] = next_page

    # --- normalisation --------------------------------------------------------------------

    @staticmethod
    def normalise(item: RawItem) -> list[Record]:
        normaliser = NORMALISERS.get(item.kind)
        if normaliser is None:
            raise ValueError(f"not a GitLab item kind: {item.kind!r}")
        return normaliser(item)

    @staticmethod
    def webhook_items(event: str, payload: dict[str, Any]) -> list[RawItem]:
        repository = _hook_repository(payload)
        attributes = payload.get("object_attributes") or {}
        if event == "Pipeline Hook":
            pipeline_id = attributes.get("id")
            jobs = [
                RawItem("gitlab.job", repository, build, {"pipeline_id": pipeline_id})
                for build in payload.get("builds") or []
            ]
            return [RawItem("gitlab.pipeline_hook", repository, payload), *jobs]
        if event == "Job Hook":
            return [RawItem("gitlab.job_hook", repository, payload)]
        if event == "Deployment Hook":
            return [RawItem("gitlab.deployment_hook", repository, payload)]
        if event == "Merge Request Hook" and (
            attributes.get("action") == "merge" or attributes.get("state") == "merged"
        ):
            return [RawItem("gitlab.merge_request_hook", repository, payload)]
        if event == "Issue Hook" and _is_incident_hook(payload):
            return [RawItem("gitlab.issue_hook", repository, payload)]
        return []


# --- pure mappings, one per item kind ---------------------------------------------------------


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
            is_production=_tier_is_production(deployment.environment.tier),
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
            is_production=_tier_is_production(hook.environment_tier),
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


# --- small helpers ----------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _incremental(updated_after: str) -> dict[str, Any]:
    # The query Apache DevLake's collector uses (url column of its raw deployments table).
    return {"updated_after": updated_after, "order_by": "updated_at", "sort": "asc"}


def _is_production(environment: str, tier: str | None) -> bool:
    return tier == "production" or environment.lower() in PRODUCTION_NAMES


def _tier_is_production(tier: str | None) -> bool | None:
    return None if tier is None else tier == "production"


def _hook_repository(payload: dict[str, Any]) -> str:
    """The project path, else its id: Job Hooks carry only ``project_id`` (their
    ``project_name`` is a display name such as "John Smith / release-tools-fake")."""
    project = payload.get("project") or {}
    target = (payload.get("object_attributes") or {}).get("target") or {}
    path = project.get("path_with_namespace") or target.get("path_with_namespace")
    if path:
        return path
    project_id = project.get("id") or payload.get("project_id")
    return str(project_id) if project_id is not None else ""


def _is_incident_hook(payload: dict[str, Any]) -> bool:
    attributes = payload.get("object_attributes") or {}
    # GitLab 17.2+ sends the work item type ("Incident"); older hooks only labels.
    kinds = {attributes.get("issue_type"), attributes.get("type")}
    if "incident" in {str(kind).lower() for kind in kinds if kind}:
        return True
    labels = [*(payload.get("labels") or []), *(attributes.get("labels") or [])]
    return any(
        str(label.get("title", "") if isinstance(label, dict) else label).lower() == "incident"
        for label in labels
    )
