"""Journey: a lead adds a GitLab source in the browser, its first sync runs, runs appear.

The GitLab API is a real loopback server serving recorded pipelines; the sync task runs eagerly
(the live server has no Celery worker), so the page after saving shows the finished sync.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.models import Role
from tests.factories import PASSWORD, MembershipFactory, ServiceFactory, TeamFactory, UserFactory
from tests.pipelines.conftest import GITLAB_PROJECT
from tests.pipelines.test_sync import PIPELINES, serve_project

pytestmark = pytest.mark.e2e


@pytest.fixture
def lee(transactional_db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    team = TeamFactory(name="Checkout", slug="checkout")
    ServiceFactory(team=team, name="Cart API", slug="cart-api")
    user = UserFactory(username="lee", first_name="Lee", last_name="Chen")
    MembershipFactory(user=user, team=None, role=Role.LEAD)
    return user


def test_a_lead_adds_a_gitlab_source_and_sees_its_runs(page, portal_url, sign_in, lee, httpserver):
    serve_project(httpserver)
    sign_in("lee", PASSWORD)

    page.get_by_role("link", name="Sources").click()
    expect(page.get_by_role("heading", name="No CI sources yet")).to_be_visible()
    page.get_by_role("link", name="Add a source").first.click()
    page.get_by_label("Kind").select_option("gitlab")
    page.get_by_label("Name").fill("Acme GitLab")
    page.get_by_label("Base URL").fill(httpserver.url_for("/api/v4/"))
    page.get_by_label("Token").fill("glpat-e2e")
    page.get_by_label("Webhook secret").fill("hook-secret")
    page.get_by_label("Repositories").fill(f"{GITLAB_PROJECT} = cart-api")
    page.get_by_label("First sync reads (days)").fill("3650")
    page.get_by_role("button", name="Add and sync").click()

    expect(page.get_by_role("heading", name="Acme GitLab")).to_be_visible()
    expect(page.locator("#sync-status")).to_contain_text("success")
    expect(page.get_by_text("glpat-e2e")).to_have_count(0)

    page.get_by_role("link", name="Delivery").click()
    page.get_by_role("link", name="Pipeline runs").click()
    expect(page.get_by_text(f"{len(PIPELINES)} records")).to_be_visible()
    expect(page.get_by_role("link", name="Cart API").first).to_be_visible()
