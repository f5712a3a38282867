"""GitHubConnector.fetch of deployments (and their commits), pull requests and incidents,
against a fake GitHub answering with recordings (github_fake.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    IncidentRecord,
    RunStatus,
    SourceOptions,
)
from pipelines.connectors.github import GitHubConnector
from tests.pipelines.connectors.github_fake import (
    API,
    BASE_SHA,
    PAGE,
    PRODUCTION_SHA,
    fetch,
    load,
    records,
    replay,
    serve,
    serve_deployments,
    serve_quiet,
)


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
