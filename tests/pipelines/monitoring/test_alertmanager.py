"""Alertmanager webhooks (payload version 4) against the real endpoint: one incident per alert
occurrence, resolved at ``endsAt``, grouped notifications, severities, bad input and bad auth."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from pipelines import services
from pipelines.models import Incident, RawEvent
from reporting.metrics.dora import Window
from reporting.raw_rows import dora_for
from tests.pipelines.monitoring.conftest import (
    AM_FIRING,
    AM_GROUPED,
    am_alert,
    am_post,
    am_resolved,
    post,
    process,
    timeline,
)

STARTED = datetime(2023, 2, 6, 13, 8, 45, 828000, tzinfo=UTC)
ENDED = datetime(2023, 2, 6, 13, 38, 45, 828000, tzinfo=UTC)


def test_a_firing_alert_opens_an_incident_on_the_labelled_service(alertmanager):
    response = am_post(alertmanager, AM_FIRING)
    counts = process()

    assert response.status_code == 202 and response.json()["status"] == "accepted"
    assert counts["processed"] == 1
    incident = Incident.objects.get()
    assert (incident.service.slug, incident.source, incident.external_id) == (
        "cart-api",
        alertmanager,
        "1a30ba71cca2921f@2023-02-06T13:08:45.828Z",
    )
    assert incident.title == "ProbeFailure: BlackBox Probe Failure: https://server.example.org"
    assert (incident.severity, incident.status, incident.opened_at) == (
        "sev1",
        "triggered",
        STARTED,
    )
    assert incident.resolved_at is None
    assert incident.url.startswith("http://prometheus.example.org:9090/graph?")
    assert incident.summary.startswith("Instance https://server.example.org has been down")
    assert incident.labels["job"] == "http_checks"
    assert timeline(incident) == [("opened", "Alertmanager")]


def test_the_incident_exists_once_the_delivery_has_committed(
    alertmanager, settings, django_capture_on_commit_callbacks
):
    """The delivery's commit queues the worker (eager here): nothing waits for a poll."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        am_post(alertmanager, AM_FIRING)

    assert Incident.objects.get().service.slug == "cart-api"
    assert RawEvent.objects.get().status == RawEvent.Status.PROCESSED


def test_a_resent_alert_stays_one_incident_with_one_opening(alertmanager):
    answers = [am_post(alertmanager, AM_FIRING).json()["status"] for _ in range(3)]
    later = copy.deepcopy(AM_FIRING)  # the next repeat_interval: a fresh summary, same alert
    later["alerts"][0]["annotations"]["summary"] = "Still failing"
    am_post(alertmanager, later)
    process()

    assert answers == ["accepted", "duplicate", "duplicate"]
    assert RawEvent.objects.count() == 2
    incident = Incident.objects.get()
    assert incident.title == "ProbeFailure: Still failing"
    assert timeline(incident) == [("opened", "Alertmanager")]


def test_a_resolved_alert_resolves_its_incident_at_ends_at(alertmanager):
    am_post(alertmanager, AM_FIRING)
    process()
    am_post(alertmanager, am_resolved(AM_FIRING))
    process()

    incident = Incident.objects.get()
    assert (incident.status, incident.resolved_at) == ("resolved", ENDED)
    assert timeline(incident) == [("opened", "Alertmanager"), ("resolved", "Alertmanager")]
    assert incident.events.get(kind="resolved").at == ENDED


def test_a_late_firing_resend_does_not_reopen_a_resolved_incident(alertmanager):
    """An HA pair or a retry can deliver the firing notification after the resolved one."""
    am_post(alertmanager, am_resolved(AM_FIRING))
    process()
    am_post(alertmanager, AM_FIRING)
    process()

    incident = Incident.objects.get()
    assert (incident.status, incident.resolved_at, incident.opened_at) == (
        "resolved",
        ENDED,
        STARTED,
    )
    assert [kind for kind, _ in timeline(incident)] == ["opened", "resolved"]


def test_the_same_alert_firing_again_later_is_a_new_incident(alertmanager):
    am_post(alertmanager, AM_FIRING)
    am_post(alertmanager, am_resolved(AM_FIRING))
    again = copy.deepcopy(AM_FIRING)
    again["alerts"][0]["startsAt"] = "2023-02-07T08:00:00Z"
    am_post(alertmanager, again)
    process()

    assert sorted(Incident.objects.values_list("status", flat=True)) == ["resolved", "triggered"]


def test_a_grouped_notification_records_every_alert_in_one_request(alertmanager):
    response = am_post(alertmanager, AM_GROUPED)
    process()

    assert response.status_code == 202
    by_service = {
        (i.service.slug, i.severity, i.status): i.external_id
        for i in Incident.objects.select_related("service")
    }
    assert set(by_service) == {
        ("cart-api", "sev1", "triggered"),
        ("cart-api", "sev3", "triggered"),
        ("search", "sev1", "resolved"),
    }, "the alert without a service label opens nothing"
    assert (
        by_service[("cart-api", "sev1", "triggered")] == "b0d6a1c2e3f40001@2026-11-20T10:00:00.123Z"
    )
    assert RawEvent.objects.get().status == RawEvent.Status.PROCESSED


def test_alerts_below_the_minimum_severity_open_nothing(monitoring_source):
    source = monitoring_source("alertmanager", min_severity="sev2")
    am_post(source, AM_GROUPED)
    process()

    assert sorted(Incident.objects.values_list("severity", flat=True)) == ["sev1", "sev1"]


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", "sev1"),
        ("page", "sev1"),
        ("Error", "sev2"),
        ("high", "sev2"),
        ("major", "sev2"),
        ("warning", "sev3"),
        ("minor", "sev3"),
        ("info", "sev4"),
        ("low", "sev4"),
        ("none", "sev4"),
        ("disaster", ""),
    ],
)
def test_the_severity_label_maps_to_portal_severities(alertmanager, label, severity):
    am_post(alertmanager, am_alert(AM_FIRING, severity=label))
    process()

    assert Incident.objects.get().severity == severity


def test_an_alert_for_an_unknown_service_is_recorded_on_the_raw_event(alertmanager):
    am_post(alertmanager, am_alert(AM_FIRING, service="ghost"))
    process()

    event = RawEvent.objects.get()
    assert not Incident.objects.exists()
    assert event.status == RawEvent.Status.FAILED
    assert "'ghost'" in event.error and "does not exist" in event.error


def test_an_alert_without_the_service_label_is_ignored_and_says_why(alertmanager):
    body = copy.deepcopy(AM_FIRING)
    del body["alerts"][0]["labels"]["service"]
    am_post(alertmanager, body)
    process()

    event = RawEvent.objects.get()
    assert (event.status, Incident.objects.count()) == (RawEvent.Status.IGNORED, 0)
    assert "naming no service" in event.error


def test_the_service_label_and_name_aliases_are_the_sources_own(monitoring_source):
    source = monitoring_source(
        "alertmanager",
        service_label="app",
        repositories=[{"name": "Cart", "service": "cart-api"}],
    )
    am_post(source, am_alert(AM_FIRING, service="search", app="cart"))
    process()

    assert Incident.objects.get().service.slug == "cart-api"


def test_a_graph_url_too_long_to_keep_links_to_alertmanager_instead(alertmanager):
    body = copy.deepcopy(AM_FIRING)
    body["alerts"][0]["generatorURL"] = "http://prometheus.example.org:9090/graph?g0.expr=" + (
        "x" * 600
    )
    am_post(alertmanager, body)
    process()

    assert Incident.objects.get().url == "http://prometheus.example.org:9093"


def _without_starts_at() -> dict:
    body = copy.deepcopy(AM_GROUPED)
    del body["alerts"][2]["startsAt"]
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{truncated", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        ({"version": "4", "status": "firing"}, "alerts: Field required"),
        (_without_starts_at(), "alerts.2.startsAt: Field required"),
        (am_alert(AM_FIRING, severity=3), "alerts.0.labels.severity"),
        ({**AM_FIRING, "status": "exploded"}, "status: Input should be 'firing' or 'resolved'"),
    ],
)
def test_a_malformed_notification_is_recorded_failed_and_answered_2xx(alertmanager, body, reason):
    response = am_post(alertmanager, body)
    process()

    assert response.status_code == 202, "a 4xx would only make Alertmanager log and drop it"
    assert response.json()["status"] == "rejected"
    event = RawEvent.objects.get()
    assert event.status == RawEvent.Status.FAILED and reason in event.error
    assert not Incident.objects.exists(), "no alert of a bad notification is half-recorded"


def test_a_resolved_alert_without_ends_at_fails_readably(alertmanager):
    body = am_resolved(AM_FIRING, ends_at="0001-01-01T00:00:00Z")
    assert am_post(alertmanager, body).status_code == 202
    process()

    event = RawEvent.objects.get()
    assert event.status == RawEvent.Status.FAILED and "without endsAt" in event.error
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic czNjcmV0LWhvb2s="},
        {"Authorization": "Bearer s3cret-hook-and-more"},
        {"Authorization": "Bearer s3cret-hoök"},
    ],
)
def test_bad_auth_is_401_and_stores_nothing(alertmanager, headers):
    response = post(alertmanager, AM_FIRING, **headers)

    assert response.status_code == 401
    assert not RawEvent.objects.exists()


def test_a_source_of_another_kind_or_without_webhooks_is_404(alertmanager, monitoring_source):
    prometheus = services.source_create(
        actor=None, kind="prometheus", name="Prom", base_url="http://prometheus.example.org:9090/"
    )

    assert post(prometheus, AM_FIRING).status_code == 404
    assert post(alertmanager, AM_FIRING, Authorization="Bearer s3cret-hook").status_code == 202
    wrong_kind = post(monitoring_source("opsgenie", name="OG"), AM_FIRING)
    assert wrong_kind.status_code == 401


def test_an_alert_counts_in_dora_once_resolved(alertmanager, service):
    deployed = STARTED - timedelta(minutes=20)
    services.deployment_push(
        actor=None,
        service=service,
        external_id="deploy-41",
        environment="production",
        status="success",
        started_at=deployed - timedelta(minutes=5),
        finished_at=deployed,
    )
    am_post(alertmanager, AM_FIRING)
    am_post(alertmanager, am_resolved(AM_FIRING))
    process()

    result = dora_for(
        services=type(service).objects.filter(pk=service.pk),
        window=Window(start=date(2023, 2, 1), end=date(2023, 2, 28)),
    )
    [attributed] = result.attributed.values()
    assert [row.opened_at for row in attributed] == [STARTED]
    assert result.recovery_times == [(ENDED - deployed).total_seconds()]


def test_text_the_database_cannot_store_is_kept_as_text_and_answered_2xx(alertmanager):
    body = am_alert(AM_FIRING)
    body["alerts"][0]["annotations"]["summary"] = "NUL \u0000 here"

    response = am_post(alertmanager, body)

    assert (response.status_code, response.json()["status"]) == (202, "rejected")
    event = RawEvent.objects.get()
    assert event.status == RawEvent.Status.FAILED and "NUL" in event.error
    assert "ProbeFailure" in event.payload["body"]
