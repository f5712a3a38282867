"""SLO pages: the list everyone reads, the form leads add and edit SLOs with (field errors
beside the fields), the service page's card, and the status report's SLO section."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from reporting.slos.models import Slo, SloAlert
from reporting.slos.services import slo_create
from reporting.status.content import build_report
from reporting.status.services import render_report_html

LIST = "/metrics/slos/"
NEW = "/metrics/slos/new/"


@pytest.fixture
def burning(org, service, open_incident):
    open_incident(timezone.now() - timedelta(minutes=10))
    return slo_create(actor=org.users["lee"], service=service, name="Availability", objective=99.9)


def _form(**fields) -> dict:
    return {
        "service": "cart-api",
        "name": "Availability",
        "kind": "availability",
        "objective": "99.9",
        "window_days": "28",
        "measurement": "incidents",
        "query_result": "ratio",
        "is_active": "on",
    } | fields


def test_everyone_signed_in_reads_the_list_and_the_detail(org, burning, client_for):
    for username in ("sam", "mo", "val", "lee"):
        page = client_for(username).get(LIST)
        assert page.status_code == 200
        # The row itself (its link), not words the filters and the legend also show.
        assert f'href="/metrics/slos/{burning.slug}/"' in page.text
    detail = client_for("sam").get(f"/metrics/slos/{burning.slug}/")
    assert detail.status_code == 200
    assert "13.44\u00d7" in detail.text  # the 28-day page threshold (13.44 times)
    assert "Evaluate now" not in detail.text  # stakeholders read only
    assert client_for("kim").get(f"/metrics/slos/{burning.slug}/").status_code == 404


def test_a_lead_adds_an_slo_with_the_form(org, service, client_for):
    client = client_for("lee")
    assert client.get(f"{NEW}?service=cart-api").status_code == 200
    answer = client.post(NEW, _form(emails="oncall@example.com\nlead@example.com"))
    slo = Slo.objects.get()
    assert answer.status_code == 302 and answer.url == f"/metrics/slos/{slo.slug}/"
    assert slo.email_list == ["oncall@example.com", "lead@example.com"]
    assert slo.budget_remaining == 1.0  # evaluated as it was saved


def test_the_form_shows_field_errors(org, service, client_for):
    client = client_for("lee")
    page = client.post(NEW, _form(objective="100", kind="latency", measurement="prometheus"))
    assert page.status_code == 200
    assert "Ensure this value is less than or equal to 99.999." in page.text
    page = client.post(NEW, _form(measurement="prometheus"))
    assert "Choose the Prometheus source to query." in page.text
    assert "Give the PromQL query" in page.text
    page = client.post(NEW, _form(kind="latency", latency_threshold_ms="300"))
    assert "Latency is measured by Prometheus" in page.text
    assert not Slo.objects.exists()


def test_members_viewers_and_stakeholders_cannot_write(org, burning, client_for):
    for username in ("mo", "val", "sam"):
        client = client_for(username)
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, _form(name="Other")).status_code == 403
        assert client.get(f"/metrics/slos/{burning.slug}/edit/").status_code == 403
        assert client.post(f"/metrics/slos/{burning.slug}/delete/").status_code == 403
        assert client.post(f"/metrics/slos/{burning.slug}/evaluate/").status_code == 403
    assert Slo.objects.count() == 1


def test_a_lead_edits_evaluates_and_deletes(org, burning, client_for):
    client = client_for("lee")
    edit = f"/metrics/slos/{burning.slug}/edit/"
    assert client.get(edit).status_code == 200
    data = _form(objective="99", window_days="30")
    del data["service"]
    assert client.post(edit, data).status_code == 302
    burning.refresh_from_db()
    assert (burning.objective, burning.window_days) == (99.0, 30)
    assert client.post(f"/metrics/slos/{burning.slug}/evaluate/").status_code == 302
    assert client.post(f"/metrics/slos/{burning.slug}/delete/").status_code == 302
    assert not Slo.objects.exists()


def test_the_service_page_loads_its_slo_card(org, service, burning, client_for):
    client = client_for("val")
    page = client.get(f"/services/{service.slug}/")
    assert f'hx-get="/metrics/slos/service/{service.slug}/"' in page.text
    card = client.get(f"/metrics/slos/service/{service.slug}/", HTTP_HX_REQUEST="true")
    assert card.status_code == 200
    assert "SLOs and error budgets" in card.text and "99.9 % available over 28 days" in card.text
    assert "Add an SLO" not in card.text  # a viewer
    plain = client.get(f"/metrics/slos/service/{service.slug}/")
    assert plain.status_code == 302 and plain.url == f"{LIST}?service={service.slug}"


def test_the_status_report_has_an_slo_section(org, burning):
    today = timezone.now().date()
    content = build_report(period_start=today - timedelta(days=6), period_end=today)
    section = content["slos"]
    assert section["counts"]["page"] == 1
    (item,) = section["items"]
    assert (item["service"], item["name"], item["level"]) == ("Cart API", "Availability", "page")
    assert item["budget_remaining"] == pytest.approx(1 - 10 / 40.32, abs=1e-3)
    assert [a["level"] for a in section["alerts"]] == ["page", "ticket"]
    html = render_report_html(content)
    assert "SLOs and error budgets" in html and "fast burn" in html
    # A member's report covers their teams; Mobile's member sees no SLO.
    kim = build_report(period_start=today, period_end=today, viewer=org.users["kim"])
    assert kim["slos"]["items"] == []
    # A period before the alerts opened lists none of them.
    old = build_report(period_start=date(2020, 1, 1), period_end=date(2020, 1, 7))
    assert old["slos"]["alerts"] == []
    assert SloAlert.objects.count() == 2
