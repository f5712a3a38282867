"""Fast-burn alerts: an incident burning the budget pages once (email and webhook), is not
re-sent while it burns, and resolves once; incident changes evaluate at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from werkzeug import Response

from pipelines.models import RawEvent
from pipelines.signals import records_stored
from reporting.alerts import MAX_ATTEMPTS
from reporting.slos.models import Slo, SloAlert, SloNotification
from reporting.slos.services import slo_create, slo_update, slos_evaluate

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture
def webhook(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver


@pytest.fixture
def eager(settings):
    """Celery runs queued tasks in-process, as a worker would. Through Django's settings, which
    the Celery app reads live: setting ``app.conf`` directly would shadow them for every later
    test (the browser journeys' eager sync among them)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _availability(org, service, **fields) -> Slo:
    fields = {"name": "Availability", "objective": 99.9, "now": NOW - timedelta(hours=1)} | fields
    return slo_create(actor=org.users["lee"], service=service, **fields)


def test_a_fast_burn_pages_once_and_resolves_once(org, service, open_incident, webhook):
    slo = _availability(
        org, service, emails=["oncall@example.com"], webhook_url=webhook.url_for("/hook")
    )
    assert slo.level == Slo.Level.OK and slo.budget_remaining == 1.0
    incident = open_incident(NOW - 10 * MIN)

    first = slos_evaluate(now=NOW)
    again = slos_evaluate(now=NOW + MIN)

    # Open for 10 minutes (test_budget: 1h burns 166.7, 5m 1000 > 13.44; 3d 2.3 and 6h 27.8
    # > 0.933): a page and a ticket, each by email and by webhook.
    assert first == {"evaluated": 1, "errors": 0, "sent": 4, "failed": 0}
    assert again == {"evaluated": 1, "errors": 0, "sent": 0, "failed": 0}
    page = SloAlert.objects.get(slo=slo, level="page")
    assert page.message == (
        "Cart API: Availability (99.9 % available over 28 days) burns its error budget "
        "166.7x over 1h and 1000.0x over 5m (the page limit is 13.44x); 75.2 % of the error "
        "budget left."
    )
    assert sorted(m.subject for m in mail.outbox) == [
        "[Flightdeck] SLO Page (fast burn): Cart API Availability",
        "[Flightdeck] SLO Ticket (slow burn): Cart API Availability",
    ]
    assert mail.outbox[0].to == ["oncall@example.com"]
    hooks = [request.get_json() for request, _response in webhook.log]
    assert sorted((h["level"], h["event"]) for h in hooks) == [
        ("page", "firing"),
        ("ticket", "firing"),
    ]
    assert hooks[0]["slo"] == slo.slug and hooks[0]["service"] == "cart-api"

    # Mitigated two minutes later. 40 minutes on, 5m and 30m hold no downtime: the page
    # resolves; the ticket stays while 6h still burns (12 / 360 / 0.001 = 33).
    incident.mitigated_at = NOW + 2 * MIN
    incident.save()
    later = slos_evaluate(now=NOW + 40 * MIN)

    assert later["sent"] == 2
    page.refresh_from_db()
    assert page.resolved_at == NOW + 40 * MIN
    assert SloAlert.objects.get(slo=slo, level="ticket").resolved_at is None
    assert (
        mail.outbox[-1].subject
        == "[Flightdeck] Resolved: SLO Page (fast burn): Cart API Availability"
    )
    assert webhook.log[-1][0].get_json()["event"] == "resolved"
    slo.refresh_from_db()
    assert slo.level == Slo.Level.TICKET

    # Seven hours on, 6h is clear as well: the ticket resolves. Nothing opens again.
    assert slos_evaluate(now=NOW + timedelta(hours=7))["sent"] == 2
    assert not SloAlert.objects.filter(resolved_at=None).exists()
    assert SloAlert.objects.count() == 2
    assert SloNotification.objects.filter(status="sent").count() == 8


def test_an_slo_nobody_hears_about_still_records_its_alerts(org, service, open_incident):
    _availability(org, service)
    open_incident(NOW - 10 * MIN)
    assert slos_evaluate(now=NOW)["sent"] == 0
    assert SloAlert.objects.filter(resolved_at=None).count() == 2
    assert not SloNotification.objects.exists()


def test_pausing_an_slo_resolves_its_alerts(org, service, open_incident):
    slo = _availability(org, service, emails="oncall@example.com")
    open_incident(NOW - 10 * MIN)
    slos_evaluate(now=NOW)

    slo = slo_update(actor=org.users["lee"], slo=slo, data={"is_active": False}, now=NOW + MIN)

    assert slo.level == Slo.Level.OK
    assert not SloAlert.objects.filter(resolved_at=None).exists()
    assert SloNotification.objects.filter(event="resolved").count() == 2
    assert slos_evaluate(now=NOW + 2 * MIN)["evaluated"] == 0  # paused SLOs are skipped


def test_a_failing_webhook_is_retried_then_given_up(org, service, open_incident, httpserver):
    httpserver.expect_request("/hook").respond_with_response(Response("down", status=503))
    _availability(org, service, webhook_url=httpserver.url_for("/hook"), objective=99.0)
    open_incident(NOW - 90 * MIN)  # 99 %: 1h burns 100, 5m 100: a page; 3d 2.1: a ticket

    assert slos_evaluate(now=NOW)["failed"] == 2
    page = SloNotification.objects.get(alert__level="page")
    assert (page.status, page.attempts) == ("pending", 1)
    assert "503" in page.last_error
    for minute in range(1, MAX_ATTEMPTS):
        slos_evaluate(now=NOW + minute * MIN)
    page.refresh_from_db()
    assert (page.status, page.attempts) == ("failed", MAX_ATTEMPTS)
    assert SloAlert.objects.count() == 2


def test_an_incident_change_evaluates_its_service_at_once(
    org, service, open_incident, eager, django_capture_on_commit_callbacks
):
    now = timezone.now()
    slo = _availability(org, service, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        incident = open_incident(now - 10 * MIN)
    slo.refresh_from_db()
    assert slo.level == Slo.Level.PAGE
    assert SloAlert.objects.filter(slo=slo, level="page", resolved_at=None).exists()

    # Deleted (a mistaken incident): the budget is whole again and the alerts resolve.
    with django_capture_on_commit_callbacks(execute=True):
        incident.delete()
    slo.refresh_from_db()
    assert slo.budget_remaining == 1.0
    assert not SloAlert.objects.filter(resolved_at=None).exists()


def test_an_ingested_batch_evaluates_every_incident_slo(
    org, service, open_incident, eager, django_capture_on_commit_callbacks
):
    now = timezone.now()
    slo = _availability(org, service, now=now)
    # As an ingestion batch's bulk upsert does: rows written without post_save.
    incident = open_incident(now - 10 * MIN)
    type(incident).objects.filter(pk=incident.pk).update(opened_at=now - 20 * MIN)
    with django_capture_on_commit_callbacks(execute=True):
        records_stored.send(sender=RawEvent)
    slo.refresh_from_db()
    # 20 minutes open: the 1h window burns 20 / 60 / 0.001 = 333.3.
    assert slo.burn_rates["1h"] == pytest.approx(1000 / 3, rel=1e-2)
