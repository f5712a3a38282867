"""GitHubConnector.fetch of workflow runs, against a fake GitHub answering with recordings.

Deployments, pull requests and incidents: test_github_fetch_delivery.py; the fake:
github_fake.py.

Bodies and headers (ETag, Link, X-RateLimit-*) come from the PyGithub replays in
``fixtures/github/`` (byte-for-byte copies of ``shared/ci-samples/github/``; provenance in its
SOURCES.md), with Link URLs pointed at the test server. There is no recording of a compare, a
single commit, a pull request's commits, an issue list or a successful deployment status: those
are the ``*.handmade.json`` fixtures, shaped after GitHub's REST reference.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from werkzeug import Request, Response

from pipelines.connectors.http import ConnectorError
from tests.pipelines.connectors.github_fake import (
    API,
    fetch,
    recorded_run,
    replay,
    serve,
    serve_jobs,
    serve_quiet,
)


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
