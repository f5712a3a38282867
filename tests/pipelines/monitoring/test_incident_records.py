"""The incident upsert rules (pipelines.incident_records) on records, as every connector and
the push path write them: snapshots from issue trackers, forward-only notifications from
monitoring tools, triage that survives polls, the minimum severity, and the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from pipelines.connectors.base import IncidentEventRecord, IncidentRecord
from pipelines.models import Incident
from pipelines.records import records_apply
from tests.pipelines.monitoring.conftest import timeline

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def apply(make_source, service):
    source = make_source("github", repositories=[{"name": "acme/cart", "service": "cart-api"}])

    def do(*records, into=source):
        with transaction.atomic():
            return records_apply(source=into, service=service, records=list(records))

    return do


def issue(**overrides) -> IncidentRecord:
    return IncidentRecord(
        **{"external_id": "acme/cart#3", "title": "Checkout errors", "opened_at": T0, **overrides}
    )


def alert(**overrides) -> IncidentRecord:
    return issue(snapshot=False, **overrides)


def test_an_issue_closed_and_reopened_upstream_follows_the_issue(apply):
    apply(issue())
    apply(issue(resolved_at=T0 + timedelta(hours=2)))
    closed = Incident.objects.get()
    apply(issue())

    reopened = Incident.objects.get()
    assert (closed.status, reopened.status, reopened.resolved_at) == ("resolved", "triggered", None)
    assert [kind for kind, _ in timeline(reopened)] == ["opened", "resolved", "reopened"]
    assert timeline(reopened)[0] == ("opened", "github source")


def test_triage_in_the_portal_survives_the_next_poll(apply):
    apply(issue())
    Incident.objects.update(severity="sev1", summary="Card payments fail", labels={"k": "v"})

    apply(issue(title="Checkout errors (EU)"))

    incident = Incident.objects.get()
    assert (incident.title, incident.severity, incident.summary, incident.labels) == (
        "Checkout errors (EU)",
        "sev1",
        "Card payments fail",
        {"k": "v"},
    )


def test_notifications_only_move_forward(apply):
    acked = T0 + timedelta(minutes=5)
    apply(alert(acknowledged_at=acked, resolved_at=T0 + timedelta(hours=1)))
    apply(alert(acknowledged_at=T0 + timedelta(minutes=30)), alert())

    incident = Incident.objects.get()
    assert (incident.status, incident.acknowledged_at) == ("resolved", acked)
    assert incident.resolved_at == T0 + timedelta(hours=1)


def test_a_reopened_event_after_the_resolution_reopens_and_clears_mitigation(apply):
    apply(alert(mitigated_at=T0 + timedelta(minutes=10), resolved_at=T0 + timedelta(hours=1)))
    reopen = IncidentEventRecord("reopened", T0 + timedelta(hours=2), "Grace", "It is back")

    apply(alert(events=(reopen,)))

    incident = Incident.objects.get()
    assert (incident.status, incident.resolved_at, incident.mitigated_at) == (
        "triggered",
        None,
        None,
    )
    entry = incident.events.get(kind="reopened")
    assert (entry.at, entry.actor_name, entry.text) == (reopen.at, "Grace", "It is back")


def test_what_a_tool_says_of_the_status_raises_it_but_never_lowers_it(apply):
    apply(alert(status="acknowledged"))
    assert Incident.objects.get().status == "acknowledged"

    apply(alert(status="triggered"))
    assert Incident.objects.get().status == "acknowledged"


def test_the_minimum_severity_stops_openings_not_updates(apply, make_source):
    source = make_source("alertmanager", min_severity="sev2", repositories=[])
    apply(alert(severity="sev3"), into=source)
    assert not Incident.objects.exists()

    apply(alert(severity="sev1"), alert(severity="sev4"), into=source)
    apply(alert(severity="sev4", resolved_at=T0 + timedelta(hours=1)), into=source)

    incident = Incident.objects.get()
    assert (incident.severity, incident.status) == ("sev4", "resolved")


def test_a_batch_whose_first_records_are_too_minor_opens_at_the_first_severe_one(
    apply, make_source
):
    source = make_source("alertmanager", min_severity="sev2", repositories=[])
    note = IncidentEventRecord("update", T0, "bot", "minor", dedupe_key="n1")

    apply(alert(severity="sev4", events=(note,)), alert(severity="sev2"), into=source)

    incident = Incident.objects.get()
    assert incident.severity == "sev2"
    assert [kind for kind, _ in timeline(incident)] == ["opened"], "nothing from before it"


def test_replaying_records_adds_nothing_to_the_timeline(apply):
    note = IncidentEventRecord("update", T0 + timedelta(minutes=3), "Ada", "Looking", "pd:ev1")
    records = (
        alert(events=(note,), acknowledged_at=T0 + timedelta(minutes=2)),
        alert(resolved_at=T0 + timedelta(hours=1)),
    )
    apply(*records)
    first = timeline(Incident.objects.get())

    apply(*records)
    apply(*records)

    assert timeline(Incident.objects.get()) == first
    assert [kind for kind, _ in first] == ["opened", "acknowledged", "update", "resolved"]


def test_an_update_without_a_dedupe_key_is_still_written_once(apply):
    note = IncidentEventRecord("update", T0, "Ada", "Rolled back")

    apply(alert(events=(note,)))
    apply(alert(events=(note,)))

    assert Incident.objects.get().events.filter(kind="update").count() == 1


def test_an_overlong_link_is_dropped_not_cut(apply):
    apply(alert(url="https://tool.example/" + "x" * 600))

    assert Incident.objects.get().url == ""
