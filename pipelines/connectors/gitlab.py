"""GitLab CI over REST v4 and webhooks: pipelines, jobs, deployments, merge requests, incidents.

The source's base URL is the API root (``https://gitlab.com/api/v4/`` or a self-hosted one);
``Repository.name`` is a project path (``group/sub/project``) or a numeric project id. Payloads
are read through the frozen pydantic models in ``gitlab_payloads`` (``GitLab<Thing>Payload``) so a
malformed object raises ``ValidationError`` instead of becoming half a record (CI-APIS.md
section 2). This module holds the connector: authentication, fetching, webhook items and the
dispatch of ``normalise`` to the per-kind mappings in ``gitlab_normalise``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from pipelines.connectors.base import Connector, RawItem, Record, Repository
from pipelines.connectors.gitlab_normalise import NORMALISERS
from pipelines.connectors.gitlab_payloads import run_status
from pipelines.connectors.http import ConnectorError
from pipelines.connectors.times import parse_time

PER_PAGE = 100
# updated_at ties are common (a whole stage of jobs finishing at once), so each poll re-reads a
# little of the previous window; re-reading an unchanged object stores nothing new (fingerprint).
OVERLAP = timedelta(minutes=10)
PRODUCTION_NAMES = frozenset({"production", "prod"})
# The raw items of one object and that object's updated_at (the stream cursor's position).
Batch = tuple[list[RawItem], datetime | None]


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


# --- small helpers ----------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _incremental(updated_after: str) -> dict[str, Any]:
    # The query Apache DevLake's collector uses (url column of its raw deployments table).
    return {"updated_after": updated_after, "order_by": "updated_at", "sort": "asc"}


def _is_production(environment: str, tier: str | None) -> bool:
    return tier == "production" or environment.lower() in PRODUCTION_NAMES


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
