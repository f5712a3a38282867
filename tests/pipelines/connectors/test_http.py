"""SourceHttp against a real loopback server: retries, timeouts and rate limits.

ETags, paging, headers and the origin guard: test_http_requests.py.

Waits go through a fake ``sleep`` that records them, except where real timing is the point.
Headers follow the recorded ``shared/ci-samples/github/*.replay.pygithub.txt`` and CI-APIS.md.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from werkzeug import Request, Response

from pipelines.connectors.http import ConnectorError, RateLimited, SourceHttp
from tests.pipelines.connectors.conftest import RUNS, closed_port

# rest-rate-limit-exceeded-403.replay.pygithub.txt, record 2 (the recording has no reset header).
GITHUB_LIMIT_403_HEADERS = {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "60"}
GITHUB_LIMIT_403_BODY = '{"message":"API Rate Limit Exceeded for 92.104.200.119"}'


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
