"""GitLabConnector.fetch against a real loopback server serving recorded GitLab payloads."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from pipelines.connectors.base import ChangeRecord, Repository, SourceOptions
from pipelines.connectors.gitlab import GitLabConnector
from pipelines.connectors.http import ConnectorError, SourceHttp

FIXTURES = Path(__file__).parent / "fixtures" / "gitlab"
REPOSITORY = Repository(name="merico-dev/ee/vdev.co", service="checkout")
ENCODED = quote(REPOSITORY.name, safe="")
# The server matches the decoded path; the raw request line keeps %2F (see the encoding test).
API = f"/api/v4/projects/{REPOSITORY.name}"
SINCE = datetime(2019, 1, 1, tzinfo=UTC)
STREAMS = ("pipelines", "deployments", "merge_requests", "issues")


def recorded_rows(name: str) -> list[dict[str, Any]]:
    """The API items of a DevLake raw table: one per row, in column ``data``."""
    with (FIXTURES / name).open(newline="") as file:
        return [json.loads(row["data"]) for row in csv.DictReader(file)]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def incremental(updated_after: str, **extra: str) -> dict[str, str]:
    return {
        "updated_after": updated_after,
        "order_by": "updated_at",
        "sort": "asc",
        "per_page": "100",
        **extra,
    }


def serve(httpserver, path: str, body: Any, query: dict | None = None, headers=None) -> None:
    """``query=None`` answers any query string."""
    httpserver.expect_request(f"{API}/{path}", query_string=query).respond_with_json(
        body, headers=headers or {}
    )


def serve_empty(httpserver, *streams: str) -> None:
    for stream in streams:
        serve(httpserver, stream, [])


def next_link(httpserver, path: str, query: dict[str, str]) -> dict[str, str]:
    url = httpserver.url_for(f"/api/v4/projects/{ENCODED}/{path}") + "?" + urlencode(query)
    return {"Link": f'<{url}>; rel="next"'}


def serve_pipeline(httpserver, details: dict[str, Any], jobs: list | None = None) -> None:
    serve(httpserver, f"pipelines/{details['id']}", details)
    serve(httpserver, f"pipelines/{details['id']}/jobs", jobs or [])


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def connector(httpserver, waits) -> GitLabConnector:
    headers, auth = GitLabConnector.auth_headers("glpat-test")
    http = SourceHttp(
        httpserver.url_for("/api/v4/"), headers=headers, auth=auth, sleep=waits.append
    )
    return GitLabConnector(http=http, options=SourceOptions())


def fetch(connector, state: dict | None = None, *, full: bool = False) -> list:
    return list(
        connector.fetch(REPOSITORY, state={} if state is None else state, since=SINCE, full=full)
    )


def test_it_sends_the_token_and_an_encoded_project_path(httpserver, connector):
    serve_empty(httpserver, *STREAMS)

    fetch(connector)

    request = httpserver.log[0][0]
    assert GitLabConnector.auth_headers("t") == ({"PRIVATE-TOKEN": "t"}, None)
    assert request.headers["PRIVATE-TOKEN"] == "glpat-test"
    assert request.environ["RAW_URI"].startswith(f"/api/v4/projects/{ENCODED}/pipelines?")
    assert "%2F" in ENCODED


def test_it_backfills_finished_pipelines_over_link_and_x_next_page_pages(httpserver, connector):
    # 29 recorded list rows: every status, two running rows without updated_at, nine tied rows.
    pipelines = recorded_rows("devlake-raw-gitlab-api-pipelines.PARTLY-SYNTHETIC.csv")
    first = incremental("2019-01-01T00:00:00Z")
    headers = {**next_link(httpserver, "pipelines", {**first, "page": "2"}), "x-next-page": "2"}
    serve(httpserver, "pipelines", pipelines[:10], first, headers)
    # Page 2 names page 3 only in x-next-page (no Link), as some proxies leave it.
    serve(httpserver, "pipelines", pipelines[10:20], {**first, "page": "2"}, {"x-next-page": "3"})
    serve(httpserver, "pipelines", pipelines[20:], {**first, "page": "3"}, {"x-next-page": ""})
    finished = [p for p in pipelines if p["status"] in {"success", "failed", "canceled", "skipped"}]
    for pipeline in finished:
        # No recorded details match these ids; the list row is a subset of the details object.
        serve_pipeline(httpserver, pipeline)
    serve_empty(httpserver, "deployments", "merge_requests", "issues")
    state: dict[str, Any] = {}

    items = fetch(connector, state)

    assert [item.payload["id"] for item in items] == [p["id"] for p in finished]
    assert {item.kind for item in items} == {"gitlab.pipeline"}
    assert len(finished) == 20
    requested = {request.path for request, _ in httpserver.log}
    unfinished = [p for p in pipelines if p not in finished]
    assert not any(f"{API}/pipelines/{p['id']}" in requested for p in unfinished)
    assert state["pipelines_since"] == "2022-03-07T09:41:36.267000Z"
    httpserver.check_assertions()


def test_it_fetches_the_details_and_every_job_page_of_a_finished_pipeline(httpserver, connector):
    details = recorded_rows("devlake-raw-gitlab-api-pipeline-details.csv")[:2]
    jobs = recorded_rows("devlake-raw-gitlab-api-jobs.PARTLY-SYNTHETIC.csv")[:5]
    serve(httpserver, "pipelines", details, incremental("2019-01-01T00:00:00Z"))
    jobs_path = f"pipelines/{details[0]['id']}/jobs"
    link = next_link(httpserver, jobs_path, {"per_page": "100", "page": "2"})
    serve(httpserver, jobs_path, jobs[:3], {"per_page": "100"}, link)
    serve(httpserver, jobs_path, jobs[3:], {"per_page": "100", "page": "2"})
    serve(httpserver, f"pipelines/{details[0]['id']}", details[0])
    serve_pipeline(httpserver, details[1])
    serve_empty(httpserver, "deployments", "merge_requests", "issues")

    items = fetch(connector)

    assert [(item.kind, item.payload["id"]) for item in items] == [
        ("gitlab.pipeline", 1078343570),
        *[("gitlab.job", job["id"]) for job in jobs],
        ("gitlab.pipeline", 1079491591),
    ]
    assert items[0].payload["started_at"] == "2023-11-20T07:17:10.123Z"
    assert {str(item.context) for item in items[1:6]} == {"{'pipeline_id': 1078343570}"}


def test_it_advances_the_cursor_after_the_items_and_polls_again_with_overlap(httpserver, connector):
    details = sorted(
        recorded_rows("devlake-raw-gitlab-api-pipeline-details.csv"), key=lambda p: p["updated_at"]
    )
    serve(httpserver, "pipelines", details[:3], incremental("2019-01-01T00:00:00Z"))
    # The second poll re-reads 10 minutes before the cursor: details[2] again, then details[3].
    serve(httpserver, "pipelines", details[2:4], incremental("2023-11-21T01:50:57.015000Z"))
    for pipeline in details[:4]:
        serve_pipeline(httpserver, pipeline)
    serve_empty(httpserver, "deployments", "merge_requests", "issues")
    state: dict[str, Any] = {}

    stream = connector.fetch(REPOSITORY, state=state, since=SINCE, full=False)
    assert next(stream).payload["id"] == details[0]["id"]
    assert "pipelines_since" not in state
    assert next(stream).payload["id"] == details[1]["id"]
    assert state["pipelines_since"] == "2023-11-21T01:54:29.757000Z"
    list(stream)
    assert state["pipelines_since"] == "2023-11-21T02:00:57.015000Z"

    again = fetch(connector, state)

    assert [item.payload["id"] for item in again] == [details[2]["id"], details[3]["id"]]
    assert state["pipelines_since"] == "2023-11-21T02:04:28.990000Z"


def test_it_rereads_the_whole_window_when_full(httpserver, connector):
    serve_empty(httpserver, "deployments", "merge_requests", "issues")
    serve(httpserver, "pipelines", [], incremental("2019-01-01T00:00:00Z"))
    state = {"pipelines_since": "2023-11-21T02:04:28.990Z"}

    assert fetch(connector, state, full=True) == []
    assert state["pipelines_since"] == "2023-11-21T02:04:28.990Z"


def test_it_yields_the_commits_each_production_deployment_shipped(httpserver, connector):
    staging = recorded_rows("devlake-raw-gitlab-api-deployments.PARTLY-SYNTHETIC.csv")[0]
    # No recorded successful production deployment exists (SOURCES.md): hand-made ones whose
    # shas are recorded commits of the project.
    first, second = fixture("deployments-production.handmade.json")
    commit = recorded_rows("devlake-raw-gitlab-api-merge-request-commits.csv")[4]
    assert commit["id"] == first["sha"]
    serve(httpserver, "deployments", [staging, first, second], incremental("2019-01-01T00:00:00Z"))
    serve(httpserver, f"repository/commits/{first['sha']}", commit)
    # No recorded compare response exists either.
    compare = fixture("compare.handmade.json")
    query = {"from": first["sha"], "to": second["sha"]}
    serve(httpserver, "repository/compare", compare, query)
    serve_empty(httpserver, "pipelines", "merge_requests", "issues")
    state: dict[str, Any] = {}

    items = fetch(connector, state)

    assert [(item.kind, item.context) for item in items] == [
        ("gitlab.deployment", {}),
        ("gitlab.deployment", {}),
        ("gitlab.commit", {"deployment_id": 13500001}),
        ("gitlab.deployment", {}),
        ("gitlab.compare", {"deployment_id": 13500002}),
    ]
    changes = GitLabConnector.normalise(items[4])
    assert [change.sha for change in changes] == [c["id"] for c in compare["commits"]]
    assert {change.deployment_external_id for change in changes} == {"13500002"}
    assert GitLabConnector.normalise(items[2]) == [
        ChangeRecord(
            sha=commit["id"],
            committed_at=datetime(2019, 6, 28, 5, 40, 36, tzinfo=UTC),
            title="add first bit",
            url=commit["web_url"],
            deployment_external_id="13500001",
        )
    ]
    assert state["last_success_sha"] == {"production": second["sha"]}
    assert state["deployments_since"] == "2019-06-28T11:30:00Z"


def test_it_never_compares_a_deployment_backwards(httpserver, connector):
    first, second = fixture("deployments-production.handmade.json")
    # The overlap reads the last one again, and an older one whose updated_at moved on.
    touched = {**first, "updated_at": "2019-06-28T11:40:00.000Z"}
    serve(httpserver, "deployments", [second, touched], incremental("2019-06-28T11:20:00Z"))
    serve_empty(httpserver, "pipelines", "merge_requests", "issues")
    state = {
        "deployments_since": "2019-06-28T11:30:00Z",
        "last_success_sha": {"production": second["sha"]},
        "last_success_id": {"production": second["id"]},
    }

    items = fetch(connector, state)

    assert [item.kind for item in items] == ["gitlab.deployment", "gitlab.deployment"]
    assert state["last_success_sha"] == {"production": second["sha"]}


def test_it_dates_a_merge_request_from_its_first_commit(httpserver, connector):
    merged = [
        mr
        for mr in recorded_rows("devlake-raw-gitlab-api-merge-requests.csv")
        if mr["state"] == "merged"
    ][:2]
    commits = recorded_rows("devlake-raw-gitlab-api-merge-request-commits.csv")
    query = incremental("2019-01-01T00:00:00Z", state="merged")
    serve(httpserver, "merge_requests", merged, query)
    # GitLab lists an MR's commits newest first: the oldest is on the last page.
    path = "merge_requests/1/commits"
    link = next_link(httpserver, path, {"per_page": "100", "page": "2"})
    serve(httpserver, path, commits[0:3], {"per_page": "100"}, link)
    serve(httpserver, path, commits[3:5], {"per_page": "100", "page": "2"})
    serve(httpserver, "merge_requests/3/commits", commits[5:6])
    serve_empty(httpserver, "pipelines", "deployments", "issues")
    state: dict[str, Any] = {}

    items = fetch(connector, state)

    assert [(item.payload["iid"], item.context) for item in items] == [
        (1, {"first_commit_at": "2019-06-28T05:40:36Z"}),
        (3, {"first_commit_at": "2019-08-15T19:32:19Z"}),
    ]
    assert GitLabConnector.normalise(items[0]) == [
        ChangeRecord(
            sha="da1d6dea48f5972ffc683da6cff30934e7d6c52c",
            committed_at=datetime(2019, 6, 28, 5, 40, 36, tzinfo=UTC),
            title=merged[0]["title"],
            pull_request=merged[0]["web_url"],
            merged_at=datetime(2019, 6, 28, 14, 32, 6, 192000, tzinfo=UTC),
        )
    ]
    assert state["merge_requests_since"] == "2019-08-26T14:15:27.845000Z"


def test_it_fetches_incidents_by_type_and_by_label_once_each(httpserver, connector):
    # No recorded issue list exists: hand-made, with GitLab's issue field names.
    base = incremental("2019-01-01T00:00:00Z")
    by_type = fixture("issues-type-incident.handmade.json")
    serve(httpserver, "issues", by_type, {**base, "issue_type": "incident"})
    serve(
        httpserver,
        "issues",
        fixture("issues-label-incident.handmade.json"),
        {**base, "labels": "incident"},
    )
    serve_empty(httpserver, "pipelines", "deployments", "merge_requests")
    state: dict[str, Any] = {}

    items = fetch(connector, state)

    assert [(item.kind, item.payload["iid"]) for item in items] == [
        ("gitlab.issue", 7),
        ("gitlab.issue", 12),
        ("gitlab.issue", 9),
    ]
    incident = GitLabConnector.normalise(items[0])[0]
    assert incident.external_id == "merico-dev/ee/vdev.co#7"
    assert incident.resolved_at == datetime(2024, 3, 1, 11, 40, tzinfo=UTC)
    assert state["incidents_since"] == "2024-03-04T14:30:00Z"


def test_it_waits_out_a_short_rate_limit_then_succeeds(httpserver, connector, waits):
    # GitLab's 429: body "Retry later", Retry-After and RateLimit-* headers.
    headers = {"Retry-After": "2", "RateLimit-Limit": "2000", "RateLimit-Remaining": "0"}
    httpserver.expect_oneshot_request(f"{API}/pipelines").respond_with_data(
        "Retry later", status=429, headers=headers
    )
    serve_empty(httpserver, *STREAMS)

    assert fetch(connector) == []

    assert len(waits) == 1 and 0 < waits[0] <= 2
    assert [request.path for request, _ in httpserver.log][:2] == [f"{API}/pipelines"] * 2


def test_it_reports_a_missing_project_as_permanent(httpserver, connector):
    httpserver.expect_request(f"{API}/pipelines").respond_with_json(
        {"message": "404 Project Not Found"}, status=404
    )

    with pytest.raises(ConnectorError) as error:
        fetch(connector)

    assert error.value.permanent
    assert error.value.status == 404
