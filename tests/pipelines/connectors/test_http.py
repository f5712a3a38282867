"""SourceHttp against a real loopback server: retries, timeouts, rate limits, ETags, paging, origin.

Waits go through a fake ``sleep`` that records them, except where real timing is the point.
Headers follow the recorded ``shared/ci-samples/github/*.replay.pygithub.txt`` and CI-APIS.md.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipelines.connectors.http import ConnectorError, RateLimited, SourceHttp

RUNS = "/repos/octo/app/actions/runs"
OTHER_ORIGINS = ["http://127.0.0.2:{port}/steal", "http://example.invalid/steal"]

# rest-rate-limit-exceeded-403.replay.pygithub.txt, record 2 (the recording has no reset header).
GITHUB_LIMIT_403_HEADERS = {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "60"}
GITHUB_LIMIT_403_BODY = '{"message":"API Rate Limit Exceeded for 92.104.200.119"}'


@pytest.fixture
def waits() -> list[float]:
    """What the client asked to sleep, in order (the fake ``sleep`` appends here)."""
    return []


@pytest.fixture
def make_http(httpserver: HTTPServer, waits: list[float]):
    def make(**options) -> SourceHttp:
        return SourceHttp(httpserver.url_for("/"), sleep=waits.append, **options)

    return make


@pytest.fixture(scope="module")
def elsewhere():
    server = HTTPServer(host="127.0.0.2")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def other(elsewhere: HTTPServer) -> HTTPServer:
    """Another origin that answers everything, so a request that reaches it shows in its log."""
    elsewhere.clear()
    elsewhere.expect_request(re.compile(".*")).respond_with_data("stolen")
    return elsewhere


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def at(seconds_from_now: int) -> int:
    return int(time.time()) + seconds_from_now


def test_it_retries_5xx_with_growing_backoff_and_succeeds_on_the_third_try(
    httpserver, make_http, waits
):
    httpserver.expect_ordered_request(RUNS).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(RUNS).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(RUNS).respond_with_json({"total_count": 0})
    http = make_http()

    response = http.get(RUNS)

    assert response.json() == {"total_count": 0}
    assert http.requests_made == len(httpserver.log) == 3
    # backoff 0.5 s doubling, plus up to 100 % jitter: [0.5, 1.0] then [1.0, 2.0]
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1.0 <= waits[1] <= 2.0
    assert waits[1] > waits[0]
    httpserver.check_assertions()


def test_it_raises_a_transient_error_when_5xx_outlasts_the_retries(httpserver, make_http, waits):
    httpserver.expect_request(RUNS).respond_with_data("busy", status=503)
    http = make_http(retries=1)

    with pytest.raises(ConnectorError) as caught:
        http.get(RUNS)

    assert type(caught.value) is ConnectorError
    assert caught.value.permanent is False
    assert caught.value.status == 503
    assert http.requests_made == len(httpserver.log) == 2
    assert len(waits) == 1


def test_it_retries_a_refused_connection_then_raises_a_transient_error(waits):
    http = SourceHttp(f"http://127.0.0.1:{closed_port()}/", sleep=waits.append, retries=2)

    with pytest.raises(ConnectorError) as caught:
        http.get(RUNS)

    assert caught.value.permanent is False
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert http.requests_made == 3
    assert len(waits) == 2


def test_it_gives_up_on_a_stalled_read_within_the_read_timeout(httpserver):
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(3)  # a server that sits on the request for 3 s
        return Response("late")

    httpserver.expect_request(RUNS).respond_with_handler(stall)
    http = SourceHttp(httpserver.url_for("/"), timeout=(1, 1), retries=0)

    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        http.get(RUNS)
    elapsed = time.monotonic() - started
    release.set()  # the server is single-threaded: let it finish before the next test
    while not httpserver.log and time.monotonic() < started + 5:
        time.sleep(0.01)

    assert 0.9 <= elapsed < 2.5
    assert caught.value.permanent is False
    assert http.requests_made == len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "Bad credentials"), (403, "Resource not accessible by integration"), (404, "Not Found")],
)
def test_it_treats_401_403_and_404_as_permanent_without_retrying(
    httpserver, make_http, waits, status, message
):
    httpserver.expect_request(RUNS).respond_with_json({"message": message}, status=status)
    http = make_http()

    with pytest.raises(ConnectorError) as caught:
        http.get(RUNS)

    assert type(caught.value) is ConnectorError
    assert caught.value.permanent is True
    assert caught.value.status == status
    assert http.requests_made == len(httpserver.log) == 1
    assert waits == []


@pytest.mark.parametrize(
    ("headers", "shortest", "longest"),
    [
        ({"Retry-After": "2"}, 1.9, 2),
        # GitLab's 429 without Retry-After: RateLimit-Reset is a Unix time.
        (
            {"RateLimit-Limit": "2000", "RateLimit-Remaining": "0", "RateLimit-Reset": "{in_5s}"},
            3.9,
            5,
        ),
    ],
    ids=["retry-after", "gitlab-ratelimit-reset"],
)
def test_it_sleeps_through_a_short_rate_limit_then_retries(
    httpserver, make_http, waits, headers, shortest, longest
):
    headers = {name: value.format(in_5s=at(5)) for name, value in headers.items()}
    httpserver.expect_ordered_request(RUNS).respond_with_data(
        "Retry later\n", status=429, headers=headers
    )
    httpserver.expect_ordered_request(RUNS).respond_with_json({"total_count": 1})
    http = make_http()

    assert http.get(RUNS).json() == {"total_count": 1}
    assert len(waits) == 1
    assert shortest <= waits[0] <= longest
    assert http.requests_made == len(httpserver.log) == 2


def test_it_raises_rate_limited_for_a_retry_after_beyond_max_wait(httpserver, make_http, waits):
    httpserver.expect_request(RUNS).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3600"}
    )
    http = make_http()

    with pytest.raises(RateLimited) as caught:
        http.get(RUNS)

    expected = datetime.now(UTC) + timedelta(hours=1)
    assert abs((caught.value.resume_at - expected).total_seconds()) < 5
    assert caught.value.permanent is False
    assert http.requests_made == len(httpserver.log) == 1
    assert waits == []


@pytest.mark.parametrize("reset_in", [120, None], ids=["with-reset", "as-recorded"])
def test_it_stops_until_the_reset_on_githubs_rate_limit_403(httpserver, make_http, waits, reset_in):
    # The recording has no x-ratelimit-reset: GitHub then says "wait at least one minute".
    reset = at(reset_in) if reset_in else None
    headers = GITHUB_LIMIT_403_HEADERS | ({"x-ratelimit-reset": str(reset)} if reset else {})
    httpserver.expect_request(RUNS).respond_with_data(
        GITHUB_LIMIT_403_BODY, status=403, headers=headers
    )
    http = make_http(max_wait=30)

    with pytest.raises(RateLimited) as caught:
        http.get(RUNS)

    if reset:
        assert caught.value.resume_at == datetime.fromtimestamp(reset, UTC)
    else:
        expected = datetime.now(UTC) + timedelta(seconds=60)
        assert abs((caught.value.resume_at - expected).total_seconds()) < 5
    assert caught.value.permanent is False
    assert http.requests_made == len(httpserver.log) == 1
    assert waits == []


@pytest.mark.parametrize("status", [200, 404])
def test_it_blocks_the_next_request_when_a_response_says_the_quota_is_spent(
    httpserver, make_http, status
):
    # A 404 counts too: the caller marks that repository and moves on to the next one.
    reset = at(3600)
    spent = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    httpserver.expect_request("/repos/octo/a").respond_with_json({}, status=status, headers=spent)
    httpserver.expect_request("/repos/octo/b").respond_with_json({})
    http = make_http()
    with contextlib.suppress(ConnectorError):
        http.get("/repos/octo/a")

    with pytest.raises(RateLimited) as caught:
        http.get("/repos/octo/b")

    assert caught.value.resume_at == datetime.fromtimestamp(reset, UTC)
    assert http.requests_made == len(httpserver.log) == 1


def test_it_sends_the_stored_etag_and_reports_a_304_as_not_modified(httpserver, make_http):
    httpserver.expect_ordered_request(RUNS, query_string="per_page=100").respond_with_json(
        {"total_count": 3}, headers={"ETag": 'W/"abc"'}
    )
    httpserver.expect_ordered_request(
        RUNS, query_string="per_page=100", headers={"If-None-Match": 'W/"abc"'}
    ).respond_with_data("", status=304, headers={"ETag": 'W/"abc"'})
    http = make_http()

    first = http.get(RUNS, {"per_page": 100}, conditional=True)
    second = http.get(RUNS, {"per_page": 100}, conditional=True)

    assert first.status == 200
    assert not first.not_modified
    assert http.etags == {httpserver.url_for(RUNS) + "?per_page=100": 'W/"abc"'}
    assert second.not_modified is True
    sent = [request.headers.get("If-None-Match") for request, _ in httpserver.log]
    assert sent == [None, 'W/"abc"']
    httpserver.check_assertions()


def test_it_ends_pages_at_a_304_on_the_first_page(httpserver, make_http):
    url = httpserver.url_for(RUNS) + "?per_page=100"
    httpserver.expect_request(
        RUNS, query_string="per_page=100", headers={"If-None-Match": 'W/"abc"'}
    ).respond_with_data("", status=304, headers={"Link": f'<{url}&page=2>; rel="next"'})
    http = make_http(etags={url: 'W/"abc"'})

    pages = list(http.pages(RUNS, {"per_page": 100}, conditional_first=True))

    assert [page.status for page in pages] == [304]
    assert pages[0].not_modified is True
    assert http.requests_made == len(httpserver.log) == 1


def test_it_follows_link_next_to_the_last_page(httpserver, make_http):
    url = httpserver.url_for(RUNS) + "?exclude_pull_requests=1"
    links = {  # GitHub's order: prev, next, last, first
        "1": f'<{url}&page=2>; rel="next", <{url}&page=3>; rel="last"',
        "2": f'<{url}&page=1>; rel="prev", <{url}&page=3>; rel="next", '
        f'<{url}&page=3>; rel="last", <{url}&page=1>; rel="first"',
        "3": f'<{url}&page=2>; rel="prev", <{url}&page=1>; rel="first"',
    }
    for page, link in links.items():
        query = {"exclude_pull_requests": "1"} | ({"page": page} if page != "1" else {})
        httpserver.expect_request(RUNS, query_string=query).respond_with_json(
            {"page": int(page)}, headers={"Link": link}
        )
    http = make_http()

    pages = list(http.pages(RUNS, {"exclude_pull_requests": 1}))

    assert [page.json() for page in pages] == [{"page": 1}, {"page": 2}, {"page": 3}]
    assert pages[-1].next_url is None
    assert [request.args.get("page") for request, _ in httpserver.log] == [None, "2", "3"]
    assert http.requests_made == len(httpserver.log) == 3


@pytest.mark.parametrize(
    ("options", "authorization"),
    [
        ({"headers": {"Authorization": "Bearer x"}}, "Bearer x"),
        ({"auth": ("robot", "s3cret")}, "Basic cm9ib3Q6czNjcmV0"),
    ],
)
def test_it_sends_params_and_auth_on_every_request_including_later_pages(
    httpserver, make_http, options, authorization
):
    url = httpserver.url_for(RUNS)
    httpserver.expect_request(RUNS, query_string={"status": "completed"}).respond_with_json(
        [1], headers={"Link": f'<{url}?status=completed&page=2>; rel="next"'}
    )
    httpserver.expect_request(
        RUNS, query_string={"status": "completed", "page": "2"}
    ).respond_with_json([2])
    http = make_http(**options)

    assert [page.json() for page in http.pages(RUNS, {"status": "completed"})] == [[1], [2]]

    received = [request for request, _ in httpserver.log]
    assert [request.args.get("status") for request in received] == ["completed", "completed"]
    assert [request.headers.get("Authorization") for request in received] == [authorization] * 2


def test_it_sends_a_flightdeck_user_agent(httpserver, make_http):
    # GitHub asks every client to name itself; requests' own "python-requests/x.y" is not us.
    httpserver.expect_request(RUNS).respond_with_json([])

    make_http().get(RUNS)

    assert httpserver.log[0][0].headers["User-Agent"] == "Flightdeck/1.0"


def test_it_raises_a_permanent_error_on_a_200_whose_body_is_not_json(httpserver, make_http):
    httpserver.expect_request(RUNS).respond_with_data("{not json", content_type="application/json")
    http = make_http()
    response = http.get(RUNS)

    with pytest.raises(ConnectorError) as caught:
        response.json()

    assert caught.value.permanent is True
    assert caught.value.status == 200
    with pytest.raises(ConnectorError):
        http.get_json(RUNS)


@pytest.mark.parametrize("target", OTHER_ORIGINS)
@pytest.mark.parametrize(
    ("status", "header", "value"), [(200, "Link", '<{}>; rel="next"'), (302, "Location", "{}")]
)
def test_it_refuses_a_next_link_or_redirect_to_another_origin(
    httpserver, make_http, other, target, status, header, value
):
    target = target.format(port=other.port)
    httpserver.expect_request(RUNS).respond_with_json(
        [1], status=status, headers={header: value.format(target)}
    )
    http = make_http()

    with pytest.raises(ConnectorError) as caught:
        list(http.pages(RUNS))

    assert caught.value.permanent is True
    assert http.requests_made == len(httpserver.log) == 1
    assert other.log == []


def test_it_follows_a_redirect_on_the_same_origin(httpserver, make_http):
    httpserver.expect_request("/repos/octo/old").respond_with_data(
        "", status=302, headers={"Location": "/repos/octo/app"}
    )
    httpserver.expect_request("/repos/octo/app").respond_with_json({"name": "app"})
    http = make_http(headers={"Authorization": "Bearer x"})

    response = http.get("/repos/octo/old")

    assert response.json() == {"name": "app"}
    assert response.url == httpserver.url_for("/repos/octo/app")
    assert [request.path for request, _ in httpserver.log] == ["/repos/octo/old", "/repos/octo/app"]
    assert httpserver.log[1][0].headers["Authorization"] == "Bearer x"
    assert http.requests_made == 2


def test_it_stops_following_a_same_origin_redirect_loop(httpserver, make_http):
    def loop(request: Request) -> Response:  # redirects to itself 30 times, then gives in
        if len(httpserver.log) >= 30:
            return Response("finally")
        return Response("", status=302, headers={"Location": "/loop"})

    httpserver.expect_request("/loop").respond_with_handler(loop)
    http = make_http()

    with pytest.raises(ConnectorError) as caught:
        http.get("/loop")

    assert caught.value.permanent is True
    assert http.requests_made == len(httpserver.log) <= 11


@pytest.mark.parametrize(
    "url",
    [
        "http://example.invalid/repos",
        "http://127.0.0.2:{port}/repos",
        "https://localhost:{port}/repos",
        "http://localhost:{closed_port}/repos",
        "http://localhost:{port}@example.invalid/repos",
    ],
)
def test_it_refuses_a_url_outside_the_origin_before_sending(httpserver, make_http, other, url):
    url = url.format(port=httpserver.port, closed_port=closed_port())
    http = make_http()

    with pytest.raises(ConnectorError) as caught:
        http.get(url)

    assert caught.value.permanent is True
    assert http.requests_made == 0
    assert httpserver.log == other.log == []


@pytest.mark.parametrize("base_url", ["file:///etc/passwd", "ftp://ftp.example.com/pub/"])
def test_it_refuses_a_base_url_that_is_not_http(base_url):
    with pytest.raises(ConnectorError) as caught:
        SourceHttp(base_url)

    assert caught.value.permanent is True


def test_it_honours_a_retry_after_given_as_an_http_date(httpserver):
    from email.utils import format_datetime

    resume = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    httpserver.expect_request("/limited").respond_with_data(
        "slow down", status=429, headers={"Retry-After": format_datetime(resume, usegmt=True)}
    )
    http = SourceHttp(httpserver.url_for("/"), sleep=lambda seconds: None)

    with pytest.raises(RateLimited) as raised:
        http.get("limited")

    assert raised.value.resume_at == resume
