"""JenkinsConnector.fetch against a real HTTP server serving recorded Jenkins payloads.

Builds come from DevLake's raw rows (one ``allBuilds`` element per row, the request URL beside it)
and from ci-eye's build recordings; the tests wrap them in ``{"allBuilds": [...]}`` pages.
Normalisation is tested in ``test_jenkins_normalise.py``.
"""

from __future__ import annotations

import base64
import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from pipelines.connectors.base import ChangeRecord, JobRecord, Repository, RunStatus, SourceOptions
from pipelines.connectors.http import ConnectorError, SourceHttp
from pipelines.connectors.jenkins import BUILD_TREE, JenkinsConnector, job_path

FIXTURES = Path(__file__).parent / "fixtures" / "jenkins"
SINCE = datetime(2010, 1, 1, tzinfo=UTC)
MAIN = "github_org/devlake-jenkins/main"  # a multibranch Pipeline branch job, two folders deep
RENAMED = "这是一个改了名字的测试任务"  # a freestyle job with a non-ASCII name


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def devlake_rows(name: str, job_url_path: str) -> list[dict]:
    """The ``data`` of the recorded (not hand-made: ids below 10001) rows fetched from a job."""
    with (FIXTURES / name).open(newline="", encoding="utf-8") as rows:
        return [
            json.loads(row["data"])
            for row in csv.DictReader(rows)
            if int(row["id"]) < 10001 and f"{job_url_path}/" in unquote(row["url"]) + "/"
        ]


def main_builds() -> list[dict]:
    """Builds 4, 3, 2, 1 of the ``main`` branch job, newest first as Jenkins lists them."""
    return devlake_rows(
        "devlake-raw-jenkins-api-builds-multibranch.csv",
        "/job/github_org/job/devlake-jenkins/job/main",
    )


def renamed_builds() -> list[dict]:
    """Builds 47, 37, 27 (still building) and 17."""
    return devlake_rows("devlake-raw-jenkins-api-builds.PARTLY-SYNTHETIC.csv", f"/job/{RENAMED}")


def served(job: str, rest: str = "") -> str:
    """The path the server sees (decoded) for ``rest`` under the job."""
    return f"/{unquote(job_path(job))}{rest}"


def all_builds(start: int, end: int) -> dict[str, str]:
    return {"tree": f"allBuilds[{BUILD_TREE}]{{{start},{end}}}"}


def serve_pages(httpserver, job: str, builds: list[dict], page_size: int) -> None:
    """``builds`` in ``allBuilds`` range pages, then the empty page after them."""
    for start in range(0, len(builds) + 1, page_size):
        httpserver.expect_request(
            served(job, "api/json"), query_string=all_builds(start, start + page_size)
        ).respond_with_json({"allBuilds": builds[start : start + page_size]})


def no_pipeline_stages(httpserver) -> None:
    """Every wfapi request 404s, as on a freestyle job or without the plugin (register last)."""
    httpserver.expect_request(re.compile(r".*/wfapi/describe$")).respond_with_data(
        "Not Found", status=404
    )


def requested_ranges(httpserver) -> list[str]:
    return [
        re.search(r"\{\d+,\d+\}$", request.args["tree"]).group()
        for request, _ in httpserver.log
        if request.path.endswith("/api/json") and "tree" in request.args
        if request.args["tree"].startswith("allBuilds")
    ]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connector(httpserver, sleeps) -> JenkinsConnector:
    http = SourceHttp(httpserver.url_for("/"), auth=("user", "token"), sleep=sleeps.append)
    return JenkinsConnector(http=http, options=SourceOptions())


def fetch(connector, job: str, state: dict, *, since: datetime = SINCE, full: bool = False):
    return list(connector.fetch(Repository(job, "svc"), state=state, since=since, full=full))


def test_it_pages_all_builds_with_ranges_until_an_empty_page(httpserver, connector):
    connector.page_size = 2
    serve_pages(httpserver, MAIN, main_builds(), page_size=2)
    no_pipeline_stages(httpserver)
    state: dict = {}

    items = fetch(connector, MAIN, state)

    assert requested_ranges(httpserver) == ["{0,2}", "{2,4}", "{4,6}"]
    assert [item.payload["number"] for item in items] == [1, 2, 3, 4]  # oldest first
    assert {item.kind for item in items} == {"jenkins.build"}
    assert items[0].repository == MAIN
    assert items[0].context == {
        "job": MAIN,
        "deployment_pattern": r"(?i)deploy",
        "stages": [],
    }
    assert state == {"max_number": 4, "building": []}


def test_it_stops_paging_at_the_highest_build_number_already_stored(httpserver, connector):
    connector.page_size = 2
    serve_pages(httpserver, MAIN, main_builds(), page_size=2)
    no_pipeline_stages(httpserver)
    state = {"max_number": 2, "building": []}

    items = fetch(connector, MAIN, state)

    assert requested_ranges(httpserver) == ["{0,2}", "{2,4}"]
    assert [item.payload["number"] for item in items] == [3, 4]
    assert state["max_number"] == 4


def test_it_fetches_only_newer_builds_on_a_second_poll(httpserver, connector):
    builds = main_builds()
    serve_pages(httpserver, MAIN, builds[2:], page_size=100)  # only builds 2 and 1 exist yet
    no_pipeline_stages(httpserver)
    state: dict = {}
    assert [item.payload["number"] for item in fetch(connector, MAIN, state)] == [1, 2]

    httpserver.clear()
    serve_pages(httpserver, MAIN, builds, page_size=100)
    no_pipeline_stages(httpserver)
    items = fetch(connector, MAIN, state)

    assert [item.payload["number"] for item in items] == [3, 4]
    wfapi = [request.path for request, _ in httpserver.log if "wfapi" in request.path]
    assert wfapi == [served(MAIN, "3/wfapi/describe"), served(MAIN, "4/wfapi/describe")]
    assert state["max_number"] == 4


def test_it_rereads_the_whole_window_on_a_full_sync(httpserver, connector):
    serve_pages(httpserver, MAIN, main_builds(), page_size=100)
    no_pipeline_stages(httpserver)

    items = fetch(connector, MAIN, {"max_number": 4, "building": []}, full=True)

    assert [item.payload["number"] for item in items] == [1, 2, 3, 4]


def test_it_stops_at_builds_older_than_since(httpserver, connector):
    serve_pages(httpserver, MAIN, main_builds(), page_size=100)
    no_pipeline_stages(httpserver)
    since = datetime.fromtimestamp(1711277400, UTC)  # between builds 2 and 3

    items = fetch(connector, MAIN, {}, since=since)

    assert [item.payload["number"] for item in items] == [3, 4]


def test_it_rereads_a_building_build_until_it_finishes(httpserver, connector):
    builds = renamed_builds()
    building = next(build for build in builds if build["number"] == 27)
    assert building["building"] is True
    serve_pages(httpserver, RENAMED, builds, page_size=100)
    no_pipeline_stages(httpserver)
    state: dict = {}

    first = fetch(connector, RENAMED, state)

    assert [item.payload["number"] for item in first] == [17, 37, 47]  # finished ones only
    assert state == {"max_number": 47, "building": [27]}
    wfapi = {request.path for request, _ in httpserver.log if "wfapi" in request.path}
    assert served(RENAMED, "27/wfapi/describe") not in wfapi

    # Still building on the next poll: remembered, and nothing newer than 47 is read.
    httpserver.clear()
    serve_pages(httpserver, RENAMED, builds, page_size=100)
    httpserver.expect_request(
        served(RENAMED, "27/api/json"), query_string={"tree": BUILD_TREE}
    ).respond_with_json(building)
    no_pipeline_stages(httpserver)
    assert fetch(connector, RENAMED, state) == []
    assert state == {"max_number": 47, "building": [27]}
    assert [r.path for r, _ in httpserver.log][-1] == served(RENAMED, "27/api/json")

    # No recording shows this build once finished, so the test flips the recorded one.
    finished = {**building, "building": False}
    httpserver.clear()
    serve_pages(httpserver, RENAMED, builds, page_size=100)
    httpserver.expect_request(served(RENAMED, "27/api/json")).respond_with_json(finished)
    no_pipeline_stages(httpserver)
    last = fetch(connector, RENAMED, state)

    assert [item.payload for item in last] == [finished]
    assert JenkinsConnector.normalise(last[0])[0].status == RunStatus.SUCCESS
    assert state == {"max_number": 47, "building": []}
    assert served(RENAMED, "27/wfapi/describe") in [r.path for r, _ in httpserver.log]


def test_it_forgets_a_building_build_that_log_rotation_removed(httpserver, connector):
    serve_pages(httpserver, RENAMED, renamed_builds(), page_size=100)
    httpserver.expect_request(served(RENAMED, "5/api/json")).respond_with_data(
        "Not Found", status=404
    )
    state = {"max_number": 47, "building": [5]}

    assert fetch(connector, RENAMED, state) == []
    assert state == {"max_number": 47, "building": []}


def test_it_reads_pipeline_stages_from_wfapi(httpserver, connector):
    build = devlake_rows(
        "devlake-raw-jenkins-api-builds.PARTLY-SYNTHETIC.csv", "/job/pipeline-test2"
    )
    stages = devlake_rows(
        "devlake-raw-jenkins-api-stages-wfapi.PARTLY-SYNTHETIC.csv", "/job/pipeline-test2/1/wfapi"
    )
    serve_pages(httpserver, "pipeline-test2", build, page_size=100)
    httpserver.expect_request("/job/pipeline-test2/1/wfapi/describe").respond_with_json(
        {"id": "1", "name": "#1", "status": "SUCCESS", "stages": stages}
    )

    [item] = fetch(connector, "pipeline-test2", {})

    assert item.context["stages"] == stages
    jobs = [r for r in JenkinsConnector.normalise(item) if isinstance(r, JobRecord)]
    assert [(job.external_id, job.name, job.status) for job in jobs] == [
        ("pipeline-test2#1/9", "Hello", RunStatus.SUCCESS),
        ("pipeline-test2#1/10", "Hello", RunStatus.SUCCESS),
    ]
    assert jobs[0].run_external_id == "pipeline-test2#1"


def test_it_takes_a_404_from_wfapi_as_a_job_without_stages(httpserver, connector):
    builds = [
        recorded("build-api-json-git-changeset.jenkins-2.60.1.ci-eye.json"),
        recorded("build-api-json-empty-changeset.jenkins-2.60.1.ci-eye.json"),
    ]
    serve_pages(httpserver, "foo", builds, page_size=100)
    no_pipeline_stages(httpserver)

    items = fetch(connector, "foo", {})

    assert [(item.payload["number"], item.context["stages"]) for item in items] == [
        (1, []),
        (2, []),
    ]
    changes = [r for r in JenkinsConnector.normalise(items[1]) if isinstance(r, ChangeRecord)]
    assert [change.sha for change in changes] == ["cd90b94b651158d2ce923067bad99738b741228c"]


def test_it_puts_the_configured_deployment_pattern_in_the_context(httpserver):
    http = SourceHttp(httpserver.url_for("/"), sleep=lambda _: None)
    connector = JenkinsConnector(http=http, options=SourceOptions(deployment_pattern="(?i)ship"))
    serve_pages(httpserver, MAIN, main_builds()[:1], page_size=100)
    no_pipeline_stages(httpserver)

    [item] = fetch(connector, MAIN, {"max_number": 3})

    assert item.context["deployment_pattern"] == "(?i)ship"


def test_it_raises_a_permanent_error_for_a_job_that_is_not_there(httpserver, connector, sleeps):
    httpserver.expect_request("/job/gone/api/json").respond_with_data("Not Found", status=404)

    with pytest.raises(ConnectorError) as raised:
        fetch(connector, "gone", {})

    assert (raised.value.permanent, raised.value.status) == (True, 404)
    assert sleeps == []  # not retried


def test_it_raises_a_permanent_error_for_a_folder(httpserver, connector):
    httpserver.expect_request("/job/github_org/api/json").respond_with_json({"jobs": []})

    with pytest.raises(ConnectorError, match="not a job") as raised:
        fetch(connector, "github_org", {})

    assert raised.value.permanent


def test_it_sends_the_token_as_basic_auth(httpserver):
    headers, auth = JenkinsConnector.auth_headers("user:11f0c0ffee:with-colon")
    assert (headers, auth) == ({}, ("user", "11f0c0ffee:with-colon"))
    http = SourceHttp(httpserver.url_for("/"), headers=headers, auth=auth, sleep=lambda _: None)
    connector = JenkinsConnector(http=http, options=SourceOptions())
    serve_pages(httpserver, MAIN, [], page_size=100)

    assert fetch(connector, MAIN, {}) == []

    [(request, _)] = httpserver.log
    expected = base64.b64encode(b"user:11f0c0ffee:with-colon").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


@pytest.mark.parametrize("token", ["11f0c0ffee", ":11f0c0ffee", "user:"])
def test_it_rejects_a_token_that_is_not_user_colon_api_token(token):
    with pytest.raises(ValueError, match="user:apitoken"):
        JenkinsConnector.auth_headers(token)


@pytest.mark.parametrize(
    ("full_name", "path"),
    [
        ("foo", "job/foo/"),
        ("team/app/main", "job/team/job/app/job/main/"),
        ("Test Workflow", "job/Test%20Workflow/"),
        ("org/repo/feature%2Fx", "job/org/job/repo/job/feature%252Fx/"),  # multibranch encoding
    ],
)
def test_it_quotes_each_folder_segment_of_the_job_path(full_name, path):
    assert job_path(full_name) == path


def test_it_quotes_a_job_name_as_the_recorded_request_did():
    with (FIXTURES / "devlake-raw-jenkins-api-builds.PARTLY-SYNTHETIC.csv").open() as rows:
        url = next(row["url"] for row in csv.DictReader(rows) if row["id"] == "121")

    assert urlsplit(url).path == f"/{job_path(RENAMED)}api/json"
