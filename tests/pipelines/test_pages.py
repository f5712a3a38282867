"""The Sources pages (leads and admins) and the delivery pages (everyone, team-scoped)."""

from __future__ import annotations

import pytest

from pipelines.models import CISource, SyncRun


def form_data(**overrides) -> dict:
    return {
        "kind": "gitlab",
        "name": "Acme GitLab",
        "base_url": "https://gitlab.acme.test/api/v4/",
        "token": "glpat-secret",
        "webhook_secret": "hook",
        "repositories": "acme/cart = cart-api",
        "poll_interval_seconds": "300",
        "backfill_days": "90",
        "deployment_pattern": "(?i)deploy",
        "incident_label": "incident",
        **overrides,
    }


def test_a_lead_adds_a_source_in_the_browser_and_its_first_sync_is_queued(client_for, service):
    response = client_for("lee").post("/sources/new/", form_data())

    assert response.status_code == 302
    source = CISource.objects.get()
    assert response["Location"] == f"/sources/{source.slug}/"
    assert source.get_token() == "glpat-secret"
    assert source.repositories == [{"name": "acme/cart", "service": "cart-api"}]
    assert SyncRun.objects.get(source=source).trigger == "manual"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"repositories": "acme/cart = no-such-service"}, "there is no service"),
        ({"repositories": "just-a-name"}, "repository = service-slug"),
        ({"deployment_pattern": "(oops"}, "Not a valid regular expression"),
        ({"kind": "jenkins", "base_url": ""}, "needs its server"),
        ({"poll_interval_seconds": "10"}, "greater than or equal to 60"),
    ],
)
def test_a_bad_form_shows_the_error_and_saves_nothing(client_for, service, overrides, message):
    response = client_for("lee").post("/sources/new/", form_data(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CISource.objects.exists()


def test_editing_with_blank_secrets_keeps_them(client_for, service):
    client = client_for("lee")
    client.post("/sources/new/", form_data())
    source = CISource.objects.get()

    client.post(f"/sources/{source.slug}/edit/", form_data(name="Renamed", token=""))

    source.refresh_from_db()
    assert (source.name, source.get_token()) == ("Renamed", "glpat-secret")


def test_the_detail_page_shows_state_but_never_secrets(client_for, service):
    client = client_for("ada")
    client.post("/sources/new/", form_data())
    source = CISource.objects.get()

    page = client.get(f"/sources/{source.slug}/").content.decode()
    partial = client.get(f"/sources/{source.slug}/", HTTP_HX_REQUEST="true").content.decode()

    assert "glpat-secret" not in page and "glpat-secret" not in partial
    assert f"/webhooks/gitlab/{source.slug}/" in page
    assert "Queued: waiting for a worker" in page
    assert 'hx-trigger="every 2s"' in partial, "a queued sync keeps refreshing itself"


@pytest.mark.parametrize("user", ["sam", "mo", "val"])
def test_sources_are_for_leads_and_admins(client_for, user):
    assert client_for(user).get("/sources/").status_code == 403
    assert client_for(user).get("/sources/new/").status_code == 403


@pytest.mark.parametrize("path", ["/deployments/", "/runs/", "/incidents/"])
def test_delivery_pages_render_an_explained_empty_state(client_for, path):
    response = client_for("mo").get(path)

    assert response.status_code == 200
    assert "yet" in response.content.decode()


def test_delivery_pages_list_only_visible_services(client_for, api_client_for, org, service):
    api_client_for(org.users["lee"]).post(
        "/api/v1/deployments/",
        {
            "external_id": "d1",
            "service": "cart-api",
            "environment": "production",
            "status": "success",
            "started_at": "2026-11-20T10:00:00Z",
            "finished_at": "2026-11-20T10:05:00Z",
            "sha": "a" * 40,
        },
        format="json",
    )

    assert client_for("mo").get("/deployments/").context["page"].paginator.count == 1
    assert client_for("kim").get("/deployments/").context["page"].paginator.count == 0
    assert client_for("mo").get("/deployments/?status=failure").context["page"].paginator.count == 0
