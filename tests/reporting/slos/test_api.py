"""``/api/v1/slos/``: who reads and who writes, what an item shows, and bad input answered
with 400 and the field (never a 500)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.models import CISource
from portal.models import AuditEvent, Role
from reporting.slos.models import Slo
from reporting.slos.services import slo_create
from tests.factories import MembershipFactory, ServiceFactory

URL = "/api/v1/slos/"


@pytest.fixture
def mobile_app(org):
    return ServiceFactory(team=org.mobile, name="Mobile App", slug="mobile-app")


@pytest.fixture
def slos(org, service, mobile_app):
    lee = org.users["lee"]
    return [
        slo_create(actor=lee, service=service, name="Availability", objective=99.9),
        slo_create(actor=lee, service=mobile_app, name="Availability", objective=99.5),
    ]


def _body(**fields) -> dict:
    return {"service": "cart-api", "name": "Availability", "objective": 99.9} | fields


def test_everyone_signed_in_reads_the_slos_of_the_services_they_see(org, slos, api_client_for):
    def slugs(username):
        answer = api_client_for(org.users[username]).get(URL)
        assert answer.status_code == 200
        return sorted(item["slug"] for item in answer.json()["results"])

    everything = ["cart-api-availability", "mobile-app-availability"]
    assert slugs("sam") == everything  # stakeholders read
    assert slugs("lee") == everything
    assert slugs("mo") == ["cart-api-availability"]  # members: their teams
    assert slugs("val") == ["cart-api-availability"]  # viewers too
    assert slugs("kim") == ["mobile-app-availability"]
    assert api_client_for(org.users["kim"]).get(f"{URL}cart-api-availability/").status_code == 404
    assert api_client_for(None).get(URL).status_code == 401


def test_an_item_shows_objective_window_measurement_budget_burn_and_alert_state(
    org, service, open_incident, api_client_for
):
    open_incident(timezone.now() - timedelta(minutes=10))
    answer = api_client_for(org.users["lee"]).post(
        URL,
        _body(emails=["oncall@example.com"], webhook_url="https://hooks.example.com/T0/B0/x"),
    )
    assert answer.status_code == 201, answer.json()
    item = answer.json()
    assert item["slug"] == "cart-api-availability"
    assert item["team"] == "checkout"
    assert (item["objective"], item["window_days"], item["measurement"]) == (99.9, 28, "incidents")
    assert item["objective_text"] == "99.9 % available over 28 days"
    assert item["emails"] == ["oncall@example.com"]
    assert "webhook_url" not in item and item["has_webhook"] is True  # the URL is a secret
    status = item["status"]
    assert status["budget_remaining"] == pytest.approx(1 - 10 / 40.32, abs=1e-3)
    assert status["budget_minutes"] == pytest.approx(40.32)
    assert status["burn_rates"]["5m"] == pytest.approx(1000)
    assert status["alert_state"] == "page"
    assert status["error"] == ""
    assert [a["level"] for a in item["open_alerts"]] == ["page", "ticket"]
    assert [r["burn_rate"] for r in item["alert_rules"]] == pytest.approx(
        [13.44, 5.6, 0.9333], abs=1e-4
    )
    assert AuditEvent.objects.filter(action="slo.create").count() == 1


def test_leads_and_the_team_leads_write_others_are_refused(
    org, tia, mobile_app, slos, api_client_for
):
    for username in ("mo", "val", "sam", "kim"):
        client = api_client_for(org.users[username])
        assert client.post(URL, _body(name="Other")).status_code == 403, username
        assert client.patch(f"{URL}cart-api-availability/", {"objective": 99}).status_code in (
            403,
            404,
        )
        assert client.delete(f"{URL}cart-api-availability/").status_code in (403, 404)
    tia_client = api_client_for(tia)
    assert tia_client.post(URL, _body(name="Checkout flow")).status_code == 201
    unseen = tia_client.post(URL, _body(service="mobile-app", name="Other"))
    assert unseen.status_code == 400 and "service" in unseen.json()  # not hers to see
    MembershipFactory(user=tia, team=org.mobile, role=Role.MEMBER)
    tia = type(tia).objects.get(pk=tia.pk)  # a fresh user: roles are cached per request user
    tia_client = api_client_for(tia)
    refused = tia_client.post(URL, _body(service="mobile-app", name="Other"))
    assert refused.status_code == 403  # Mobile's member, not its lead
    assert tia_client.patch(f"{URL}mobile-app-availability/", {"objective": 99}).status_code == 403
    assert tia_client.delete(f"{URL}mobile-app-availability/").status_code == 403
    assert Slo.objects.count() == 3


def test_a_lead_changes_and_deletes_an_slo(org, slos, api_client_for):
    client = api_client_for(org.users["lee"])
    answer = client.patch(f"{URL}cart-api-availability/", {"objective": 99.5, "window_days": 30})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["objective_text"] == "99.5 % available over 30 days"
    assert answer.json()["alert_rules"][0]["burn_rate"] == pytest.approx(14.4)
    assert client.delete(f"{URL}cart-api-availability/").status_code == 204
    assert not Slo.objects.filter(slug="cart-api-availability").exists()


def test_filters(org, slos, api_client_for):
    client = api_client_for(org.users["sam"])
    by_team = client.get(URL, {"team": "mobile"}).json()["results"]
    assert [item["slug"] for item in by_team] == ["mobile-app-availability"]
    by_service = client.get(URL, {"service": "cart-api"}).json()["results"]
    assert [item["slug"] for item in by_service] == ["cart-api-availability"]
    assert client.get(URL, {"level": "page"}).json()["results"] == []
    assert client.get(URL, {"team": "nope"}).status_code == 400
    assert client.get(URL, {"level": "burning"}).status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(objective="99.9"), "objective"),
        (_body(objective=True), "objective"),
        (_body(objective=100), "objective"),
        (_body(objective=0), "objective"),
        (_body(window_days=3), "window_days"),
        (_body(window_days=28.5), "window_days"),
        (_body(service="nope"), "service"),
        (_body(service="mobile-app-x"), "service"),
        (_body(kind="throughput"), "kind"),
        (_body(kind="latency"), "latency_threshold_ms"),
        (_body(kind="latency", latency_threshold_ms=300), "measurement"),
        (_body(latency_threshold_ms=300), "latency_threshold_ms"),
        (_body(measurement="prometheus"), "prometheus_source"),
        (_body(measurement="prometheus", prometheus_source="github"), "prometheus_source"),
        (_body(query="up"), "query"),
        (_body(incident_severities="sev1"), "incident_severities"),
        (_body(incident_severities=["sev9"]), "incident_severities"),
        (_body(emails=["not an address"]), "emails"),
        (_body(emails="lee@example.com"), "emails"),
        (_body(webhook_url="ftp://hooks.example.com/"), "webhook_url"),
        (_body(name=""), "name"),
        (_body(surprise=1), "surprise"),
        (_body(slug="mine"), "slug"),
        ({"service": "cart-api", "name": "Availability"}, "objective"),
    ],
)
def test_bad_input_is_a_400_with_the_field(org, service, api_client_for, body, field):
    CISource.objects.create(kind=CISource.Kind.GITHUB, name="GitHub", slug="github")
    answer = api_client_for(org.users["lee"]).post(URL, body, format="json")
    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert not Slo.objects.exists()


def test_a_taken_name_or_a_bad_body_is_a_400(org, slos, api_client_for):
    client = api_client_for(org.users["lee"])
    taken = client.post(URL, _body(name="availability"))
    assert taken.status_code == 400 and "name" in taken.json()
    assert client.post(URL, [1, 2], format="json").status_code == 400
    answer = client.patch(f"{URL}cart-api-availability/", {"service": "mobile-app"})
    assert answer.status_code == 400 and answer.json()["service"] == ["Read-only."]
    answer = client.patch(f"{URL}cart-api-availability/", {"objective": 101})
    assert answer.status_code == 400 and "objective" in answer.json()
    assert Slo.objects.get(slug="cart-api-availability").objective == 99.9


def test_switching_to_prometheus_clears_the_severities(org, service, prometheus, api_client_for):
    client = api_client_for(org.users["lee"])
    created = client.post(URL, _body(incident_severities=["sev1", "sev2"]))
    assert created.json()["incident_severities"] == ["sev1", "sev2"]
    answer = client.patch(
        f"{URL}cart-api-availability/",
        {"measurement": "prometheus", "prometheus_source": "prometheus", "query": "up"},
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["incident_severities"] == []
    # The incident numbers say nothing about the new measurement: queued, not evaluated yet.
    assert answer.json()["status"]["evaluated_at"] is None
    assert answer.json()["status"]["budget_remaining"] is None
