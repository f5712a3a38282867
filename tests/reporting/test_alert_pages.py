"""The Alerts pages: leads manage rules; bad input gets field errors and saves nothing."""

from __future__ import annotations

import pytest

from portal.models import AuditEvent
from reporting.models import AlertRule

VALID = {
    "name": "CFR over 20%",
    "kind": "dora",
    "metric": "change_failure_rate",
    "comparison": "above",
    "threshold": "20",
    "window_days": "7",
    "hours": "4",
    "emails": "lee@example.com",
    "webhook_url": "",
    "is_active": "on",
}


@pytest.mark.parametrize(
    "username, status", [("ada", 200), ("lee", 200), ("sam", 403), ("mo", 403)]
)
def test_only_leads_and_admins_manage_alerts(client_for, username, status):
    assert client_for(username).get("/metrics/alerts/").status_code == status
    assert client_for(username).get("/metrics/alerts/new/").status_code == status


def test_the_empty_page_says_what_to_do(client_for):
    body = client_for("lee").get("/metrics/alerts/").content.decode()

    assert "No alert rules yet" in body
    assert "No alert has fired yet" in body


def test_a_lead_adds_edits_and_deletes_a_rule(client_for, service):
    lee = client_for("lee")

    response = lee.post("/metrics/alerts/new/", {**VALID, "service": service.pk})
    assert response.status_code == 302, response.content.decode()
    rule = AlertRule.objects.get()
    assert (rule.service, rule.threshold, rule.email_list) == (service, 20.0, ["lee@example.com"])

    response = lee.post(f"/metrics/alerts/{rule.pk}/", {**VALID, "threshold": "15"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.threshold, rule.service) == (15.0, None)
    assert "CFR over 20%" in lee.get("/metrics/alerts/").content.decode()

    assert lee.post(f"/metrics/alerts/{rule.pk}/delete/").status_code == 302
    assert not AlertRule.objects.exists()
    assert list(
        AuditEvent.objects.filter(action__startswith="alert_rule.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["alert_rule.create", "alert_rule.update", "alert_rule.delete"]


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"metric": ""}, "metric", "Choose the DORA key to watch."),
        ({"threshold": ""}, "threshold", "Give the limit."),
        ({"threshold": "-1"}, "threshold", "cannot be negative"),
        ({"threshold": "lots"}, "threshold", "Enter a number."),
        ({"window_days": "0"}, "window_days", "Between 1 and 365 days."),
        ({"kind": "red_branch", "hours": "0"}, "hours", "Between 1 and 720 hours."),
        ({"emails": "lee at example"}, "emails", "Not an email address: lee at example"),
        ({"emails": ""}, "emails", "Give at least one address or a webhook URL"),
        (
            {"webhook_url": "ftp://chat.example.com/"},
            "webhook_url",
            "Use an http:// or https:// URL.",
        ),
        ({"kind": "sometimes"}, "kind", "Select a valid choice."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_input_gets_field_errors_and_saves_nothing(client_for, changes, field, message):
    response = client_for("lee").post("/metrics/alerts/new/", {**VALID, **changes})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in error for error in errors[field]), errors[field]
    assert not AlertRule.objects.exists()


def test_a_team_and_a_service_together_are_refused(client_for, org, service):
    response = client_for("lee").post(
        "/metrics/alerts/new/", {**VALID, "team": org.checkout.pk, "service": service.pk}
    )

    assert "Give a team or a service, not both." in response.context["form"].errors["service"]
    assert not AlertRule.objects.exists()
