"""Adding and showing monitoring sources in the browser: the fields each kind uses, no sync for
webhook-only kinds, and the webhook instructions on the source page."""

from __future__ import annotations

import pytest

from pipelines.models import CISource, SyncRun


def form_data(kind: str, **overrides) -> dict:
    return {
        "kind": kind,
        "name": f"Acme {kind}",
        "base_url": "http://alertmanager.example.org:9093/",
        "token": "",
        "webhook_secret": "hook",
        "repositories": "",
        **overrides,
    }


def test_a_lead_adds_an_alertmanager_source_with_no_repositories_and_no_sync(client_for, service):
    response = client_for("lee").post(
        "/sources/new/", form_data("alertmanager", service_label="app", min_severity="sev2")
    )

    assert response.status_code == 302
    source = CISource.objects.get()
    assert (source.kind, source.service_label, source.min_severity) == (
        "alertmanager",
        "app",
        "sev2",
    )
    assert (source.repositories, source.poll_interval_seconds) == ([], 300)
    assert not SyncRun.objects.exists(), "Alertmanager is not polled"


def test_a_pagerduty_source_defaults_its_api_and_needs_a_mapped_service(client_for, service):
    client = client_for("lee")
    refused = client.post("/sources/new/", form_data("pagerduty", base_url=""))
    added = client.post(
        "/sources/new/",
        form_data("pagerduty", base_url="", token="pd-key", repositories="API Service = cart-api"),
    )

    assert "Map at least one PagerDuty service to a service." in refused.content.decode()
    assert added.status_code == 302
    source = CISource.objects.get()
    assert source.base_url == "https://api.pagerduty.com/"
    assert source.repositories == [{"name": "API Service", "service": "cart-api"}]
    assert SyncRun.objects.get(source=source).trigger == "manual"


def test_an_unknown_minimum_severity_is_refused(client_for, service):
    response = client_for("lee").post("/sources/new/", form_data("opsgenie", min_severity="sev9"))

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not CISource.objects.exists()


def test_the_form_marks_the_fields_each_kind_uses(client_for):
    page = client_for("lee").get("/sources/new/").content.decode()

    assert 'data-kinds="alertmanager opsgenie"' in page, "the service label"
    assert 'data-kinds="alertmanager opsgenie pagerduty"' in page, "the minimum severity"
    assert '<option value="prometheus">' in page
    assert '<option value="portal">' not in page and '<option value="push">' not in page


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("alertmanager", "Authorization: Bearer"),
        ("pagerduty", "signing secret"),
        ("opsgenie", "X-Flightdeck-Token"),
    ],
)
def test_the_source_page_says_how_to_send_webhooks(client_for, service, kind, says):
    client = client_for("ada")
    client.post("/sources/new/", form_data(kind, repositories="PF9KMXH = cart-api"))
    source = CISource.objects.get()

    page = client.get(f"/sources/{source.slug}/").content.decode()

    assert f"/webhooks/{kind}/{source.slug}/" in page and says in page
    assert ("Sync now" in page) == (kind != "alertmanager")


def test_a_webhook_only_source_is_not_synced_on_request(client_for, service):
    client = client_for("lee")
    client.post("/sources/new/", form_data("alertmanager"))
    source = CISource.objects.get()

    response = client.post(f"/sources/{source.slug}/sync/", follow=True)

    assert "are not polled" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_editing_a_monitoring_source_keeps_its_secret_and_changes_its_minimum(client_for, service):
    client = client_for("lee")
    client.post("/sources/new/", form_data("opsgenie", min_severity="sev3"))
    source = CISource.objects.get()

    client.post(
        f"/sources/{source.slug}/edit/",
        form_data("opsgenie", webhook_secret="", min_severity=""),
    )

    source.refresh_from_db()
    assert (source.min_severity, source.get_webhook_secret()) == ("", "hook")
