"""PagerDuty webhooks v3 against the real endpoint: signatures, the incident's life (triggered,
acknowledged, resolved, reopened, priority), service mapping, replays and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipelines.models import Incident, RawEvent
from tests.pipelines.monitoring.conftest import (
    SECRET,
    pd_event,
    pd_post,
    pd_signature,
    post,
    process,
    timeline,
)

CREATED = datetime(2020, 4, 9, 15, 16, 27, tzinfo=UTC)


def at(minute: int) -> str:
    return f"2020-04-09T15:{minute:02d}:00Z"


def deliver(source, *events) -> None:
    for event in events:
        assert pd_post(source, event).status_code == 202
    process()


def test_a_triggered_incident_opens_one_on_the_mapped_service(pagerduty):
    response = pd_post(pagerduty, pd_event("incident.triggered"), webhook_id="d-1")
    process()

    assert response.json() == {"status": "accepted", "delivery": "webhook:d-1"}
    incident = Incident.objects.get()
    assert (incident.service.slug, incident.external_id, incident.title) == (
        "cart-api",
        "PGR0VU2",
        "#2 A little bump in the road",
    )
    assert (incident.severity, incident.status, incident.opened_at) == (
        "sev1",
        "triggered",
        CREATED,
    )
    assert incident.url == "https://acme.pagerduty.com/incidents/PGR0VU2"
    assert timeline(incident) == [("opened", "Tenex Engineer")]


def test_acknowledged_then_resolved_with_who_and_when(pagerduty):
    deliver(
        pagerduty,
        pd_event("incident.triggered"),
        pd_event("incident.acknowledged", at=at(20), status="acknowledged", agent="Ada On-call"),
        pd_event("incident.resolved", at=at(45), status="resolved", agent="Ada On-call"),
    )

    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.acknowledged_at == datetime(2020, 4, 9, 15, 20, tzinfo=UTC)
    assert incident.resolved_at == datetime(2020, 4, 9, 15, 45, tzinfo=UTC)
    assert timeline(incident) == [
        ("opened", "Tenex Engineer"),
        ("acknowledged", "Ada On-call"),
        ("resolved", "Ada On-call"),
    ]


def test_a_replayed_delivery_and_a_resent_event_change_nothing(pagerduty):
    triggered = pd_event("incident.triggered", event_id="ev-1")
    answers = [pd_post(pagerduty, triggered, webhook_id="d-1").json()["status"] for _ in range(3)]
    pd_post(pagerduty, triggered, webhook_id="d-2")  # the same event, delivered again
    process()

    assert answers == ["accepted", "duplicate", "duplicate"]
    assert Incident.objects.count() == 1
    assert len(timeline(Incident.objects.get())) == 1


def test_events_out_of_order_still_end_resolved_with_both_moments(pagerduty):
    deliver(
        pagerduty,
        pd_event("incident.resolved", at=at(45), status="resolved"),
        pd_event("incident.acknowledged", at=at(20), status="acknowledged"),
    )

    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.acknowledged_at < incident.resolved_at
    assert [kind for kind, _ in timeline(incident)] == ["opened", "acknowledged", "resolved"]


def test_a_reopened_incident_is_open_again(pagerduty):
    deliver(
        pagerduty,
        pd_event("incident.triggered"),
        pd_event("incident.acknowledged", at=at(20), status="acknowledged"),
        pd_event("incident.resolved", at=at(30), status="resolved"),
        pd_event("incident.reopened", at=at(40), agent="Grace Ops"),
    )

    incident = Incident.objects.get()
    assert (incident.status, incident.resolved_at) == ("acknowledged", None)
    assert timeline(incident)[-1] == ("reopened", "Grace Ops")

    deliver(pagerduty, pd_event("incident.resolved", at=at(50), status="resolved"))
    incident.refresh_from_db()
    assert incident.resolved_at == datetime(2020, 4, 9, 15, 50, tzinfo=UTC)
    assert [kind for kind, _ in timeline(incident)].count("resolved") == 2


def test_a_reopened_event_older_than_the_resolution_does_not_reopen(pagerduty):
    deliver(
        pagerduty,
        pd_event("incident.resolved", at=at(50), status="resolved"),
        pd_event("incident.reopened", at=at(40)),
    )

    assert Incident.objects.get().status == "resolved"


def test_a_priority_change_changes_the_severity_and_says_so(pagerduty):
    deliver(
        pagerduty,
        pd_event("incident.triggered"),
        pd_event("incident.priority_updated", at=at(25), priority="P3"),
    )

    incident = Incident.objects.get()
    assert incident.severity == "sev3"
    update = incident.events.get(kind="update")
    assert (update.text, update.actor_name) == ("Priority P3", "Tenex Engineer")


@pytest.mark.parametrize(
    ("priority", "urgency", "severity"),
    [
        ("P1", "high", "sev1"),
        ("P2", "low", "sev2"),
        ("P3", "high", "sev3"),
        ("P4", "high", "sev4"),
        ("P5", "high", "sev4"),
        (None, "high", "sev2"),
        (None, "low", "sev4"),
        ("SEV-A", "low", "sev4"),
    ],
)
def test_the_priority_or_else_the_urgency_sets_the_severity(pagerduty, priority, urgency, severity):
    deliver(pagerduty, pd_event("incident.triggered", priority=priority, urgency=urgency))

    assert Incident.objects.get().severity == severity


def test_the_service_may_be_mapped_by_its_name(monitoring_source):
    source = monitoring_source(
        "pagerduty", repositories=[{"name": "api service", "service": "search"}]
    )
    deliver(source, pd_event("incident.triggered"))

    assert Incident.objects.get().service.slug == "search"


def test_an_unmapped_pagerduty_service_opens_nothing(pagerduty):
    deliver(pagerduty, pd_event("incident.triggered", service=("PXXXXXX", "Billing")))

    event = RawEvent.objects.get()
    assert (event.status, Incident.objects.count()) == (RawEvent.Status.IGNORED, 0)


def test_below_the_minimum_nothing_opens_but_an_open_incident_still_moves(monitoring_source):
    source = monitoring_source(
        "pagerduty",
        min_severity="sev2",
        repositories=[{"name": "PF9KMXH", "service": "cart-api"}],
    )
    deliver(source, pd_event("incident.triggered", priority=None, urgency="low"))
    assert not Incident.objects.exists()

    deliver(source, pd_event("incident.priority_updated", at=at(20), priority="P1"))
    deliver(source, pd_event("incident.priority_updated", at=at(30), priority="P4"))
    deliver(source, pd_event("incident.resolved", at=at(40), status="resolved", priority="P4"))

    incident = Incident.objects.get()
    assert (incident.severity, incident.status) == ("sev4", "resolved")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not a JSON object"),
        ({"messages": []}, "event: Field required"),
        ({"event": {"id": "e", "event_type": "incident.triggered"}}, "event.occurred_at"),
        (
            {
                "event": {
                    "id": "e",
                    "event_type": "incident.triggered",
                    "occurred_at": "2020-04-09T15:20:00Z",
                    "data": {"id": "PGR0VU2", "created_at": "2020-04-09T15:16:27Z"},
                }
            },
            "service: Field required",
        ),
    ],
)
def test_a_malformed_delivery_is_recorded_failed_and_answered_2xx(pagerduty, body, reason):
    """PagerDuty drops a delivery answered 4xx and disables the subscription after three."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = post(pagerduty, data, **{"X-PagerDuty-Signature": pd_signature(data)})

    assert response.status_code == 202 and response.json()["status"] == "rejected"
    event = RawEvent.objects.get()
    assert event.status == RawEvent.Status.FAILED and reason in event.error
    assert not Incident.objects.exists()


@pytest.mark.parametrize("event_type", ["incident.escalated", "service.updated", "pagey.ping"])
def test_events_we_do_not_use_are_answered_and_not_stored(pagerduty, event_type):
    response = pd_post(pagerduty, pd_event(event_type))

    assert (response.status_code, response.json()["status"]) == (202, "ignored")
    assert not RawEvent.objects.exists()


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "v1=0000",
        "v0={good}",
        "{good}",
        "v1={wrong}",
    ],
)
def test_a_bad_signature_is_401_and_stores_nothing(pagerduty, signature):
    body = json.dumps(pd_event("incident.triggered")).encode()
    good = pd_signature(body).removeprefix("v1=")
    wrong = pd_signature(body, "other-secret").removeprefix("v1=")
    headers = {}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature.format(good=good, wrong=wrong)

    assert post(pagerduty, body, **headers).status_code == 401
    assert not RawEvent.objects.exists()


def test_during_a_secret_rotation_any_listed_signature_may_match(pagerduty):
    body = json.dumps(pd_event("incident.triggered")).encode()
    header = f"{pd_signature(body, 'the-old-secret')},{pd_signature(body, SECRET)}"

    assert post(pagerduty, body, **{"X-PagerDuty-Signature": header}).status_code == 202
