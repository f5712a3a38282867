"""The Content-Security-Policy in a real browser: Chromium reports every script, style or
frame the policy blocks on the console. Over the demo's main pages (charts drawn by plotly.js,
htmx fragments, Swagger UI) nothing may be blocked and every chart must still draw."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from maturity.models import Assessment
from portal.demo import DEMO_PASSWORD
from portal.models import Service

pytestmark = pytest.mark.e2e

PLOT = ".chart.js-plotly-plot .main-svg"  # plotly.js marks the element it has drawn into


@pytest.fixture
def demo(transactional_db):
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def _pages() -> list[tuple[str, bool]]:
    """(path, draws a chart) for the main pages of the demo."""
    service = Service.objects.order_by("slug").first()
    assessment = Assessment.objects.order_by("slug").first()
    return [
        ("/", False),
        ("/metrics/", True),  # its charts arrive as htmx fragments
        ("/metrics/pipelines/", False),
        (f"/services/{service.slug}/", False),
        ("/roadmap/", True),
        ("/maturity/", True),
        (f"/maturity/assessments/{assessment.slug}/", True),
        ("/radar/", True),
        ("/pipelines/policies/", True),
        ("/metrics/slos/", False),
        ("/incidents/", False),
        ("/sources/new/", False),
        ("/api/docs/", False),
    ]


def test_no_page_trips_the_content_security_policy_and_charts_still_draw(
    page, portal_url, sign_in, demo
):
    violations, errors = [], []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and violations.append(f"{page.url}: {message.text}")
        ),
    )
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    sign_in("ada", DEMO_PASSWORD)
    expect(page).to_have_title("Home · Flightdeck")

    pages = _pages()
    charts = 0
    for path, draws_a_chart in pages:
        response = page.goto(portal_url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        if draws_a_chart:
            expect(page.locator(PLOT).first).to_be_visible(timeout=15_000)
            charts += page.locator(PLOT).count()
        page.wait_for_load_state("networkidle")
    # Swagger UI drew the API from the schema (its start-up script is a file, not inline).
    page.goto(portal_url + "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Flightdeck API")

    print(
        f"\n{len(pages)} pages in Chromium: {len(violations)} CSP violations, "
        f"{len(errors)} script errors, {charts} charts drawn"
    )
    assert violations == []
    assert errors == []
    assert charts >= 6


def test_the_scripts_moved_out_of_the_templates_still_work(page, portal_url, sign_in, demo):
    sign_in("ada", DEMO_PASSWORD)

    # The CI source form shows only the fields of the chosen kind.
    page.goto(portal_url + "/sources/new/")
    kind = page.locator("#id_kind")
    hidden = "#source-form [data-kinds][hidden] label"
    kind.select_option("jenkins")
    hidden_for_jenkins = page.locator(hidden).all_inner_texts()
    kind.select_option("alertmanager")
    hidden_for_alertmanager = page.locator(hidden).all_inner_texts()
    assert hidden_for_jenkins and hidden_for_alertmanager
    assert hidden_for_jenkins != hidden_for_alertmanager

    # Choosing a capability on the maturity page submits its form.
    page.goto(portal_url + "/maturity/")
    capability = page.locator("#id_capability")
    other = capability.locator("option:not([selected])").first.get_attribute("value")
    capability.select_option(other)
    expect(page).to_have_url(re.compile(rf"capability={re.escape(other)}"))

    # A click on a radar entry opens it.
    page.goto(portal_url + "/radar/")
    point = page.locator("[data-chart-links] .js-plotly-plot .scatterlayer .point").first
    expect(point).to_be_visible(timeout=15_000)
    point.click(force=True)
    expect(page).to_have_url(re.compile(r"/radar/[\w-]+/$"))
