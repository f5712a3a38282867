"""The DORA dashboard and the trend endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.reporting.test_dora_api import lee  # noqa: F401 (the pushed hand-computed world)
from tests.reporting.test_health_api import runs  # noqa: F401 (two stored runs, flaky tests)


def test_the_trend_cuts_the_range_into_weeks_and_agrees_with_the_totals(lee):  # noqa: F811
    body = lee.get(
        "/api/v1/metrics/dora/trend/?service=cart-api&start=2026-02-23&end=2026-03-08&bucket=week"
    ).json()

    # Monday 23 Feb - Sunday 1 Mar, then Monday 2 - Sunday 8 Mar.
    assert [(p["start"], p["end"]) for p in body["points"]] == [
        ("2026-02-23", "2026-03-01"),
        ("2026-03-02", "2026-03-08"),
    ]
    # D1 (28 Feb) and D2 (1 Mar) in the first week; D5 (2 Mar 23:30 UTC) and D6 (3 Mar) after.
    assert [p["deployment_frequency"]["count"] for p in body["points"]] == [2, 2]


def test_months_are_calendar_months(lee):  # noqa: F811
    body = lee.get(
        "/api/v1/metrics/dora/trend/?start=2026-02-15&end=2026-03-10&bucket=month"
    ).json()

    assert [(p["start"], p["end"]) for p in body["points"]] == [
        ("2026-02-15", "2026-02-28"),
        ("2026-03-01", "2026-03-10"),
    ]


def test_a_bad_bucket_is_a_400(lee):  # noqa: F811
    assert lee.get("/api/v1/metrics/dora/trend/?bucket=day").status_code == 400


@pytest.mark.parametrize("query", ["", "?team=checkout", "?service=cart-api&days=365"])
def test_the_dashboard_renders_each_level_with_drill_down_links(client_for, service, query):
    response = client_for("lee").get(f"/metrics/{query}")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Deployment frequency" in content and "/deployments/?" in content
    assert "vendor/plotly.min.js" in content
    assert "/metrics/explain/?" in content and "/metrics/pipelines/?" in content


def test_an_unknown_or_foreign_scope_is_a_404(client_for, service):
    assert client_for("lee").get("/metrics/?team=nope").status_code == 404
    assert client_for("kim").get("/metrics/?service=cart-api").status_code == 404


def test_plotly_js_comes_from_the_installed_package_not_a_cdn():
    from django.contrib.staticfiles import finders

    found = finders.find("vendor/plotly.min.js")

    assert found is not None and found.endswith("plotly/package_data/plotly.min.js")
    from reporting.finders import PlotlyFinder

    assert [path for path, _ in PlotlyFinder().list([])] == ["plotly.min.js"]


def test_the_explanation_says_why_each_deployment_counts(lee, client_for):  # noqa: F811
    # The world of test_dora_api.py seen on 10 March 2026 over 30 days: D1, D2, D5, D6 count.
    with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False):
        response = client_for("lee").get("/metrics/explain/?service=cart-api&days=30")

    content = response.content.decode()
    assert response.status_code == 200
    assert "4 counted deployments" in content
    assert "I3 attributed explicit; recovered in" in content  # named D1 itself
    assert "I1 attributed by time; recovered in 1.5 h" in content  # D2 at 10:00 -> 11:30
    assert "I2 attributed by time; still open" in content
    assert "I2 open" in content and "I4 open" in content  # D5 and D1 finished during them


def test_the_explanation_of_an_unknown_scope_is_a_404(client_for, service):
    assert client_for("lee").get("/metrics/explain/?team=nope").status_code == 404


def test_the_pipeline_health_page_lists_slowest_and_flaky_jobs(client_for, runs):  # noqa: F811
    # The two runs of test_health_api.py (2 March 2026), seen on 5 March over 30 days.
    with time_machine.travel(datetime(2026, 3, 5, 12, 0, tzinfo=UTC), tick=False):
        content = client_for("mo").get("/metrics/pipelines/?service=cart-api").content.decode()

    assert "50.0 %" in content and "of 2 finished runs" in content
    assert "<td>tests</td><td>20 min</td><td>2</td>" in content  # median of 25 and 15 min
    assert "tests <span" in content  # flaky on the shared commit


def test_the_pipeline_health_page_of_an_unknown_scope_is_a_404(client_for, service):
    assert client_for("mo").get("/metrics/pipelines/?team=nope").status_code == 404
