"""Customer lead time per team, by hand: accepted -> delivered, the median over the requests
delivered in the period and in each month, beside the team's DORA lead time for changes
(first commit -> first production deployment) over the same days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from pipelines.change_requests import services
from pipelines.change_requests.selectors import lead_time_window, team_lead_times
from reporting.metrics.dora import Window

H = 3600  # seconds in an hour
TODAY = date(2027, 4, 15)  # two months: 1 March - 15 April 2027


@pytest.fixture
def history(org, bff, raise_request, accept, commit, deploy):
    """Times in hours after T0 (1 March 2027 09:00 UTC); lead times in brackets.

    Checkout (Cart API):
      CR-1 accepted h1, delivered by p1 at h5 [4 h]; p1 carries c1 committed h3 [DORA 2 h]
      CR-2 accepted h2, delivered by p2 at h12 [10 h]; p2 carries c2 committed h4 [DORA 8 h]
      CR-3 accepted h2, delivered by p3 at h962 = 10 April 11:00 [960 h]; c3 at h900 [DORA 62 h]
      CR-5 accepted and delivered in February: outside the period
      CR-6 accepted, not delivered: no lead time yet
    Mobile (Mobile BFF):
      CR-4 accepted h0, delivered by m1 at h30 [30 h]; m1 carries no change [no DORA lead time]

    Expected, checkout: March [4, 10] -> 7 h, DORA [2, 8] -> 5 h; April [960] -> 960 h,
    DORA [62] -> 62 h; the period [4, 10, 960] -> 10 h, DORA [2, 8, 62] -> 8 h.
    Mobile: 30 h over the period and in March, none in April; DORA none.
    """
    one, two, three = raise_request("One"), raise_request("Two"), raise_request("Three")
    four = raise_request("Four", by="kim", team=org.mobile)
    five = raise_request("Five", hours=-700)
    six = raise_request("Six")
    accept(one, hours=1)
    accept(two, hours=2)
    accept(three, hours=2)
    accept(four, hours=0)
    accept(five, hours=-690)
    accept(six, hours=3)
    deploy("production", "p1", hours=5, changes=[commit("c1", "CR-1 csv", hours=3)])
    deploy("production", "p2", hours=12, changes=[commit("c2", "CR-2 pdf", hours=4)])
    deploy("production", "p3", hours=962, changes=[commit("c3", "CR-3 xml", hours=900)])
    deploy("production", "p5", hours=-600, changes=[commit("c5", "CR-5 old", hours=-650)])
    deploy("production", "m1", hours=30, ref="release CR-4", on=bff)
    services.cr_refresh_delivery()


def test_the_window_is_whole_months_up_to_today():
    assert lead_time_window(TODAY, 2) == Window(date(2027, 3, 1), TODAY)
    assert lead_time_window(date(2027, 1, 31), 3) == Window(date(2026, 11, 1), date(2027, 1, 31))


def test_each_team_has_its_median_and_monthly_trend_beside_dora(org, history):
    report = team_lead_times(user=org.users["lee"], today=TODAY, months=2)

    assert [m.start for m in report.months] == [date(2027, 3, 1), date(2027, 4, 1)]
    checkout, mobile = report.teams
    assert (checkout.team, mobile.team) == (org.checkout, org.mobile)
    assert (checkout.total.requests, checkout.total.customer_median) == (3, 10 * H)
    assert (checkout.total.dora_median, checkout.total.dora_changes) == (8 * H, 3)
    assert [(c.requests, c.customer_median, c.dora_median) for c in checkout.months] == [
        (2, 7 * H, 5 * H),
        (1, 960 * H, 62 * H),
    ]
    assert (mobile.total.requests, mobile.total.customer_median) == (1, 30 * H)
    assert [(c.requests, c.customer_median, c.dora_median) for c in mobile.months] == [
        (1, 30 * H, None),
        (0, None, None),
    ]


def test_members_see_their_teams_only_and_one_team_can_be_asked_for(org, history):
    assert [r.team for r in team_lead_times(user=org.users["kim"], today=TODAY).teams] == [
        org.mobile
    ]
    only = team_lead_times(user=org.users["lee"], today=TODAY, months=2, team=org.checkout)
    assert [r.team for r in only.teams] == [org.checkout]


@time_machine.travel(datetime(2027, 4, 15, 12, tzinfo=UTC), tick=False)
def test_the_api_gives_the_same_numbers(org, history, api_client_for):
    response = api_client_for(org.users["mo"]).get(
        "/api/v1/change-requests/lead-time/?months=2&team=checkout"
    )

    assert response.status_code == 200, response.content
    [row] = response.json()
    assert (row["team"], row["total"]["customer_lead_time_median"]) == ("checkout", 10 * H)
    assert [m["dora_lead_time_median"] for m in row["months"]] == [5 * H, 62 * H]
    refused = api_client_for(org.users["mo"]).get("/api/v1/change-requests/lead-time/?months=0")
    assert refused.status_code == 400 and "months" in refused.json()
