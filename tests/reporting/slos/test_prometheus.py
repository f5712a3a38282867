"""SLOs measured by Prometheus, against a fake Prometheus HTTP API on loopback: the range
queries asked, the numbers computed from the matrix, and every way a server can fail, each
kept as a readable error on the SLO (never a 500)."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from werkzeug import Response

from reporting.slos.models import Slo
from reporting.slos.services import slo_create, slo_evaluate, slos_evaluate
from tests.pipelines.connectors.conftest import closed_port
from tests.reporting.slos.conftest import (
    QUERY_RANGE,
    TOKEN,
    matrix,
    now_minute,
    serve_good_fraction,
)

QUERY = 'sum(rate(http_requests_total{code!~"5.."}[5m])) / sum(rate(http_requests_total[5m]))'


@pytest.fixture
def make_slo(org, service, prometheus):
    def make(**fields) -> Slo:
        fields = {
            "name": "Requests",
            "objective": 99.9,
            "measurement": Slo.Measurement.PROMETHEUS,
            "prometheus_source": prometheus,
            "query": QUERY,
            **fields,
        }
        return slo_create(actor=org.users["lee"], service=service, **fields)

    return make


def test_it_asks_the_window_and_the_burn_windows_with_the_bearer_token(make_slo, httpserver):
    now = now_minute()
    end = now.timestamp()
    # The last 10 one-minute steps have 98 % good requests, everything before 100 %.
    asked = serve_good_fraction(
        httpserver,
        lambda t: 0.98 if t > end - 600 else 1.0,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    slo = slo_evaluate(slo=make_slo(), now=now)

    assert [(a["step"], float(a["end"]) - float(a["start"])) for a in asked] == [
        ("300", 28 * 86400),  # the SLO window in 5-minute steps (8,064 points)
        ("60", 3 * 86400),  # the longest burn window in 1-minute steps (4,320 points)
    ]
    assert {a["query"] for a in asked} == {QUERY}
    assert float(asked[0]["end"]) == end
    # Burn rates (bad / 0.001), by hand: 5m: 5 steps at 0.02 bad -> 20; 30m: 10 of 30 steps
    # -> 0.2 / 30 / 0.001 = 6.67; 1h: 0.2 / 60 -> 3.33; 6h: 0.2 / 360 -> 0.556; 3d: 0.2 / 4320.
    assert slo.burn_rates == pytest.approx(
        {"5m": 20, "30m": 20 / 3, "1h": 10 / 3, "6h": 5 / 9, "3d": 0.2 / 4.32}
    )
    # The window: 2 of its 8,064 five-minute steps (end, end - 300) are 0.02 bad.
    assert slo.sli == pytest.approx(1 - 0.04 / 8064)
    assert slo.budget_remaining == pytest.approx(1 - 0.04 / 8064 / 0.001)
    # 30m (6.67) exceeds 5.6 but 6h (0.556) does not; 1h (3.33) is under 13.44: no alert.
    assert slo.level == Slo.Level.OK
    assert slo.last_error == ""
    assert slo.evaluated_at == now


def test_a_fast_burn_in_prometheus_pages(make_slo, httpserver):
    now = now_minute()
    end = now.timestamp()
    serve_good_fraction(httpserver, lambda t: 0.5 if t > end - 7200 else 1.0)
    slo = slo_evaluate(slo=make_slo(), now=now)
    # Half the requests failing for two hours: 5m, 30m and 1h burn at 0.5 / 0.001 = 500.
    assert slo.burn_rates["1h"] == pytest.approx(500)
    assert slo.level == Slo.Level.PAGE
    # 3d: 0.5 x 120 / 4320 / 0.001 = 13.9 and 6h: 166.7, both above 0.933: a ticket too.
    assert {alert.level for alert in slo.alerts.all()} == {"page", "ticket"}


def test_a_user_password_token_is_sent_as_basic_auth(make_slo, prometheus, httpserver):
    prometheus.set_token("grafana:s3cret")
    prometheus.save()
    basic = base64.b64encode(b"grafana:s3cret").decode()
    serve_good_fraction(httpserver, lambda t: 1.0, headers={"Authorization": f"Basic {basic}"})
    slo = slo_evaluate(slo=make_slo(), now=now_minute())
    assert slo.last_error == ""
    assert slo.sli == 1.0


def test_a_latency_query_counts_steps_over_the_threshold_as_bad(make_slo, httpserver):
    now = now_minute()
    end = now.timestamp()
    # p95 at 250 ms, but 450 ms over the last 10 minutes: those steps are bad.
    serve_good_fraction(httpserver, lambda t: 0.45 if t > end - 600 else 0.25)
    slo = make_slo(
        name="Latency",
        kind=Slo.Kind.LATENCY,
        objective=99,
        latency_threshold_ms=300,
        query="histogram_quantile(0.95, sum by (le) (rate(latency_bucket[5m])))",
        query_result=Slo.QueryResult.LATENCY,
    )
    slo = slo_evaluate(slo=slo, now=now)
    # Budget 0.01: 5m all bad -> 100; 1h 10 of 60 -> 16.67 > 13.44: page.
    assert slo.burn_rates["5m"] == pytest.approx(100)
    assert slo.burn_rates["1h"] == pytest.approx(100 / 6)
    assert slo.level == Slo.Level.PAGE


def _answer(status: int, body, content_type="application/json", headers=None):
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status=status, content_type=content_type, headers=headers)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            _answer(400, {"status": "error", "errorType": "bad_data",
                          "error": 'invalid parameter "query": 1:5: parse error: unexpected'}),
            'Prometheus refused the query (bad_data): invalid parameter "query": 1:5: parse',
        ),
        (
            _answer(422, {"status": "error", "errorType": "execution",
                          "error": "many-to-many matching not allowed"}),
            "Prometheus refused the query (execution): many-to-many matching not allowed",
        ),
        (
            _answer(503, {"status": "error", "errorType": "timeout",
                          "error": "query timed out in expression evaluation"}),
            "Prometheus refused the query (timeout): query timed out in expression evaluation",
        ),
        (_answer(401, "Unauthorized", "text/plain"), "answered 401: the token is missing"),
        (_answer(404, "404 page not found", "text/plain"), "no Prometheus API at this base URL"),
        (_answer(502, "<html>Bad gateway</html>", "text/html"), "answered 502."),
        (
            _answer(200, "<html>Grafana</html>", "text/html"),
            "answered something that is not a Prometheus API response",
        ),
        (
            _answer(302, "", "text/plain", {"Location": "https://sso.example.com/login"}),
            "redirects (302) to https://sso.example.com/login",
        ),
        (
            _answer(200, {"status": "success", "data": {"resultType": "vector", "result": []}}),
            "The query gave a vector, not a range of values (matrix).",
        ),
        (
            _answer(200, {"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"code": "200"}, "values": [[1, "0.5"]]},
                {"metric": {"code": "500"}, "values": [[1, "0.5"]]},
            ]}}),
            'The query gave 2 series ({code="200"}, ...), not one: aggregate it',
        ),
        (
            _answer(200, matrix([(1.0, 42.0)])),
            "The query gave 42, not a fraction between 0 and 1",
        ),
    ],
)  # fmt: skip
def test_a_failing_answer_is_kept_as_a_readable_error_and_the_numbers_stay(
    make_slo, httpserver, api_client_for, org, response, expected
):
    now = now_minute()
    serve_good_fraction(httpserver, lambda t: 1.0)
    slo = slo_evaluate(slo=make_slo(), now=now - timedelta(minutes=5))
    assert slo.sli == 1.0
    httpserver.clear()
    httpserver.expect_request(QUERY_RANGE).respond_with_response(response)

    slo = slo_evaluate(slo=slo, now=now)

    assert expected in slo.last_error
    assert slo.last_error_at == now
    assert slo.is_failing
    assert slo.sli == 1.0  # the last good numbers stay, marked as old
    assert slo.evaluated_at == now - timedelta(minutes=5)
    answer = api_client_for(org.users["sam"]).get(f"/api/v1/slos/{slo.slug}/")
    assert answer.status_code == 200
    assert expected in answer.json()["status"]["error"]


def test_a_server_that_does_not_answer_in_time_is_an_error(make_slo, httpserver, settings):
    settings.SLO_PROMETHEUS_TIMEOUT = (1.0, 0.3)

    def slow(request):
        time.sleep(1.0)
        return Response(json.dumps(matrix([])), content_type="application/json")

    httpserver.expect_request(QUERY_RANGE).respond_with_handler(slow)
    slo = slo_evaluate(slo=make_slo(), now=now_minute())
    assert "did not answer within 0.3 s (timed out)" in slo.last_error
    assert slo.evaluated_at is None


def test_a_server_that_is_down_is_an_error(make_slo, prometheus):
    prometheus.base_url = f"http://127.0.0.1:{closed_port()}/"
    prometheus.save()
    slo = slo_evaluate(slo=make_slo(), now=now_minute())
    assert slo.last_error.startswith("Could not reach Prometheus at http://127.0.0.1:")


def test_a_deleted_source_is_an_error_not_a_crash(make_slo, prometheus):
    slo = make_slo()
    prometheus.delete()
    slo = slo_evaluate(slo=Slo.objects.get(pk=slo.pk), now=now_minute())
    assert slo.last_error == "No Prometheus source: choose one for this SLO."


def test_no_series_is_no_data(make_slo, httpserver):
    httpserver.expect_request(QUERY_RANGE).respond_with_json(
        {"status": "success", "data": {"resultType": "matrix", "result": []}}
    )
    slo = slo_evaluate(slo=make_slo(), now=now_minute())
    assert slo.last_error == ""
    assert slo.sli is None
    assert slo.budget_remaining is None
    assert slo.level == Slo.Level.OK


def test_beat_evaluates_each_slo_once_a_minute(make_slo, httpserver):
    now = now_minute()
    asked = serve_good_fraction(httpserver, lambda t: 1.0)
    make_slo()
    assert slos_evaluate(now=now)["evaluated"] == 1
    # A second run in the same minute finds it claimed: Prometheus is not asked again.
    assert slos_evaluate(now=now + timedelta(seconds=30))["evaluated"] == 0
    assert len(asked) == 2
    assert slos_evaluate(now=now + timedelta(seconds=60))["evaluated"] == 1
    assert len(asked) == 4


def test_an_older_measurement_does_not_overwrite_a_newer_one(make_slo, httpserver):
    now = now_minute()
    end = now.timestamp()
    serve_good_fraction(httpserver, lambda t: 0.5 if t > end - 600 else 1.0)
    slo = slo_evaluate(slo=make_slo(), now=now)
    burning = slo.burn_rates
    slo = slo_evaluate(slo=slo, now=now - timedelta(minutes=30))  # a slow answer, late
    assert slo.evaluated_at == now
    assert slo.burn_rates == burning


def test_the_server_is_asked_only_at_its_own_origin(make_slo, prometheus, httpserver):
    prometheus.base_url = "ftp://prometheus.example.com/"
    prometheus.save()
    slo = slo_evaluate(slo=make_slo(), now=now_minute())
    assert "base URL must be http(s)" in slo.last_error
