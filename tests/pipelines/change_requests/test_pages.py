"""The change request pages: the list with its intake form and triage buttons, a request
followed to production, the customer lead time table; empty states; team scoping."""

from __future__ import annotations

import pytest
from django.test import Client

from pipelines.change_requests import services
from pipelines.models import ChangeRequest

LIST = "/pipelines/change-requests/"


@pytest.mark.parametrize(
    "path", [LIST, LIST + "CR-1/", LIST + "lead-time/", "/pipelines/promotion/"]
)
def test_pages_need_a_sign_in(db, path):
    response = Client().get(path)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["mo", "val", "sam"])
def test_everyone_has_the_navigation_entries(client_for, who):
    content = client_for(who).get("/").content

    assert b'href="/pipelines/change-requests/"' in content
    assert b'href="/pipelines/promotion/"' in content


def test_a_member_logs_a_request_and_lands_on_it(client_for, org):
    mo = client_for("mo")
    empty = mo.get(LIST)
    assert b"Log the first one" in empty.content

    response = mo.post(
        LIST,
        {"form": "intake", "team": "checkout", "title": "Export invoices as CSV",
         "requester": "ACME Corp", "value": "high", "urgency": "normal"},
    )  # fmt: skip

    assert response.status_code == 302 and response["Location"] == LIST + "CR-1/"
    page = mo.get(LIST + "CR-1/")
    assert b"CR-1 Export invoices as CSV" in page.content
    assert b"Awaiting triage" in page.content


def test_an_incomplete_intake_shows_its_errors_and_saves_nothing(client_for):
    response = client_for("mo").post(
        LIST, {"form": "intake", "team": "checkout", "title": "", "requester": "ACME",
               "value": "high", "urgency": "normal"},
    )  # fmt: skip

    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not ChangeRequest.objects.exists()


def test_viewers_get_no_intake_form_and_an_empty_state_that_says_who_does(client_for):
    content = client_for("val").get(LIST).content

    assert b"Log a customer request" not in content
    assert b"Members of a team log their customers" in content


def test_a_lead_triages_from_the_list(client_for, raise_request):
    raise_request("One")
    raise_request("Two")
    lee = client_for("lee")
    assert b'value="accept"' in lee.get(LIST).content
    assert b'value="accept"' not in client_for("mo").get(LIST).content

    lee.post(LIST, {"form": "triage", "key": "CR-1", "decision": "accept"})
    lee.post(LIST, {"form": "triage", "key": "CR-2", "decision": "reject", "comment": ""})

    assert list(ChangeRequest.objects.order_by("number").values_list("status", flat=True)) == [
        "accepted",
        "intake",  # a rejection needs a reason
    ]
    assert (
        client_for("mo")
        .post(LIST, {"form": "triage", "key": "CR-2", "decision": "accept"})
        .status_code
        == 403
    )


def test_the_request_page_follows_it_to_production(
    org, client_for, raise_request, accept, commit, deploy
):
    request = raise_request()
    accept(request, hours=1)
    services.cr_start(actor=org.users["mo"], request=request)
    change = commit("c0ffee12", "CR-1: invoices as CSV", hours=2)
    deploy("staging", "s1", hours=3, changes=[change])
    deploy("production", "p1", hours=5, changes=[change])
    services.cr_refresh_delivery()

    content = client_for("val").get(LIST + "cr-1/", follow=True).content.decode()

    expected = ["Requested", "Accepted", "In progress", "First commit", "Deployed to staging",
                "Deployed to production", "Delivered", "4.0 h", "c0ffee12", "by key"]  # fmt: skip
    for words in expected:
        assert words in content, words
    assert client_for("kim").get(LIST + "CR-1/").status_code == 404
    assert client_for("mo").get(LIST + "CR-99/").status_code == 404


def test_the_team_starts_links_and_unlinks_on_the_page(org, client_for, raise_request, accept,
                                                       commit):  # fmt: skip
    accept(raise_request(), hours=1)
    commit("feed1234", "plain", hours=2)
    mo = client_for("mo")

    mo.post(LIST + "CR-1/", {"form": "start"})
    mo.post(LIST + "CR-1/", {"form": "link", "kind": "change", "service": "cart-api",
                             "reference": "feed123"})  # fmt: skip
    linked = mo.get(LIST + "CR-1/").content
    bad = mo.post(LIST + "CR-1/", {"form": "link", "kind": "change", "service": "cart-api",
                                   "reference": "nothere"})  # fmt: skip

    assert ChangeRequest.objects.get().status == "in_progress"
    assert b"by hand" in linked and b"feed1234" in linked
    assert b"No such change" in bad.content
    mo.post(LIST + "CR-1/", {"form": "unlink", "kind": "change", "service": "cart-api",
                             "reference": "feed1234"})  # fmt: skip
    assert not ChangeRequest.objects.get().linked_changes.exists()


def test_the_lead_time_page_lists_teams_and_says_what_to_do_when_empty(client_for, raise_request):
    empty = client_for("lee").get(LIST + "lead-time/")
    assert b"No change requests yet" in empty.content

    raise_request()
    page = client_for("lee").get(LIST + "lead-time/?months=3&team=checkout")
    assert page.status_code == 200 and b"Checkout" in page.content
    assert client_for("kim").get(LIST + "lead-time/?team=checkout").status_code == 404
