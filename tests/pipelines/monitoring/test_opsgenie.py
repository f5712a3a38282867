"""Opsgenie's Webhook integration against the real endpoint: alert actions (Create, Acknowledge,
AddNote, Close), the service from tags, the shared header secret, replays and bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.models import Incident, RawEvent
from tests.pipelines.monitoring.conftest import (
    OG_CREATE,
    og_action,
    og_post,
    post,
    process,
    timeline,
)

CREATED = datetime(2015, 1, 5, 10, 3, 11, 104000, tzinfo=UTC)  # createdAt 1420452191104 ms


def deliver(source, *bodies) -> None:
    for body in bodies:
        assert og_post(source, body).status_code == 202
    process()


def test_a_created_alert_opens_an_incident_on_the_tagged_service(opsgenie):
    response = og_post(opsgenie, OG_CREATE)
    process()

    assert response.json()["status"] == "accepted"
    incident = Incident.objects.get()
    assert (incident.service.slug, incident.external_id, incident.title) == (
        "cart-api",
        "052652ac-5d1c-464a-812a-7dd18bbfba8c",
        "test alert",
    )
    assert (incident.severity, incident.status, incident.opened_at) == (
        "sev1",
        "triggered",
        CREATED,
    )
    assert incident.labels == {"tags": "tag1, service:cart-api"}
    assert timeline(incident) == [("opened", "fili@ifountain.com")]


def test_acknowledge_note_and_close_fill_the_timeline(opsgenie):
    deliver(
        opsgenie,
        OG_CREATE,
        og_action("Acknowledge", updated_ns=1420452224764002246, username="ack@example.com"),
        og_action("AddNote", updated_ns=1420452300000000000, note="Restarted the pod."),
        og_action("Close", updated_ns=1420452400000000000, username="closer@example.com"),
    )

    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.acknowledged_at == datetime(2015, 1, 5, 10, 3, 44, 764002, tzinfo=UTC)
    assert incident.resolved_at == datetime(2015, 1, 5, 10, 6, 40, tzinfo=UTC)
    assert timeline(incident) == [
        ("opened", "fili@ifountain.com"),
        ("acknowledged", "ack@example.com"),
        ("update", "fili@ifountain.com"),
        ("resolved", "closer@example.com"),
    ]
    assert incident.events.get(kind="update").text == "Restarted the pod."


def test_a_replayed_action_changes_nothing(opsgenie):
    answers = [og_post(opsgenie, OG_CREATE).json()["status"] for _ in range(3)]
    note = og_action("AddNote", note="Looking.")
    og_post(opsgenie, note)
    og_post(opsgenie, note)
    process()

    assert answers == ["accepted", "duplicate", "duplicate"]
    assert [kind for kind, _ in timeline(Incident.objects.get())] == ["opened", "update"]


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        ("P1", "sev1"),
        ("P2", "sev2"),
        ("P3", "sev3"),
        ("P4", "sev4"),
        ("P5", "sev4"),
        (None, "sev3"),
    ],
)
def test_the_priority_sets_the_severity(opsgenie, priority, severity):
    deliver(opsgenie, og_action("Create", priority=priority))

    assert Incident.objects.get().severity == severity


def test_alerts_below_the_minimum_severity_open_nothing(monitoring_source):
    source = monitoring_source("opsgenie", min_severity="sev3")
    deliver(source, og_action("Create", priority="P4"))

    assert not Incident.objects.exists()
    assert RawEvent.objects.get().status == RawEvent.Status.PROCESSED


def test_a_tag_the_repositories_list_maps_names_the_service(monitoring_source):
    source = monitoring_source("opsgenie", repositories=[{"name": "Tag1", "service": "search"}])
    deliver(source, og_action("Create", tags=["tag1", "urgent"]))

    assert Incident.objects.get().service.slug == "search"


def test_a_custom_service_label_and_the_equals_form(monitoring_source):
    source = monitoring_source("opsgenie", service_label="app")
    deliver(source, og_action("Create", tags=["service:cart-api", "app=search"]))

    assert Incident.objects.get().service.slug == "search"


def test_an_alert_for_an_unknown_service_is_recorded_on_the_raw_event(opsgenie):
    deliver(opsgenie, og_action("Create", tags=["service:ghost"]))

    event = RawEvent.objects.get()
    assert (event.status, Incident.objects.count()) == (RawEvent.Status.FAILED, 0)
    assert "'ghost'" in event.error


def test_an_alert_naming_no_service_is_ignored(opsgenie):
    deliver(opsgenie, og_action("Create", tags=["urgent"]))

    assert RawEvent.objects.get().status == RawEvent.Status.IGNORED
    assert not Incident.objects.exists()


@pytest.mark.parametrize("action", ["AssignOwnership", "AddTeam", "Delete"])
def test_actions_we_do_not_use_are_answered_and_not_stored(opsgenie, action):
    response = og_post(opsgenie, og_action(action))

    assert (response.status_code, response.json()["status"]) == (202, "ignored")
    assert not RawEvent.objects.exists()


def _without(field: str) -> dict:
    body = og_action("Create")
    del body["alert"][field]
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>", "not a JSON object"),
        ({"alert": {}}, "action: Field required"),
        (_without("alertId"), "alert.alertId: Field required"),
        ({**OG_CREATE, "alert": {**OG_CREATE["alert"], "createdAt": "yesterday"}}, "createdAt"),
    ],
)
def test_a_malformed_action_is_recorded_failed_and_answered_2xx(opsgenie, body, reason):
    response = og_post(opsgenie, body)

    assert response.status_code == 202 and response.json()["status"] == "rejected"
    event = RawEvent.objects.get()
    assert event.status == RawEvent.Status.FAILED and reason in event.error
    assert not Incident.objects.exists()


def test_an_action_that_cannot_be_dated_fails_readably(opsgenie):
    body = og_action("Close")
    del body["alert"]["updatedAt"]
    deliver(opsgenie, body)

    event = RawEvent.objects.get()
    assert event.status == RawEvent.Status.FAILED and "cannot be dated" in event.error


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Flightdeck-Token": "wrong"}, {"Authorization": "Bearer s3cret-hook"}],
)
def test_bad_auth_is_401_and_stores_nothing(opsgenie, headers):
    assert post(opsgenie, OG_CREATE, **headers).status_code == 401
    assert not RawEvent.objects.exists()
