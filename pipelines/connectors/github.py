"""GitHub over REST v3 and webhooks: workflow runs, jobs, deployments, pull requests, incidents.

The source's base URL is the API root (``https://api.github.com/`` or GitHub Enterprise's
``https://host/api/v3/``); ``Repository.name`` is ``owner/repo``. Payloads are read through the
frozen pydantic models in ``github_payloads`` so a malformed object raises ``ValidationError``
instead of becoming half a record (CI-APIS.md section 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pipelines.connectors.base import Connector, RawItem, Record, Repository, RunStatus
from pipelines.connectors.github_payloads import (
    NORMALISERS,
    deployment_state,
    is_production,
    parse_statuses,
)
from pipelines.connectors.http import ConnectorError
from pipelines.connectors.times import parse_time

API_VERSION = "2022-11-28"
PER_PAGE = 100
# "This API will return up to 1,000 results for each search when using [created]" (CI-APIS 1.2).
RESULT_CAP = 1000
# A run's created_at can predate its appearance in the list, so each poll re-reads the last hour;
# runs already handled in that hour are skipped by id and attempt (``recent_runs``).
RUNS_OVERLAP = timedelta(hours=1)
# Deployments that never get a final status (tests, abandoned scripts) stop being re-checked.
OPEN_DEPLOYMENT_MAX_AGE = timedelta(days=7)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: str) -> datetime:
    moment = parse_time(value)
    if moment is None:
        raise ValueError("missing timestamp")
    return moment


def _start(state: dict[str, Any], key: str, since: datetime, full: bool) -> datetime:
    """The cursor ``state[key]`` (or ``since``). It is stored at once: ``since`` moves with every
    sync, and a query URL that stays the same is what lets an unchanged poll be one 304."""
    stored = None if full else parse_time(state.get(key))
    cursor = (stored or since).replace(microsecond=0)
    state.setdefault(key, _iso(cursor))
    return cursor


def _advance(state: dict[str, Any], key: str, moment: datetime) -> None:
    current = parse_time(state.get(key))
    state[key] = _iso(max(current, moment) if current else moment)


class GitHubConnector(Connector):
    kind = "github"
    webhook_event_header: ClassVar[str] = "X-GitHub-Event"

    @staticmethod
    def auth_headers(token: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        return headers, None

    def fetch(
        self, repository: Repository, *, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """1. workflow runs (with their jobs), 2. deployments (with their statuses and, for
        production successes, the commits they brought), 3. merged pull requests, 4. incidents.

        Every list's first page is a conditional request, so an unchanged poll costs one 304
        per list (which GitHub does not count against the rate limit).
        """
        name = repository.name
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        yield from self._fetch_runs(name, state, since, full)
        yield from self._fetch_deployments(name, state, since, full)
        yield from self._fetch_pulls(name, state, since, full)
        yield from self._fetch_issues(name, state, since, full)

    # --- 1. workflow runs ---------------------------------------------------------------------

    def _fetch_runs(
        self, name: str, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Runs created since ``runs_since``, plus the runs that were not completed last time.

        Only completed runs are yielded; the others are remembered in ``open_runs`` and fetched
        one by one on later syncs until they complete (a re-run reopens a run: new attempt).
        """
        cursor = _start(state, "runs_since", since, full)
        open_runs: list[int] = state.setdefault("open_runs", [])
        recent: dict[str, str] = {} if full else dict(state.get("recent_runs", {}))
        handled: set[int] = set()
        for window in self._run_windows(name, cursor, conditional=not full):
            for run in sorted(window, key=lambda run: (_time(run["created_at"]), run["id"])):
                handled.add(run["id"])
                key = f"{run['id']}/{run.get('run_attempt') or 1}"
                if run.get("status") != "completed":
                    if run["id"] not in open_runs:
                        open_runs.append(run["id"])
                elif key not in recent:
                    yield from self._run_items(name, run)
                    recent[key] = run["created_at"]
                    if run["id"] in open_runs:
                        open_runs.remove(run["id"])
            if window:
                newest = max(_time(run["created_at"]) for run in window)
                _advance(state, "runs_since", newest - RUNS_OVERLAP)
            cursor = _time(state["runs_since"])
            state["recent_runs"] = {
                key: created for key, created in recent.items() if _time(created) >= cursor
            }

        for run_id in [run_id for run_id in open_runs if run_id not in handled]:
            try:
                run = self.http.get_json(f"repos/{name}/actions/runs/{run_id}")
            except ConnectorError as error:
                if error.status != 404:
                    raise
                open_runs.remove(run_id)  # deleted since
                continue
            if run.get("status") == "completed":
                yield from self._run_items(name, run)
                open_runs.remove(run_id)

    def _run_windows(
        self, name: str, start: datetime, *, conditional: bool
    ) -> Iterator[list[dict[str, Any]]]:
        """The runs created since ``start``, one list per time window, oldest window first."""
        yield from self._window(f"repos/{name}/actions/runs", start, None, conditional)

    def _window(
        self, path: str, start: datetime, end: datetime | None, conditional: bool
    ) -> Iterator[list[dict[str, Any]]]:
        """Runs created in ``start..end`` (open-ended without ``end``).

        GitHub answers a filtered runs query with at most 1,000 runs while ``total_count`` says
        how many match, so a window holding more is split in halves until each one fits (a
        window of one second cannot be split and gives what GitHub returns).
        """
        created = f">={_iso(start)}" if end is None else f"{_iso(start)}..{_iso(end)}"
        params = {"per_page": PER_PAGE, "created": created}
        pages = self.http.pages(path, params, conditional_first=conditional)
        first = next(pages)
        if first.not_modified:
            return
        body = first.json()
        stop = end or datetime.now(UTC).replace(microsecond=0)
        if body.get("total_count", 0) > RESULT_CAP and stop - start > timedelta(seconds=1):
            pages.close()
            middle = (start + (stop - start) / 2).replace(microsecond=0)
            # Ranges are inclusive at both ends and created_at has whole seconds.
            yield from self._window(path, start, middle, False)
            yield from self._window(path, middle + timedelta(seconds=1), stop, False)
            return
        runs = list(body["workflow_runs"])
        for page in pages:
            runs.extend(page.json()["workflow_runs"])
        yield runs

    def _run_items(self, name: str, run: dict[str, Any]) -> Iterator[RawItem]:
        jobs: list[dict[str, Any]] = []
        path = f"repos/{name}/actions/runs/{run['id']}/jobs"
        for page in self.http.pages(path, {"per_page": PER_PAGE}):
            jobs.extend(page.json()["jobs"])
        for job in jobs:
            yield RawItem("github.workflow_job", name, job, {"run_id": run["id"]})
        yield RawItem("github.workflow_run", name, run)

    # --- 2. deployments -----------------------------------------------------------------------

    def _fetch_deployments(
        self, name: str, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Deployments newer than ``deployments_max_id`` (the list is newest first and has no
        time filter, so paging stops at the first one already seen or older than ``since``),
        plus those still unfinished last time; each with its statuses, oldest first.

        A successful production deployment also yields the commits it brought: a compare with
        the previous successful deployment of its environment (``last_success_sha``), or, for
        the first one, its own commit. (A deployment that succeeds after a newer one compares
        against that newer sha: GitHub then reports no commits ahead, which is harmless.)
        """
        max_id = 0 if full else state.get("deployments_max_id", 0)
        found: dict[int, dict[str, Any]] = {}
        path = f"repos/{name}/deployments"
        for page in self.http.pages(path, {"per_page": PER_PAGE}, conditional_first=not full):
            if page.not_modified:
                break
            batch = page.json()
            fresh = [d for d in batch if d["id"] > max_id and _time(d["created_at"]) >= since]
            found.update((deployment["id"], deployment) for deployment in fresh)
            if len(fresh) < len(batch):
                break

        open_ids: list[int] = state.setdefault("open_deployments", [])
        for deployment_id in [i for i in open_ids if i not in found]:
            try:
                found[deployment_id] = self.http.get_json(f"{path}/{deployment_id}")
            except ConnectorError as error:
                if error.status != 404:
                    raise
                open_ids.remove(deployment_id)

        last_success: dict[str, str] = {} if full else dict(state.get("last_success_sha", {}))
        for deployment in sorted(found.values(), key=lambda deployment: deployment["id"]):
            statuses: list[dict[str, Any]] = []
            for page in self.http.pages(f"{path}/{deployment['id']}/statuses", {"per_page": 100}):
                statuses.extend(page.json())
            yield RawItem("github.deployment", name, deployment, {"statuses": statuses})

            status, _ = deployment_state(parse_statuses(statuses))
            environment, sha = deployment["environment"], deployment["sha"]
            if status == RunStatus.SUCCESS and is_production(deployment):
                yield from self._deployed_changes(name, deployment, last_success.get(environment))
                last_success[environment] = sha
                state["last_success_sha"] = dict(last_success)
            too_old = _time(deployment["created_at"]) < datetime.now(UTC) - OPEN_DEPLOYMENT_MAX_AGE
            if status.is_finished or too_old:
                if deployment["id"] in open_ids:
                    open_ids.remove(deployment["id"])
            elif deployment["id"] not in open_ids:
                open_ids.append(deployment["id"])
            state["deployments_max_id"] = max(state.get("deployments_max_id", 0), deployment["id"])

    def _deployed_changes(
        self, name: str, deployment: dict[str, Any], base: str | None
    ) -> Iterator[RawItem]:
        context = {"deployment_id": deployment["id"]}
        head = deployment["sha"]
        if base is None:
            commit = self.http.get_json(f"repos/{name}/commits/{head}")
            yield RawItem("github.commit", name, commit, context)
        elif base != head:  # a redeploy of the same sha brings nothing
            path = f"repos/{name}/compare/{base}...{head}"
            for page in self.http.pages(path, {"per_page": PER_PAGE}):
                yield RawItem("github.compare", name, page.json(), context)

    # --- 3. merged pull requests --------------------------------------------------------------

    def _fetch_pulls(
        self, name: str, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Closed pull requests updated since ``pulls_since`` (newest first, so paging stops at
        the first older one); each merged one with its first commit's time, oldest first."""
        cursor = _start(state, "pulls_since", since, full)
        params = {"state": "closed", "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
        updated = list(self._until(f"repos/{name}/pulls", params, "updated_at", cursor, full))
        for pull in sorted(updated, key=lambda pull: (_time(pull["updated_at"]), pull["number"])):
            if pull.get("merged_at"):
                path = f"repos/{name}/pulls/{pull['number']}/commits"
                commits = self.http.get_json(path, {"per_page": PER_PAGE})
                context = (
                    {"first_commit_at": commits[0]["commit"]["author"]["date"]} if commits else {}
                )
                yield RawItem("github.pull_request", name, pull, context)
            _advance(state, "pulls_since", _time(pull["updated_at"]))

    def _until(
        self, path: str, params: dict[str, Any], field: str, cursor: datetime, full: bool
    ) -> Iterator[dict[str, Any]]:
        """Items of a newest-first list until the first one whose ``field`` is before ``cursor``."""
        for page in self.http.pages(path, params, conditional_first=not full):
            if page.not_modified:
                return
            for item in page.json():
                if _time(item[field]) < cursor:
                    return
                yield item

    # --- 4. incidents -------------------------------------------------------------------------

    def _fetch_issues(
        self, name: str, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Issues with the incident label updated since ``issues_since``, oldest first (the
        issues list also returns pull requests, which carry a ``pull_request`` key)."""
        cursor = _start(state, "issues_since", since, full)
        params = {
            "labels": self.options.incident_label,
            "state": "all",
            "since": _iso(cursor),
            "per_page": PER_PAGE,
        }
        issues: list[dict[str, Any]] = []
        for page in self.http.pages(f"repos/{name}/issues", params, conditional_first=not full):
            if page.not_modified:
                break
            issues.extend(issue for issue in page.json() if "pull_request" not in issue)
        for issue in sorted(
            issues, key=lambda issue: (_time(issue["updated_at"]), issue["number"])
        ):
            yield RawItem("github.issue", name, issue)
            _advance(state, "issues_since", _time(issue["updated_at"]))

    # --- normalise and webhooks ---------------------------------------------------------------

    @staticmethod
    def normalise(item: RawItem) -> list[Record]:
        normaliser = NORMALISERS.get(item.kind)
        if normaliser is None:
            raise ValueError(f"not a GitHub item kind: {item.kind!r}")
        return normaliser(item)

    @staticmethod
    def webhook_items(event: str, payload: dict[str, Any]) -> list[RawItem]:
        """Items of the webhook events we use; ``ping`` and the rest give [].

        - ``deployment_status`` carries one status only. An ``inactive`` one is dropped: GitHub
          sets it on an earlier *successful* deployment that a newer one replaced, and alone it
          would read as a non-success.
        - ``issues``: the handler has no source options, so the item carries the issue's label
          names and ``normalise`` keeps it only with the default incident label ("incident").
        """
        if event not in WEBHOOK_EVENTS:
            return []
        name = payload["repository"]["full_name"]
        if event == "workflow_run":
            return [RawItem("github.workflow_run", name, payload["workflow_run"])]
        if event == "workflow_job":
            job = payload["workflow_job"]
            return [RawItem("github.workflow_job", name, job, {"run_id": job["run_id"]})]
        if event == "deployment":
            return [RawItem("github.deployment", name, payload["deployment"], {"statuses": []})]
        if event == "deployment_status":
            status = payload["deployment_status"]
            if status.get("state") == "inactive":
                return []
            return [
                RawItem("github.deployment", name, payload["deployment"], {"statuses": [status]})
            ]
        if event == "pull_request":
            pull = payload["pull_request"]
            merged = payload.get("action") == "closed" and pull.get("merged")
            return [RawItem("github.pull_request", name, pull)] if merged else []
        issue = payload["issue"]
        labels = [label["name"] for label in issue.get("labels") or []]
        return [RawItem("github.issue", name, issue, {"labels": labels})]


WEBHOOK_EVENTS = frozenset(
    {"workflow_run", "workflow_job", "deployment", "deployment_status", "pull_request", "issues"}
)
