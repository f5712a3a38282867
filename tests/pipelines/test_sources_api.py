"""CI sources through the API: admins only, secrets write-only and encrypted at rest."""

from __future__ import annotations

import pytest
from django.db import connection

from pipelines.models import CISource, SyncRun
from portal.models import AuditEvent

CANARY = "ghp_CANARY0123456789abcdefCANARY"


@pytest.fixture
def ada(org, api_client_for):
    return api_client_for(org.users["ada"])


def new_source(**overrides) -> dict:
    return {
        "kind": "github",
        "name": "Acme GitHub",
        "token": CANARY,
        "webhook_secret": CANARY + "-hook",
        "repositories": [{"name": "acme/cart", "service": "cart-api"}],
        **overrides,
    }


def test_an_admin_creates_a_source_and_never_gets_its_secrets_back(ada, service):
    created = ada.post("/api/v1/ci-sources/", new_source(), format="json")
    listed = ada.get("/api/v1/ci-sources/")
    detail = ada.get("/api/v1/ci-sources/acme-github/")

    assert created.status_code == 201
    body = created.json()
    assert body["base_url"] == "https://api.github.com/"
    assert (body["has_token"], body["has_webhook_secret"]) == (True, True)
    assert body["webhook_url"].endswith("/webhooks/github/acme-github/")
    for response in (created, listed, detail):
        assert CANARY not in response.content.decode()


def test_secrets_are_encrypted_at_rest_and_kept_out_of_the_audit_log(ada, service):
    ada.post("/api/v1/ci-sources/", new_source(), format="json")

    with connection.cursor() as cursor:
        cursor.execute("SELECT token_ciphertext, webhook_secret_ciphertext FROM pipelines_cisource")
        token, secret = cursor.fetchone()
    assert token.startswith("v1:") and CANARY not in token and CANARY not in secret
    assert CISource.objects.get().get_token() == CANARY
    assert CANARY not in str(list(AuditEvent.objects.values("before", "after")))


def test_changing_the_slug_keeps_the_secrets_readable(ada, service):
    ada.post("/api/v1/ci-sources/", new_source(), format="json")

    response = ada.patch("/api/v1/ci-sources/acme-github/", {"slug": "acme"}, format="json")

    assert response.status_code == 200
    assert CISource.objects.get().get_token() == CANARY


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "circleci"}, "kind"),
        ({"kind": "jenkins"}, "base_url"),
        ({"repositories": [{"name": "a/b", "service": "nope"}]}, "repositories"),
        ({"repositories": [{"name": "a/b", "service": "cart-api"}] * 2}, "repositories"),
        ({"deployment_pattern": "(unclosed"}, "deployment_pattern"),
        ({"poll_interval_seconds": 5}, "poll_interval_seconds"),
        ({"base_url": "ftp://ci.example"}, "base_url"),
    ],
)
def test_bad_source_input_is_a_400(ada, service, overrides, field):
    response = ada.post("/api/v1/ci-sources/", new_source(**overrides), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not CISource.objects.exists()


@pytest.mark.parametrize("user", ["lee", "sam", "mo"])
def test_only_admins_see_or_manage_sources(org, api_client_for, service, user):
    client = api_client_for(org.users[user])

    assert client.get("/api/v1/ci-sources/").status_code == 403
    assert client.post("/api/v1/ci-sources/", new_source(), format="json").status_code == 403


def test_sync_is_queued_with_202(ada, service, django_capture_on_commit_callbacks):
    ada.post("/api/v1/ci-sources/", new_source(), format="json")

    with django_capture_on_commit_callbacks() as callbacks:
        response = ada.post("/api/v1/ci-sources/acme-github/sync/")

    assert response.status_code == 202
    assert SyncRun.objects.get().status == "queued"
    assert len(callbacks) == 1, "the task is sent once the transaction commits"


def test_monitoring_sources_are_set_up_through_the_api_too(ada, service):
    alertmanager = new_source(
        kind="alertmanager", name="Acme Alertmanager", token="", repositories=[],
        base_url="https://alertmanager.acme.example/", service_label="app", min_severity="sev3",
    )  # fmt: skip
    prometheus = new_source(
        kind="prometheus", name="Acme Prometheus", webhook_secret="", repositories=[],
        base_url="https://prometheus.acme.example/",
    )  # fmt: skip

    created = ada.post("/api/v1/ci-sources/", alertmanager, format="json")
    queried = ada.post("/api/v1/ci-sources/", prometheus, format="json")
    refused = ada.post(
        "/api/v1/ci-sources/",
        {**alertmanager, "slug": "am2", "min_severity": "urgent"},
        format="json",
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["service_label"], body["min_severity"]) == ("app", "sev3")
    assert body["webhook_url"].endswith("/webhooks/alertmanager/acme-alertmanager/")
    assert queried.status_code == 201 and queried.json()["webhook_url"] == ""
    assert refused.status_code == 400 and "min_severity" in refused.json()
    assert not CISource.objects.filter(slug="am2").exists()


def test_built_in_sources_are_not_listed(ada, service):
    CISource.objects.create(kind=CISource.Kind.PORTAL, name="Opened in the portal", slug="portal")

    listed = ada.get("/api/v1/ci-sources/").json()

    assert "Opened in the portal" not in str(listed)
