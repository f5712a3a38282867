"""CSRF on every browser route: a signed-in admin's POST without a token is refused with 403
and changes nothing. Routes come from the URLconf itself (tests/portal/routes.py), so a new
form is covered the day it is added; a route with URL arguments needs a line in
ROUTE_ARGUMENTS (the test says which).

The demo organisation supplies a real object for every argument. As a control, the same POST
from a client that skips the CSRF check must reach the view (not 404): the arguments are real
and the 403 above came from the CSRF check, not from a missing object.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from portal.models import Team
from tests.portal.routes import (
    ROUTE_ARGUMENTS,
    admin_user,
    all_routes,
    browser_paths,
    browser_routes,
    demo_world_load,
)

# Views that may skip the CSRF check, each with its reason. Nothing else may.
CSRF_EXEMPT = {"webhook": "signed by the CI vendor; no browser session"}


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The demo organisation, loaded once for the module and rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_world_load()
        connection.check_constraints()
        yield
        transaction.set_rollback(True)


def test_every_route_with_arguments_has_a_real_object(demo, db):
    missing = [
        p.name
        for _route, p in browser_routes()
        if p.pattern.converters and p.name not in ROUTE_ARGUMENTS
    ]
    assert missing == [], f"add these routes to ROUTE_ARGUMENTS: {missing}"


def test_only_the_listed_views_skip_the_csrf_check(demo, db):
    # DRF's views are exempt from the middleware and check CSRF in SessionAuthentication
    # instead (the next test); Django's admin uses the middleware.
    exempt = [
        p.name
        for route, p in all_routes()
        if getattr(p.callback, "csrf_exempt", False) and not route.startswith("api/")
    ]
    assert sorted(exempt) == sorted(CSRF_EXEMPT)


def test_the_api_refuses_a_session_post_without_a_csrf_token(demo, db):
    admin = admin_user()
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(admin)
    teams = Team.objects.count()

    response = forged.post(
        "/api/v1/teams/", {"name": "Forged", "slug": "forged"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Team.objects.count() == teams


def test_a_post_without_a_csrf_token_is_refused_everywhere_and_changes_nothing(demo, db):
    admin = admin_user()
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(admin)
    body = {"name": "forged", "comment": "forged", "decision": "approve"}

    before = _row_counts()
    refused, reached = [], []
    for path in browser_paths():
        response = forged.post(path, body)
        assert response.status_code == 403, path
        assert b"CSRF verification failed" in response.content, path
        refused.append(path)
        # The control, undone at once: with the check skipped the same POST reaches the view.
        # A fresh session each time (the control of the sign-out route ends its session),
        # rolled back with the rest.
        with transaction.atomic():
            trusted = Client()
            trusted.force_login(admin)
            control = trusted.post(path, body)
            transaction.set_rollback(True)
        assert control.status_code != 404, f"{path}: the arguments name no object"
        if path != reverse("logout"):  # which sends you to the sign-in page, as it should
            assert not control.get("Location", "").startswith(reverse("login")), path
        assert b"CSRF verification failed" not in control.content, path
        reached.append(path)
    after = _row_counts()

    changed = {
        label: (before[label], after[label]) for label in before if before[label] != after[label]
    }
    print(
        f"\n{len(refused)} browser routes: {len(refused)} POSTs without a CSRF token got 403, "
        f"{len(reached)} reached the view with one; rows changed: {len(changed)}"
    )
    assert changed == {}
    assert len(refused) >= 70
