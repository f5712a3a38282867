"""Alert rules: breaches open one alert, notified once by email (a real SMTP server on
loopback) and once by webhook (a real HTTP server), and a resolved notice when they end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from werkzeug import Response

from pipelines.models import CISource, Deployment, Incident, PipelineRun
from pipelines.services import push_source
from portal.models import Environment
from reporting.alerts import MAX_ATTEMPTS, alerts_evaluate
from reporting.models import Alert, AlertNotification, AlertRule
from tests.pipelines.connectors.conftest import closed_port

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def production(db):
    return Environment.objects.create(name="production", slug="production", is_production=True)


def _deploy(service, production, finished: datetime, *, failed: bool = False) -> None:
    source = push_source()
    deployment = Deployment.objects.create(
        source=source,
        service=service,
        environment=production,
        external_id=f"D{finished.isoformat()}",
        status="success",
        finished_at=finished,
    )
    if failed:
        Incident.objects.create(
            source=source,
            service=service,
            external_id=f"I{finished.isoformat()}",
            title="broken",
            opened_at=finished + timedelta(minutes=5),
            resolved_at=finished + timedelta(hours=1),
            deployment=deployment,
        )


def _cfr_rule(**fields) -> AlertRule:
    return AlertRule.objects.create(
        name="Change failure over 20%",
        kind=AlertRule.Kind.DORA,
        metric=AlertRule.Metric.CHANGE_FAILURE_RATE,
        threshold=20,
        window_days=7,
        **fields,
    )


@pytest.fixture
def webhook(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver


def test_a_breach_is_notified_once_then_resolved_once(service, production, webhook, settings):
    """10 deployments over 4-9 March, 3 with an incident: 30% > 20%, a breach on 10 March.
    On 20 March the 7-day window (14-20 March) holds no deployment: nothing to measure, which
    is not a breach, so the alert resolves."""
    for day in range(10):
        _deploy(service, production, NOW - timedelta(hours=12 * day + 1), failed=day < 3)
    rule = _cfr_rule(
        service=service, emails="lee@example.com", webhook_url=webhook.url_for("/hook")
    )

    first = alerts_evaluate(now=NOW)
    again = alerts_evaluate(now=NOW + timedelta(minutes=5))

    assert first == {"opened": 1, "resolved": 0, "sent": 2, "failed": 0}
    assert again == {"opened": 0, "resolved": 0, "sent": 0, "failed": 0}
    alert = Alert.objects.get(rule=rule)
    assert alert.value == pytest.approx(30.0)
    assert "Change failure rate (%) is 30.0 over the last 7 days for Cart API" in alert.message
    assert [m.subject for m in mail.outbox] == ["[Flightdeck] Change failure over 20%"]
    assert mail.outbox[0].to == ["lee@example.com"]
    ((request, _response),) = webhook.log
    assert request.get_json()["event"] == "firing"
    assert "30.0" in request.get_json()["text"]

    resolved = alerts_evaluate(now=NOW + timedelta(days=10))

    assert resolved == {"opened": 0, "resolved": 1, "sent": 2, "failed": 0}
    alert.refresh_from_db()
    assert alert.resolved_at == NOW + timedelta(days=10)
    assert mail.outbox[-1].subject == "[Flightdeck] Resolved: Change failure over 20%"
    assert webhook.log[-1][0].get_json()["event"] == "resolved"


def test_below_the_limit_nothing_fires(service, production):
    """10 deployments, 1 failed: 10% is not above 20%."""
    for day in range(10):
        _deploy(service, production, NOW - timedelta(hours=12 * day + 1), failed=day == 0)
    _cfr_rule(emails="lee@example.com")

    assert alerts_evaluate(now=NOW)["opened"] == 0
    assert not mail.outbox


def test_a_failing_webhook_is_retried_and_then_given_up(service, production, httpserver):
    httpserver.expect_request("/hook").respond_with_response(Response("down", status=503))
    for day in range(4):
        _deploy(service, production, NOW - timedelta(hours=day + 1), failed=True)
    _cfr_rule(webhook_url=httpserver.url_for("/hook"))

    alerts_evaluate(now=NOW)
    notification = AlertNotification.objects.get()
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert "503" in notification.last_error

    for _ in range(MAX_ATTEMPTS - 1):
        alerts_evaluate(now=NOW)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(httpserver.log) == MAX_ATTEMPTS
    assert Alert.objects.count() == 1


def test_an_unreachable_webhook_is_recorded(service, production):
    for day in range(4):
        _deploy(service, production, NOW - timedelta(hours=day + 1), failed=True)
    _cfr_rule(webhook_url=f"http://127.0.0.1:{closed_port()}/hook")

    assert alerts_evaluate(now=NOW)["failed"] == 1
    assert "Connection refused" in AlertNotification.objects.get().last_error


def _run(service, finished: datetime, status: str, branch: str = "main") -> None:
    PipelineRun.objects.create(
        source=push_source(),
        service=service,
        external_id=f"{service.slug}-{finished.isoformat()}",
        name="ci",
        branch=branch,
        status=status,
        created_at=finished - timedelta(minutes=10),
        finished_at=finished,
    )


def test_a_default_branch_red_for_too_long(service, org):
    """cart-api: green 10 h ago, red 6 h and 1 h ago: red for 6 h >= 4 h. app: red 2 h ago
    only (after a green): 2 h < 4 h. A red feature branch does not count."""
    from tests.factories import ServiceFactory

    app = ServiceFactory(team=org.mobile, slug="app", default_branch="main")
    _run(service, NOW - timedelta(hours=10), "success")
    _run(service, NOW - timedelta(hours=6), "failure")
    _run(service, NOW - timedelta(hours=1), "failure")
    _run(app, NOW - timedelta(hours=5), "success")
    _run(app, NOW - timedelta(hours=2), "failure")
    _run(app, NOW - timedelta(hours=9), "failure", branch="feature")
    AlertRule.objects.create(
        name="Red main", kind=AlertRule.Kind.RED_BRANCH, hours=4, emails="lee@example.com"
    )

    alerts_evaluate(now=NOW)

    alert = Alert.objects.get()
    assert alert.subject == "cart-api"
    assert alert.value == pytest.approx(6.0)

    _run(service, NOW + timedelta(minutes=30), "success")
    assert alerts_evaluate(now=NOW + timedelta(hours=1))["resolved"] == 1


def test_a_source_failing_to_sync(db):
    CISource.objects.create(
        kind="github",
        name="GitHub",
        slug="gh",
        last_success_at=NOW - timedelta(hours=5),
        last_error_at=NOW - timedelta(minutes=10),
        last_error="401 Unauthorized: the token was revoked",
    )
    CISource.objects.create(
        kind="gitlab",
        name="GitLab",
        slug="gl",
        last_success_at=NOW - timedelta(minutes=30),
        last_error_at=NOW - timedelta(hours=3),
    )
    AlertRule.objects.create(
        name="Sources", kind=AlertRule.Kind.SOURCE_FAILING, hours=2, emails="ops@example.com"
    )

    alerts_evaluate(now=NOW)

    alert = Alert.objects.get()
    assert alert.subject == "gh"
    assert "token was revoked" in alert.message


def test_email_goes_out_over_smtp(service, production, smtp_server):
    for day in range(4):
        _deploy(service, production, NOW - timedelta(hours=day + 1), failed=True)
    _cfr_rule(emails="lee@example.com\nsam@example.com")

    assert alerts_evaluate(now=NOW)["sent"] == 1

    (envelope,) = smtp_server
    assert envelope.rcpt_tos == ["lee@example.com", "sam@example.com"]
    assert b"Change failure rate (%) is 100.0" in envelope.content
