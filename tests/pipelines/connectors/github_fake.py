"""A fake GitHub for the fetch tests: recorded replays served from a loopback HTTPServer.

Bodies and headers (ETag, Link, X-RateLimit-*) come from the PyGithub replays in
``fixtures/github/`` (byte-for-byte copies of ``shared/ci-samples/github/``; provenance in its
SOURCES.md). There is no recording of a compare, a single commit, a pull request's commits, an
issue list or a successful deployment status: those are the ``*.handmade.json`` fixtures, shaped
after GitHub's REST reference.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from pipelines.connectors.base import (
    RawItem,
    Repository,
)
from pipelines.connectors.github import GitHubConnector

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
