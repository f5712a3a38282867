"""A canary token stored in a source must not come back from any API answer, page or admin
view (DevLake leaked tokens through endpoints nobody thought of: test them all)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from portal.urls import api_router

CANARY = "ghp_CANARY0123456789abcdefCANARY"


@pytest.fixture
def leaky_source(make_source):
    return make_source("github", token=CANARY, webhook_secret=CANARY + "-hook")


def _pages(source) -> list[str]:
    # Nested routes (e.g. a roadmap's versions) need a parent that this world does not have.
    api = [
        f"/api/v1/{prefix}/"
        for prefix, _viewset, _basename in api_router.registry
        if "(?P<" not in prefix
    ]
    pages = [
        "/",
        "/sources/",
        f"/sources/{source.slug}/",
        f"/sources/{source.slug}/edit/",
        "/deployments/",
        "/runs/",
        "/incidents/",
        "/api/schema/",
        f"/api/v1/ci-sources/{source.slug}/",
    ]
    admin = [
        reverse("admin:pipelines_cisource_changelist"),
        reverse("admin:pipelines_cisource_change", args=[source.pk]),
        reverse("admin:portal_auditevent_changelist"),
    ]
    return api + pages + admin


def test_no_endpoint_page_or_admin_view_shows_the_canary(leaky_source, org):
    org.users["ada"].is_staff = org.users["ada"].is_superuser = True
    org.users["ada"].save()
    client = Client()
    client.force_login(org.users["ada"])

    checked = 0
    for path in _pages(leaky_source):
        response = client.get(path)
        assert response.status_code == 200, path
        assert CANARY not in response.content.decode(), f"secret leaked by {path}"
        checked += 1

    assert checked >= 20
