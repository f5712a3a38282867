"""GitHubConnector.fetch against a real loopback server answering with recorded GitHub responses.

Bodies and headers (ETag, Link, X-RateLimit-*) come from the PyGithub replays in
``fixtures/github/`` (byte-for-byte copies of ``shared/ci-samples/github/``; provenance in its
SOURCES.md), with Link URLs pointed at the test server. There is no recording of a compare, a
single commit, a pull request's commits, an issue list or a successful deployment status: those
are the ``*.handmade.json`` fixtures, shaped after GitHub's REST reference.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    IncidentRecord,
    RawItem,
    Repository,
    RunStatus,
    SourceOptions,
)
from pipelines.connectors.github import GitHubConnector
from pipelines.connectors.http import ConnectorError, SourceHttp

FIXTURES = Path(__file__).parent / "fixtures" / "github"
REPOSITORY = Repository(name="octo/app", service="app")
API = "/repos/octo/app"
EMPTY_RUNS = {"total_count": 0, "workflow_runs": []}
PAGE = {"per_page": "100"}
# These describe how the recording travelled (gzip, chunks), not how the test server sends it.
TRANSFER_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "status"}
PRODUCTION_SHA = "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5"  # both recorded deployments
BASE_SHA = "5d1f0e7a2c3b4d5e6f708192a3b4c5d6e7f80912"


@dataclass(frozen=True)
class Exchange:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def replay(name: str, record: int = 1) -> Exchange:
    """Record ``record`` (from 1) of a PyGithub replay: ten lines each (scheme, method, host,
    port, path, request headers, request body, status, response headers, response body)."""
    lines = (FIXTURES / name).read_text().split("\n")
    status, headers, body = lines[(record - 1) * 11 + 7 : (record - 1) * 11 + 10]
    pairs = ast.literal_eval(headers)
    kept = {key: value for key, value in pairs if key.lower() not in TRANSFER_HEADERS}
    return Exchange(int(status), kept, body)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes())


def recorded_run() -> dict[str, Any]:
    return replay("rest-list-workflow-runs-created-filter.replay.pygithub.txt", 2).json()[
        "workflow_runs"
    ][0]


def serve(server: HTTPServer, uri, body, *, query=None, headers=None, status=200) -> None:
    data = body if isinstance(body, str) else json.dumps(body)
    server.expect_request(uri, query_string=query).respond_with_data(
        data, status=status, headers=headers, content_type="application/json"
    )


def serve_quiet(server: HTTPServer, *lists: str, base: str = API) -> None:
    """Empty answers for the lists a test is not about (runs, deployments, pulls, issues)."""
    bodies = {"actions/runs": EMPTY_RUNS, "deployments": [], "pulls": [], "issues": []}
    for path, body in bodies.items():
        if path in lists:
            serve(server, f"{base}/{path}", body)


def serve_jobs(server: HTTPServer) -> None:
    jobs = replay("rest-list-jobs-for-run.replay.pygithub.txt")
    serve(server, re.compile(rf"{API}/actions/runs/\d+/jobs"), jobs.body, query=PAGE)


def fetch(connector: GitHubConnector, state: dict, since: datetime, full=False) -> list[RawItem]:
    return list(connector.fetch(REPOSITORY, state=state, since=since, full=full))


def records(items: list[RawItem]) -> list:
    return [record for item in items for record in GitHubConnector.normalise(item)]


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def make_connector(httpserver: HTTPServer, waits: list[float]):
    def make(*, etags=None, options=None, base="/") -> GitHubConnector:
        headers, _ = GitHubConnector.auth_headers("ghp_test")
        url = httpserver.url_for(base)
        http = SourceHttp(url, headers=headers, etags=etags, sleep=waits.append)
        return GitHubConnector(http=http, options=options or SourceOptions())

    return make


def test_it_backfills_runs_over_several_pages_with_the_jobs_of_each(
    httpserver, make_connector, waits
):
    page1 = replay("rest-list-workflow-runs.replay.pygithub.txt", 2)  # 30 runs, Link to page 2
    page2 = replay("rest-list-workflow-runs-created-filter.replay.pygithub.txt", 2)  # 1 run
    page3 = replay("rest-list-workflow-runs.replay.pygithub.txt", 1)  # 2 runs
    listed = "/repositories/146139403/actions/runs"  # where GitHub's Link points
    link2 = page1.headers["Link"].replace("https://api.github.com/", httpserver.url_for("/"))
    link3 = f'<{httpserver.url_for(listed)}?exclude_pull_requests=1&page=3>; rel="next"'
    first = {"per_page": "100", "created": ">=2022-08-01T00:00:00Z"}
    for uri, query, page, link in [
        (f"{API}/actions/runs", first, page1, link2),
        (listed, {"exclude_pull_requests": "1", "page": "2"}, page2, link3),
        (listed, {"exclude_pull_requests": "1", "page": "3"}, page3, None),
    ]:
        headers = page.headers | ({"Link": link} if link else {})
        serve(httpserver, uri, page.body, query=query, headers=headers)
    serve_jobs(httpserver)
    serve_quiet(httpserver, "deployments", "pulls", "issues")
    connector = make_connector()
    state: dict[str, Any] = {}

    items = fetch(connector, state, datetime(2022, 8, 1, tzinfo=UTC))

    assert len(items) == 33 * 6
    runs = []
    for start in range(0, len(items), 6):
        *jobs, run = items[start : start + 6]
        assert run.kind == "github.workflow_run"
        assert [job.kind for job in jobs] == ["github.workflow_job"] * 5
        assert {job.context["run_id"] for job in jobs} == {run.payload["id"]}
        runs.append(run.payload)
    assert len({run["id"] for run in runs}) == 33
    assert [run["created_at"] for run in runs] == sorted(run["created_at"] for run in runs)
    # The newest run (page 2) was created at 2022-12-24T07:29:12Z; the cursor keeps an hour.
    assert state["runs_since"] == "2022-12-24T06:29:12Z"
    assert state["open_runs"] == []
    assert connector.http.requests_made == 3 + 33 + 3
    assert waits == []
    first_request = httpserver.log[0][0]
    assert first_request.headers["Authorization"] == "Bearer ghp_test"
    assert first_request.headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_it_costs_one_request_per_list_when_nothing_changed(httpserver, make_connector):
    runs = replay("rest-list-workflow-runs-created-filter.replay.pygithub.txt", 2)
    etags = {"actions/runs": runs.headers["ETag"]}
    etags |= {name: f'W/"{name}-v1"' for name in ("deployments", "pulls", "issues")}
    serve(httpserver, f"{API}/actions/runs", runs.body, headers=runs.headers)
    for name, body in [("deployments", []), ("pulls", []), ("issues", [])]:
        serve(httpserver, f"{API}/{name}", body, headers={"ETag": etags[name]})
    serve_jobs(httpserver)
    # The only run is less than an hour newer than ``since``, so the cursor (and URL) stay put.
    since = datetime(2022, 12, 24, 7, 0, tzinfo=UTC)
    first = make_connector()
    state: dict[str, Any] = {}
    assert [item.kind for item in fetch(first, state, since)][-1] == "github.workflow_run"

    httpserver.clear()
    not_modified = replay("rest-conditional-request-304.replay.pygithub.txt")
    for name, etag in etags.items():
        httpserver.expect_request(
            f"{API}/{name}", headers={"If-None-Match": etag}
        ).respond_with_data("", status=not_modified.status, headers=not_modified.headers)
    second = make_connector(etags=dict(first.http.etags))
    before = copy.deepcopy(state)

    # The engine's ``since`` moves on with every sync; the stored cursors keep the URLs stable.
    assert fetch(second, state, datetime(2022, 12, 25, tzinfo=UTC)) == []
    assert second.http.requests_made == 4
    assert [request.path for request, _ in httpserver.log] == [f"{API}/{name}" for name in etags]
    assert state == before


def test_it_refetches_a_run_that_was_not_completed_until_it_completes(httpserver, make_connector):
    completed = recorded_run()
    # Derived from the recorded run: the same run while it was still going.
    running = {**completed, "status": "in_progress", "conclusion": None}
    one = f"{API}/actions/runs/{completed['id']}"
    since = datetime(2022, 12, 24, tzinfo=UTC)
    state: dict[str, Any] = {}
    serve(httpserver, f"{API}/actions/runs", {"total_count": 1, "workflow_runs": [running]})
    serve_quiet(httpserver, "deployments", "pulls", "issues")
    assert fetch(make_connector(), state, since) == []
    assert state["open_runs"] == [completed["id"]]

    for answer in (running, completed):
        httpserver.clear()
        # Later polls list only runs created since (none here); the open one is asked for alone.
        serve(httpserver, one, answer)
        serve_jobs(httpserver)
        serve_quiet(httpserver, "actions/runs", "deployments", "pulls", "issues")
        items = fetch(make_connector(), state, since)

    assert [item.kind for item in items] == ["github.workflow_job"] * 5 + ["github.workflow_run"]
    assert items[-1].payload == completed
    assert state["open_runs"] == []


@time_machine.travel(datetime(2024, 1, 3, tzinfo=UTC), tick=False)
def test_it_splits_a_window_of_more_than_1000_runs_in_halves(httpserver, make_connector):
    def run(run_id: int, created_at: str) -> dict[str, Any]:
        return {**recorded_run(), "id": run_id, "created_at": created_at}

    # created filter -> (total_count, runs); GitHub returns at most 1,000 of total_count.
    windows = {
        ">=2024-01-01T00:00:00Z": (1500, []),
        "2024-01-01T00:00:00Z..2024-01-02T00:00:00Z": (1100, []),
        "2024-01-01T00:00:00Z..2024-01-01T12:00:00Z": (500, [run(1, "2024-01-01T06:00:00Z")]),
        "2024-01-01T12:00:01Z..2024-01-02T00:00:00Z": (600, [run(2, "2024-01-01T18:00:00Z")]),
        "2024-01-02T00:00:01Z..2024-01-03T00:00:00Z": (400, [run(3, "2024-01-02T06:00:00Z")]),
    }
    asked = []

    def answer(request: Request) -> Response:
        asked.append(request.args["created"])
        total, runs = windows[request.args["created"]]
        body = json.dumps({"total_count": total, "workflow_runs": runs})
        return Response(body, content_type="application/json")

    httpserver.expect_request(f"{API}/actions/runs").respond_with_handler(answer)
    serve_jobs(httpserver)
    serve_quiet(httpserver, "deployments", "pulls", "issues")
    state: dict[str, Any] = {}

    items = fetch(make_connector(), state, datetime(2024, 1, 1, tzinfo=UTC))

    assert asked == list(windows)
    assert [item.payload["id"] for item in items if item.kind == "github.workflow_run"] == [1, 2, 3]
    assert state["runs_since"] == "2024-01-02T05:00:00Z"


def serve_deployments(server: HTTPServer) -> None:
    """The recorded list (newest first): 263877258 to ``test`` with three ``queued`` statuses,
    262350588 to ``production``, which here succeeds (hand-made statuses)."""
    listed = replay("rest-list-deployments.replay.pygithub.txt")
    statuses = replay("rest-list-deployment-statuses.replay.pygithub.txt")
    success = load("deployment-statuses-success.handmade.json")
    serve(server, f"{API}/deployments", listed.body, query=PAGE, headers=listed.headers)
    serve(server, f"{API}/deployments/263877258/statuses", statuses.body, headers=statuses.headers)
    serve(server, f"{API}/deployments/262350588/statuses", success)
    serve_quiet(server, "actions/runs", "pulls", "issues")


@time_machine.travel(datetime(2020, 8, 27, tzinfo=UTC), tick=False)
def test_it_yields_the_commits_a_production_deployment_brought_since_the_previous_one(
    httpserver, make_connector
):
    serve_deployments(httpserver)
    compare = f"{API}/compare/{BASE_SHA}...{PRODUCTION_SHA}"
    serve(httpserver, compare, load("compare.handmade.json"), query=PAGE)
    state: dict[str, Any] = {"last_success_sha": {"production": BASE_SHA}}

    items = fetch(make_connector(), state, datetime(2020, 8, 1, tzinfo=UTC))

    assert [(item.kind, item.payload.get("id")) for item in items] == [
        ("github.deployment", 262350588),
        ("github.compare", None),
        ("github.deployment", 263877258),
    ]
    assert items[1].context == {"deployment_id": 262350588}
    production, first, second, test = records(items)
    assert production == DeploymentRecord(
        external_id="262350588",
        environment="production",
        status=RunStatus.SUCCESS,
        started_at=datetime(2020, 8, 26, 11, 40, 41, tzinfo=UTC),
        finished_at=datetime(2020, 8, 26, 11, 47, 30, tzinfo=UTC),
        sha=PRODUCTION_SHA,
        ref=PRODUCTION_SHA,
        is_production=False,  # as recorded; the name "production" is what made it count here
        url="https://example.com/deployment.log",
    )
    assert first == ChangeRecord(
        sha="a1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0",
        committed_at=datetime(2020, 8, 25, 9, 12, 44, tzinfo=UTC),
        title="Add deployment statuses",
        url="https://github.com/PyGithub/PyGithub/commit/a1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0",
        deployment_external_id="262350588",
    )
    assert second.sha == PRODUCTION_SHA
    assert (test.environment, test.status, test.finished_at) == ("test", RunStatus.QUEUED, None)
    assert state["last_success_sha"] == {"production": PRODUCTION_SHA}
    assert state["deployments_max_id"] == 263877258
    assert state["open_deployments"] == [263877258]


@time_machine.travel(datetime(2020, 8, 27, tzinfo=UTC), tick=False)
def test_it_yields_the_commit_of_the_first_production_deployment(httpserver, make_connector):
    serve_deployments(httpserver)
    serve(httpserver, f"{API}/commits/{PRODUCTION_SHA}", load("commit.handmade.json"))

    items = fetch(make_connector(), {}, datetime(2020, 8, 1, tzinfo=UTC))

    kinds = [item.kind for item in items]
    assert kinds == ["github.deployment", "github.commit", "github.deployment"]
    (change,) = GitHubConnector.normalise(items[1])
    assert (change.sha, change.deployment_external_id) == (PRODUCTION_SHA, "262350588")


@time_machine.travel(datetime(2020, 8, 27, tzinfo=UTC), tick=False)
def test_it_stops_paging_deployments_at_the_newest_seen_and_rechecks_unfinished_ones(
    httpserver, make_connector
):
    listed = replay("rest-list-deployments.replay.pygithub.txt")
    # A second page that must not be asked for: everything on page 1 was seen already.
    link = f'<{httpserver.url_for(f"{API}/deployments")}?per_page=100&page=2>; rel="next"'
    serve(
        httpserver,
        f"{API}/deployments",
        listed.body,
        headers={"Link": link},
        query=PAGE,
    )
    serve(httpserver, f"{API}/deployments/263877258", listed.json()[0])
    queued = replay("rest-list-deployment-statuses.replay.pygithub.txt").json()
    # Derived from the recorded statuses: the deployment has since succeeded.
    success = {
        **queued[0],
        "id": 388500000,
        "state": "success",
        "created_at": "2020-08-26T15:00:00Z",
    }
    serve(httpserver, f"{API}/deployments/263877258/statuses", [success, *queued])
    serve_quiet(httpserver, "actions/runs", "pulls", "issues")
    state = {"deployments_max_id": 263877258, "open_deployments": [263877258]}
    connector = make_connector()

    items = fetch(connector, state, datetime(2020, 8, 1, tzinfo=UTC))

    assert [(item.kind, item.payload["id"]) for item in items] == [("github.deployment", 263877258)]
    assert records(items)[0].status == RunStatus.SUCCESS
    assert state["open_deployments"] == []
    assert connector.http.requests_made == 3 + 3  # list, deployment, statuses; three other lists


def test_it_dates_a_squash_merged_pull_request_from_its_first_commit(httpserver, make_connector):
    # No recorded pulls list: it is built from the pull requests inside recorded webhooks.
    merged = load("webhook-pull_request-closed-merged.ideacrew.json")["pull_request"]
    unmerged = load("webhook-pull_request-closed-not-merged.octokit.json")["pull_request"]
    query = {"state": "closed", "sort": "updated", "direction": "desc", "per_page": "100"}
    serve(httpserver, f"{API}/pulls", [merged, unmerged], query=query)
    serve(httpserver, f"{API}/pulls/138/commits", load("pull-commits.handmade.json"))
    serve_quiet(httpserver, "actions/runs", "deployments", "issues")
    state: dict[str, Any] = {}
    connector = make_connector()

    items = fetch(connector, state, datetime(2019, 1, 1, tzinfo=UTC))

    assert [(item.kind, item.payload["number"]) for item in items] == [("github.pull_request", 138)]
    assert items[0].context == {"first_commit_at": "2022-04-12T08:15:00Z"}
    assert records(items) == [
        ChangeRecord(
            sha="012a9ee916f4d45dfff6bcf134bad939bd220cf7",
            committed_at=datetime(2022, 4, 12, 8, 15, tzinfo=UTC),  # not the PR's 2022-04-13
            title="add pr property to new branch document",
            pull_request="https://github.com/ideacrew/active-branch-tracker/pull/138",
            merged_at=datetime(2022, 4, 14, 14, 26, 27, tzinfo=UTC),
        )
    ]
    assert state["pulls_since"] == "2022-04-14T14:26:27Z"
    assert connector.http.requests_made == 4 + 1  # the unmerged one needs no commits


@pytest.mark.parametrize("label", ["incident", "sev1"])
def test_it_turns_issues_with_the_incident_label_into_incidents(httpserver, make_connector, label):
    query = {"labels": label, "state": "all", "since": "2024-05-01T00:00:00Z", "per_page": "100"}
    serve(httpserver, f"{API}/issues", load("issues-incident.handmade.json"), query=query)
    serve_quiet(httpserver, "actions/runs", "deployments", "pulls")
    state: dict[str, Any] = {}
    connector = make_connector(options=SourceOptions(incident_label=label))

    items = fetch(connector, state, datetime(2024, 5, 1, tzinfo=UTC))

    assert records(items) == [  # oldest update first; #45 is a pull request
        IncidentRecord(
            external_id="octo/app#44",
            title="Search is slow",
            opened_at=datetime(2024, 5, 2, 15, 0, tzinfo=UTC),
            url="https://github.com/octo/app/issues/44",
        ),
        IncidentRecord(
            external_id="octo/app#41",
            title="Checkout returns 502",
            opened_at=datetime(2024, 5, 1, 9, 0, tzinfo=UTC),
            resolved_at=datetime(2024, 5, 1, 10, 30, tzinfo=UTC),
            url="https://github.com/octo/app/issues/41",
        ),
    ]
    assert state["issues_since"] == "2024-05-02T16:30:00Z"


def test_it_reports_a_missing_repository_as_a_permanent_404(httpserver, make_connector):
    body = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    serve(httpserver, f"{API}/actions/runs", body, status=404)

    with pytest.raises(ConnectorError) as caught:
        fetch(make_connector(), {}, datetime(2024, 5, 1, tzinfo=UTC))

    assert (caught.value.permanent, caught.value.status) == (True, 404)


def test_it_asks_under_a_github_enterprise_api_root(httpserver, make_connector):
    lists = ("actions/runs", "deployments", "pulls", "issues")
    serve_quiet(httpserver, *lists, base="/api/v3/repos/octo/app")

    assert fetch(make_connector(base="/api/v3/"), {}, datetime(2024, 5, 1, tzinfo=UTC)) == []
    assert [request.path for request, _ in httpserver.log] == [
        f"/api/v3/repos/octo/app/{name}" for name in lists
    ]
