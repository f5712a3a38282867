"""The incidents API: the push contract kept (and the state following what was pushed), the
workflow's fields, timeline, attributed deployment and review in reads, the workflow actions,
filters; bad input is a 400 naming the field, steps out of order 409, roles that never write
403, other teams' incidents 404 - and none of them change anything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.incidents import services
from pipelines.models import Incident, IncidentEvent
from tests.pipelines.incidents.conftest import at

URL = "/api/v1/incidents/"


def refused(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    for field in fields:
        assert field in body, body
    return body


@pytest.fixture
def mo(org, api_client_for):
    return api_client_for(org.users["mo"])


@pytest.fixture
def lee(org, api_client_for):
    return api_client_for(org.users["lee"])


def _pushed(**overrides) -> dict:
    return {
        "external_id": "INC-7",
        "service": "cart-api",
        "title": "Checkout errors",
        "opened_at": "2026-03-02T09:00:00Z",
        **overrides,
    }


def test_a_pushed_incident_keeps_its_contract_and_its_state_follows(lee, service):
    created = lee.post(URL, _pushed(), format="json")
    resolved = lee.post(URL, _pushed(resolved_at="2026-03-02T10:00:00Z"), format="json")
    again = lee.post(URL, _pushed(resolved_at="2026-03-02T10:00:00Z"), format="json")

    assert (created.status_code, resolved.status_code, again.status_code) == (201, 200, 200)
    body = again.json()
    assert (body["external_id"], body["status"], body["severity"]) == ("INC-7", "resolved", "")
    detail = lee.get(f"{URL}{body['id']}/").json()
    assert [(m["kind"], m["at"]) for m in detail["timeline"]] == [
        ("opened", "2026-03-02T09:00:00Z"),
        ("resolved", "2026-03-02T10:00:00Z"),
    ]
    assert IncidentEvent.objects.count() == 2

    reopened = lee.post(URL, _pushed(), format="json").json()
    assert (reopened["status"], reopened["resolved_at"]) == ("triggered", None)


def test_reads_carry_the_workflow_the_attribution_and_the_review(org, lee, incident, deploy):
    deploy("d1", minutes=-30)
    services.incident_triage(
        actor=org.users["lee"], incident=incident, severity="sev1", commander=org.users["mo"]
    )
    services.incident_resolve(actor=org.users["mo"], incident=incident, at=at(40))

    row = lee.get(URL).json()["results"][0]
    detail = lee.get(f"{URL}{incident.pk}/").json()

    assert (row["severity"], row["status"], row["commander"], row["owner_team"]) == (
        "sev1", "resolved", "mo", None
    )  # fmt: skip
    assert row["attributed_deployment"] == {
        "external_id": "d1", "environment": "production", "sha": "d1".ljust(40, "0"),
        "finished_at": "2026-03-02T08:30:00Z", "explicit": False,
    }  # fmt: skip
    assert row["review"]["status"] == "draft" and "timeline" not in row
    assert detail["timeline"][0]["kind"] == "opened"


def test_the_workflow_through_the_api(mo, lee, incident, org):
    path = f"{URL}{incident.pk}/"

    # A lead hands it to Mobile (a member sees, and names, only their own teams).
    triaged = lee.post(
        path + "triage/", {"severity": "sev2", "owner_team": "mobile"}, format="json"
    )
    noted = mo.post(path + "notes/", {"text": "Gateway timeouts."}, format="json")
    acked = mo.post(path + "acknowledge/", {"at": "2026-03-02T09:04:00Z"}, format="json")
    twice = mo.post(path + "acknowledge/", {}, format="json")
    mitigated = mo.post(path + "mitigate/", {"note": "Rolled back"}, format="json")
    resolved = mo.post(path + "resolve/", {}, format="json")
    reopened = mo.post(path + "reopen/", {"reason": "Back"}, format="json")

    assert [r.status_code for r in (triaged, noted, acked, mitigated, resolved, reopened)] == [
        200, 201, 200, 200, 200, 200,
    ]  # fmt: skip
    refused(twice, 409, "status")
    assert (triaged.json()["owner_team"], acked.json()["acknowledged_at"]) == (
        "mobile", "2026-03-02T09:04:00Z"
    )  # fmt: skip
    assert reopened.json()["status"] == "acknowledged"
    assert "Gateway timeouts." in [m["text"] for m in noted.json()["timeline"]]


def test_an_incident_is_opened_through_the_api(mo, service):
    response = mo.post(
        URL + "open/", {"service": "cart-api", "title": "Slow search", "severity": "sev3"},
        format="json",
    )  # fmt: skip

    body = refused(response, 201)
    assert (body["source"], body["status"], body["severity"]) == (
        "portal-incidents", "triggered", "sev3"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("triage/", {"severity": "sev9"}, "severity"),
        ("triage/", {"severity": 1}, "severity"),
        ("triage/", {"owner_team": "nope"}, "owner_team"),
        ("triage/", {"commander": "ghost"}, "commander"),
        ("triage/", {"commander": "kim"}, "commander"),
        ("triage/", {"status": "resolved"}, "status"),
        ("notes/", {"text": ""}, "text"),
        ("notes/", {}, "text"),
        ("acknowledge/", {"at": "yesterday"}, "at"),
        ("acknowledge/", {"at": "2099-01-01T00:00:00Z"}, "at"),
        ("acknowledge/", {"at": "2026-03-02T08:00:00Z"}, "at"),
        ("resolve/", {"note": 5}, "note"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(mo, incident, action, body, field):
    before = (IncidentEvent.objects.count(), Incident.objects.values().get())

    refused(mo.post(f"{URL}{incident.pk}/{action}", body, format="json"), 400, field)

    assert (IncidentEvent.objects.count(), Incident.objects.values().get()) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({"service": "mobile-bff", "title": "x"}, "service"), ({"service": "cart-api"}, "title"),
     ({"service": "cart-api", "title": " "}, "title")],
)  # fmt: skip
def test_opening_needs_a_visible_service_and_a_title(mo, service, bff, body, field):
    refused(mo.post(URL + "open/", body, format="json"), 400, field)

    assert not Incident.objects.exists()


@pytest.mark.parametrize(("user", "status"), [("val", 403), ("sam", 403), ("kim", 404)])
def test_who_may_not_act_on_checkouts_incident(org, api_client_for, incident, user, status):
    client = api_client_for(org.users[user])

    refused(client.post(f"{URL}{incident.pk}/acknowledge/", {}, format="json"), status)
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_filters_are_shared_with_the_page_and_strict(org, lee, open_incident, bff):
    open_incident("Mine", severity="sev1")
    services.incident_resolve(actor=org.users["mo"], incident=open_incident("Done"))
    open_incident("Handed over", owner_team=org.mobile)
    open_incident("Phone app", by="kim", on=bff)

    def titles(query: str) -> list[str]:
        return sorted(i["title"] for i in lee.get(f"{URL}?{query}").json()["results"])

    assert titles("severity=untriaged&open=true") == ["Handed over", "Phone app"]
    assert titles("team=mobile") == ["Handed over", "Phone app"]
    assert titles("open=false") == ["Done"]
    assert titles("q=phone") == ["Phone app"]
    refused(lee.get(URL + "?severity="), 400, "severity")
    refused(lee.get(URL + "?team=nope"), 400, "team")


def test_the_report(lee, incident, org):
    services.incident_acknowledge(actor=org.users["mo"], incident=incident, at=at(6))

    body = refused(lee.get(URL + "report/?start=2026-03-01&end=2026-03-31"), 200)

    assert (body["start"], body["end"], body["team"]) == ("2026-03-01", "2026-03-31", None)
    assert body["overall"] == {
        "incidents": 1, "acknowledged": 1, "mtta_seconds": 360.0, "resolved": 0,
        "mttr_seconds": None,
    }  # fmt: skip
    assert body["by_team"][0]["key"] == "checkout"
    refused(lee.get(URL + "report/?start=2026-03-31&end=2026-03-01"), 400, "end")
    refused(lee.get(URL + "report/?team=nope"), 400, "team")
    refused(lee.get(URL + "report/?start=2010-01-01&end=2026-01-01"), 400, "start")
    today = timezone.now().date()
    assert lee.get(URL + "report/").json()["start"] == str(today - timedelta(days=89))
