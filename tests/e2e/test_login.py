"""Journey: sign in, see my teams and services on the home page, sign out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.models import Role
from tests.factories import PASSWORD, MembershipFactory, ServiceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def mo(transactional_db):
    checkout = TeamFactory(name="Checkout", slug="checkout")
    ServiceFactory(team=checkout, name="Cart API", slug="cart-api")
    ServiceFactory(team=TeamFactory(name="Mobile"), name="Mobile BFF", slug="mobile-bff")
    user = UserFactory(username="mo", first_name="Mo", last_name="Rahman")
    MembershipFactory(user=user, team=checkout, role=Role.MEMBER)
    return user


def test_a_member_signs_in_sees_their_team_and_signs_out(page, portal_url, sign_in, mo):
    sign_in("mo", PASSWORD)

    expect(page).to_have_title("Home · Flightdeck")
    expect(page.get_by_role("heading", name="Mo Rahman")).to_be_visible()
    expect(page.get_by_role("link", name="Checkout")).to_be_visible()
    expect(page.get_by_role("link", name="Cart API")).to_be_visible()
    expect(page.get_by_text("Mobile BFF")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(portal_url + "/")
    expect(page).to_have_url(f"{portal_url}/accounts/login/?next=/")


def test_a_wrong_password_is_refused_with_a_message(page, sign_in, mo):
    sign_in("mo", "not the password")

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_title("Sign in · Flightdeck")
