"""Reconciliation polls through the real sync engine against loopback PagerDuty and Opsgenie APIs
(pytest-httpserver serving the vendors' documented objects, moved into the backfill window)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug import Response

from pipelines.models import CISource, Incident, SyncRun
from pipelines.sync import source_sync
from pipelines.tasks import dispatch_due_sources_task
from tests.pipelines.monitoring.conftest import (
    og_action,
    og_post,
    pd_event,
    pd_post,
    process,
    recorded,
    timeline,
)

PD_INCIDENTS = recorded("pagerduty", "rest-incidents.pd-openapi-examples-EDITED.json")["incidents"]
OG_ALERTS = recorded("opsgenie", "rest-list-alerts.opsgenie-docs-shape-EDITED.json")["data"]
PD_TIMES = ("created_at", "updated_at", "resolved_at", "last_status_change_at")
OG_TIMES = ("createdAt", "updatedAt", "lastOccurredAt")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _moved(objects: list[dict], fields: tuple[str, ...], anchor: str, days_ago: int) -> list[dict]:
    """Copies of ``objects`` with their times moved so the first's ``anchor`` is days ago."""
    delta = datetime.now(UTC) - timedelta(days=days_ago) - _parse(objects[0][anchor])
    moved = copy.deepcopy(objects)
    for item in moved:
        for name in fields:
            if item.get(name):
                item[name] = _iso(_parse(item[name]) + delta)
        for ack in item.get("acknowledgements", []):
            ack["at"] = _iso(_parse(ack["at"]) + delta)
    return moved


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _json(body) -> Response:
    return Response(json.dumps(body), content_type="application/json")


def serve_pagerduty(httpserver, incidents: list[dict]) -> list[dict]:
    """``GET /services/PIJ90N7`` and ``GET /incidents`` filtered by ``since``/``until`` on
    ``created_at``, one incident per page (``offset``/``more``). Returns the query args seen."""
    seen: list[dict] = []
    httpserver.expect_request("/services/PIJ90N7").respond_with_json(
        {"service": {"id": "PIJ90N7", "name": "My Mail Service"}}
    )

    def page(request):
        args = request.args.to_dict()
        seen.append({**args, "authorization": request.headers.get("Authorization")})
        since, until = _parse(args["since"]), _parse(args["until"])
        matching = [i for i in incidents if since <= _parse(i["created_at"]) < until]
        offset = int(args["offset"])
        return _json(
            {"incidents": matching[offset : offset + 1], "more": offset + 1 < len(matching)}
        )

    httpserver.expect_request("/incidents").respond_with_handler(page)
    return seen


def serve_opsgenie(httpserver, alerts: list[dict]) -> list[dict]:
    """``GET /v2/alerts`` with ``query=createdAt > <ms>``, one alert per page (short pages end
    the listing, so the page size the connector asks for is honoured here)."""
    seen: list[dict] = []

    def page(request):
        args = request.args.to_dict()
        seen.append({**args, "authorization": request.headers.get("Authorization")})
        after = int(args["query"].split(">")[1])
        matching = [a for a in alerts if _parse(a["createdAt"]).timestamp() * 1000 > after]
        offset, limit = int(args["offset"]), int(args["limit"])
        return _json({"data": matching[offset : offset + limit], "took": 0.01})

    httpserver.expect_request("/v2/alerts").respond_with_handler(page)
    return seen


@pytest.fixture
def pd_source(monitoring_source, httpserver):
    return monitoring_source(
        "pagerduty",
        base_url=httpserver.url_for("/"),
        backfill_days=30,
        repositories=[{"name": "PIJ90N7", "service": "cart-api"}],
    )


@pytest.fixture
def og_source(monitoring_source, httpserver):
    return monitoring_source("opsgenie", base_url=httpserver.url_for("/"), backfill_days=30)


def test_a_pagerduty_poll_records_each_incident_with_its_moments(pd_source, httpserver):
    incidents = _moved(PD_INCIDENTS, PD_TIMES, "created_at", days_ago=3)
    seen = serve_pagerduty(httpserver, incidents)

    run = source_sync(source_id=pd_source.pk, trigger="command")

    assert run.status == SyncRun.Status.SUCCESS, run.message
    resolved, acknowledged = Incident.objects.order_by("opened_at")
    assert (resolved.external_id, resolved.status, resolved.severity) == (
        "PT4KHLK",
        "resolved",
        "sev2",
    )
    assert resolved.title == "#1234 The server is on fire."
    assert resolved.resolved_at == _parse(incidents[0]["resolved_at"])
    assert timeline(resolved) == [
        ("opened", "PagerDuty"),
        ("acknowledged", "Earline Greenholt"),
        ("resolved", "Earline Greenholt"),
    ]
    assert (acknowledged.status, acknowledged.severity) == ("acknowledged", "sev4")
    assert {s["authorization"] for s in seen} == {"Token token=api-t0ken"}
    assert {(s["service_ids[]"], s["sort_by"]) for s in seen} == {("PIJ90N7", "created_at:asc")}
    pd_source.refresh_from_db()
    cursor = pd_source.sync_state["repositories"]["PIJ90N7"]
    assert _parse(cursor["open_since"]) == _parse(incidents[1]["created_at"]), "still open"


def test_the_next_pagerduty_poll_starts_at_the_oldest_open_incident(pd_source, httpserver):
    incidents = _moved(PD_INCIDENTS, PD_TIMES, "created_at", days_ago=3)
    seen = serve_pagerduty(httpserver, incidents)
    source_sync(source_id=pd_source.pk, trigger="command")
    seen.clear()

    source_sync(source_id=pd_source.pk, trigger="command")

    assert _parse(seen[0]["since"]) == _parse(incidents[1]["created_at"])
    assert Incident.objects.count() == 2


def test_a_poll_resolves_what_a_missed_webhook_left_open(pd_source, httpserver):
    incidents = _moved(PD_INCIDENTS, PD_TIMES, "created_at", days_ago=3)
    serve_pagerduty(httpserver, incidents)
    triggered = pd_event(
        "incident.triggered", service=("PIJ90N7", "My Mail Service"), agent="Monitoring"
    )
    triggered["event"]["data"].update(id="PT4KHLK", created_at=incidents[0]["created_at"])
    pd_post(pd_source, triggered)
    process()
    assert Incident.objects.get().status == "triggered"

    source_sync(source_id=pd_source.pk, trigger="command")

    incident = Incident.objects.get(external_id="PT4KHLK")
    assert incident.status == "resolved"
    assert [kind for kind, _ in timeline(incident)] == ["opened", "acknowledged", "resolved"]


def test_a_pagerduty_service_is_found_by_its_name(monitoring_source, httpserver):
    serve_pagerduty(httpserver, _moved(PD_INCIDENTS, PD_TIMES, "created_at", days_ago=3))
    httpserver.expect_request("/services/My Mail Service").respond_with_data("", status=404)
    httpserver.expect_request(
        "/services", query_string={"query": "My Mail Service", "limit": "100"}
    ).respond_with_json(
        {"services": [{"id": "PIJ90N7", "name": "My Mail Service"}, {"id": "P2", "name": "Mail"}]}
    )
    source = monitoring_source(
        "pagerduty",
        base_url=httpserver.url_for("/"),
        backfill_days=30,
        repositories=[{"name": "My Mail Service", "service": "cart-api"}],
    )

    run = source_sync(source_id=source.pk, trigger="command")

    assert run.status == SyncRun.Status.SUCCESS
    assert Incident.objects.filter(service__slug="cart-api").count() == 2
    source.refresh_from_db()
    assert source.sync_state["repositories"]["My Mail Service"]["service_id"] == "PIJ90N7"


def test_an_unknown_pagerduty_service_marks_its_entry(monitoring_source, httpserver):
    httpserver.expect_request("/services/Nope").respond_with_data("", status=404)
    httpserver.expect_request("/services").respond_with_json({"services": []})
    source = monitoring_source(
        "pagerduty",
        base_url=httpserver.url_for("/"),
        repositories=[{"name": "Nope", "service": "cart-api"}],
    )

    run = source_sync(source_id=source.pk, trigger="command")

    source.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert "no PagerDuty service" in source.repository_errors["Nope"]


def test_an_opsgenie_poll_records_alerts_with_their_report(og_source, httpserver):
    alerts = _moved(OG_ALERTS, OG_TIMES, "createdAt", days_ago=5)
    seen = serve_opsgenie(httpserver, alerts)

    run = source_sync(source_id=og_source.pk, trigger="command")

    assert run.status == SyncRun.Status.SUCCESS, run.message
    closed, open_ = Incident.objects.order_by("opened_at")
    opened = _parse(alerts[0]["createdAt"])
    assert (closed.status, closed.severity, closed.service.slug) == ("resolved", "sev2", "cart-api")
    assert closed.acknowledged_at == opened + timedelta(milliseconds=15702)
    assert closed.resolved_at == opened + timedelta(milliseconds=60503)
    assert timeline(closed) == [
        ("opened", "Isengard"),
        ("acknowledged", "agent_smith@opsgenie.com"),
        ("resolved", "neo@opsgenie.com"),
    ]
    assert (open_.status, open_.severity) == ("triggered", "sev3")
    assert {s["authorization"] for s in seen} == {"GenieKey api-t0ken"}
    assert {(s["sort"], s["order"]) for s in seen} == {("createdAt", "asc")}
    og_source.refresh_from_db()
    cursor = og_source.sync_state["repositories"]["*"]["open_since_ms"]
    assert cursor == int(_parse(alerts[1]["createdAt"]).timestamp() * 1000)


def test_an_opsgenie_poll_closes_what_a_missed_webhook_left_open(og_source, httpserver):
    alerts = _moved(OG_ALERTS, OG_TIMES, "createdAt", days_ago=5)
    serve_opsgenie(httpserver, alerts)
    created = og_action("Create", tags=["service:cart-api"])
    created["alert"].update(
        alertId=alerts[0]["id"],
        createdAt=int(_parse(alerts[0]["createdAt"]).timestamp() * 1000),
    )
    og_post(og_source, created)
    process()

    source_sync(source_id=og_source.pk, trigger="command")

    incident = Incident.objects.get(external_id=alerts[0]["id"])
    assert incident.status == "resolved"
    assert [kind for kind, _ in timeline(incident)] == ["opened", "acknowledged", "resolved"]


def test_only_pollable_sources_are_polled(monitoring_source, pd_source, og_source, httpserver):
    alertmanager = monitoring_source("alertmanager", name="AM")
    prometheus = monitoring_source(
        "prometheus", name="Prom", base_url="http://prometheus.example.org:9090/"
    )

    dispatch_due_sources_task()
    run = source_sync(source_id=alertmanager.pk, trigger="command")

    polled = set(SyncRun.objects.filter(trigger="poll").values_list("source__kind", flat=True))
    assert polled == {CISource.Kind.PAGERDUTY, CISource.Kind.OPSGENIE}
    assert (run.status, run.message) == (
        SyncRun.Status.FAILED,
        "Prometheus Alertmanager sources are not polled",
    )
    assert not SyncRun.objects.filter(source=prometheus).exists()
    assert not httpserver.log


def test_with_nothing_open_the_next_poll_starts_a_little_before_now(pd_source, httpserver):
    serve_pagerduty(httpserver, [])

    source_sync(source_id=pd_source.pk, trigger="command")

    pd_source.refresh_from_db()
    cursor = _parse(pd_source.sync_state["repositories"]["PIJ90N7"]["open_since"])
    assert timedelta(minutes=9) < datetime.now(UTC) - cursor < timedelta(minutes=11)
