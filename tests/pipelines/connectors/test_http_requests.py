"""SourceHttp against a real loopback server: ETags, paging, headers, JSON, and the origin guard.

Retries, timeouts and rate limits: test_http.py.
"""

from __future__ import annotations

import re

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipelines.connectors.http import ConnectorError, SourceHttp
from tests.pipelines.connectors.conftest import RUNS, closed_port

OTHER_ORIGINS = ["http://127.0.0.2:{port}/steal", "http://example.invalid/steal"]


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
