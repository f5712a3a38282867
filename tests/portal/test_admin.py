"""The admin lists and edits every model; token keys never appear in it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent, Team
from tests.factories import UserFactory


@pytest.fixture
def admin_client(db, client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "model",
    [m for m in admin.site._registry if m._meta.app_label in {"portal", "authtoken", "pipelines"}],
    ids=lambda model: model._meta.label,
)
def test_every_model_has_a_working_changelist(admin_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    assert admin_client.get(url).status_code == 200


def test_token_keys_are_never_shown(admin_client):
    token = Token.objects.create(user=UserFactory(username="bot"))

    pages = [
        reverse("admin:portal_apitoken_changelist"),
        reverse("admin:portal_apitoken_change", args=[token.user_id]),
        reverse("admin:portal_apitoken_delete", args=[token.user_id]),
    ]

    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200
        assert token.key not in response.content.decode()


def test_an_admin_edit_is_audited(admin_client):
    team = Team.objects.create(name="Payments", slug="payments")

    admin_client.post(
        reverse("admin:portal_team_change", args=[team.pk]),
        {
            "name": "Payments",
            "slug": "payments",
            "description": "Cards",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    event = AuditEvent.objects.get(action="team.update")
    assert (event.before["description"], event.after["description"]) == ("", "Cards")
