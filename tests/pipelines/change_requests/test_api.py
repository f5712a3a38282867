"""The change requests API: a request raised, triaged, started, linked and delivered, followed
to production in its detail; filters; bad input as field errors; 409s for steps out of order;
who may read (everyone who sees the team) and write (403), with refusals changing nothing."""

from __future__ import annotations

import pytest

from pipelines.change_requests import services
from pipelines.models import ChangeRequest
from tests.pipelines.change_requests.conftest import at

URL = "/api/v1/change-requests/"
NEW = {
    "title": "Export invoices as CSV",
    "requester": "ACME Corp",
    "team": "checkout",
    "value": "high",
    "urgency": "critical",
    "description": "Monthly, for accounting.",
}


def refused(response, status: int, *fields: str) -> dict:
    """A 4xx with a JSON body: ``detail`` or field errors (and these fields among them)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body, dict) and body, body
    for field in fields:
        assert field in body, body
    return body


@pytest.fixture
def mo(org, api_client_for):
    return api_client_for(org.users["mo"])


@pytest.fixture
def lee(org, api_client_for):
    return api_client_for(org.users["lee"])


def _state() -> list[tuple]:
    return list(
        ChangeRequest.objects.order_by("number").values_list(
            "number", "status", "title", "triage_comment", "accepted_at"
        )
    )


def test_a_request_is_followed_from_intake_to_production(org, mo, lee, commit, deploy):
    created = mo.post(URL, NEW)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["key"], body["status"], body["created_by"], body["value"]) == (
        "CR-1", "intake", "mo", "high"
    )  # fmt: skip
    assert (body["changes"], body["deployments"], body["customer_lead_time_seconds"]) == (
        [], [], None
    )  # fmt: skip

    accepted = lee.post(URL + "CR-1/accept/", {"comment": "Top priority"})
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")
    started = mo.post(URL + "cr-1/start/")  # keys in any case
    assert (started.status_code, started.json()["status"]) == (200, "in_progress")
    assert started.json()["started_at"] is not None

    ChangeRequest.objects.filter(number=1).update(accepted_at=at(1))
    keyed = commit("aaaaaaa1", "CR-1: invoices as CSV", hours=2)
    hand = commit("bbbbbbb2", "accounting format", hours=3)
    deploy("staging", "s1", hours=4, changes=[keyed, hand])
    linked = mo.post(URL + "CR-1/links/", {"service": "cart-api", "change": "bbbbbbb"})
    assert linked.status_code == 201, linked.content
    assert (
        mo.post(URL + "CR-1/links/", {"service": "cart-api", "change": "bbbbbbb2"}).status_code
        == 200
    )
    deploy("production", "p1", hours=6, changes=[keyed, hand])
    services.cr_refresh_delivery()

    detail = mo.get(URL + "CR-1/").json()
    assert detail["status"] == "delivered"
    assert detail["delivered_at"] == "2027-03-01T15:00:00Z"
    assert detail["delivered_by"] == {
        "external_id": "p1", "service": "cart-api", "environment": "production",
        "finished_at": "2027-03-01T15:00:00Z",
    }  # fmt: skip
    assert detail["customer_lead_time_seconds"] == 5 * 3600
    assert [(c["sha"], c["by_key"], c["by_hand"]) for c in detail["changes"]] == [
        ("aaaaaaa1", True, False),
        ("bbbbbbb2", False, True),
    ]
    assert [(d["external_id"], d["by_key"], d["by_hand"]) for d in detail["deployments"]] == [
        ("s1", True, True),
        ("p1", True, True),
    ]
    assert [(s["environment"], s["reached_at"], s["deployment"]) for s in
            detail["path_to_production"]] == [
        ("dev", None, None),
        ("staging", "2027-03-01T13:00:00Z", "s1"),
        ("production", "2027-03-01T15:00:00Z", "p1"),
    ]  # fmt: skip
    assert [m["what"] for m in detail["timeline"]][-4:] == [
        "First commit", "Deployed to staging", "Deployed to production", "Delivered",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("", ["Three", "Two", "One"]),
        ("?team=mobile", ["Three"]),
        ("?status=accepted", ["Two"]),
        ("?urgency=high", ["Two"]),
        ("?value=low", ["One"]),
        ("?open=true", ["Three", "Two", "One"]),
        ("?open=false", []),
        ("?q=cr-2", ["Two"]),
        ("?q=globex", ["Three"]),
    ],
)
def test_the_list_filters(org, lee, raise_request, accept, query, titles):
    raise_request("One", value="low")
    accept(raise_request("Two", urgency="high"), hours=1)
    raise_request("Three", by="kim", team=org.mobile, requester="Globex")

    response = lee.get(URL + query)

    assert response.status_code == 200, response.content
    assert [r["title"] for r in response.json()["results"]] == titles


@pytest.mark.parametrize(
    "query", ["?status=done", "?open=maybe", "?team=", "?team=nowhere", "?urgency=", "?value=9"]
)
def test_bad_filters_are_400s(lee, org, query):
    field = query[1:].split("=")[0]
    refused(lee.get(URL + query), 400, field)


def test_another_teams_slug_is_an_unknown_filter(org, api_client_for):
    refused(api_client_for(org.users["kim"]).get(URL + "?team=checkout"), 400, "team")


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"title": ""}, ["title"]),
        ({"title": None}, ["title"]),
        ({"requester": "  "}, ["requester"]),
        ({"value": "huge"}, ["value"]),
        ({"urgency": 3}, ["urgency"]),
        ({"team": "nowhere"}, ["team"]),
        ({"team": "mobile"}, ["team"]),  # a team mo does not see is an unknown slug
        ({"status": "delivered"}, ["status"]),
        ({"number": 7}, ["number"]),
        ({"colour": "red"}, ["colour"]),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(mo, org, change, fields):
    refused(mo.post(URL, {**NEW, **change}), 400, *fields)
    assert _state() == []


def test_a_missing_title_is_a_400(mo):
    refused(mo.post(URL, {k: v for k, v in NEW.items() if k != "title"}), 400, "title")
    assert _state() == []


def test_steps_out_of_order_are_409s(org, mo, lee, raise_request):
    raise_request()

    refused(mo.post(URL + "CR-1/start/"), 409, "detail", "status")
    refused(lee.post(URL + "CR-1/reject/", {}), 400, "comment")
    refused(lee.post(URL + "CR-1/reject/", {"comment": ""}), 400, "comment")
    assert lee.post(URL + "CR-1/accept/", {}).status_code == 200
    body = refused(lee.post(URL + "CR-1/accept/", {}), 409, "detail")
    assert "CR-1 is accepted" in body["detail"]


def test_edits_while_not_delivered(mo, raise_request):
    request = raise_request()

    edited = mo.patch(URL + "CR-1/", {"title": "CSV and PDF", "urgency": "high"})
    assert (edited.status_code, edited.json()["title"]) == (200, "CSV and PDF")
    refused(mo.patch(URL + "CR-1/", {"team": "mobile"}), 400, "team")
    refused(mo.patch(URL + "CR-1/", {"value": "huge"}), 400, "value")
    ChangeRequest.objects.filter(pk=request.pk).update(status="delivered")
    refused(mo.patch(URL + "CR-1/", {"title": "Again"}), 409, "detail")
    assert ChangeRequest.objects.get().title == "CSV and PDF"


def test_links_by_hand_and_their_refusals(org, mo, raise_request, commit, deploy, bff):
    raise_request()
    commit("abcdef1a", "plain", hours=1)
    commit("abcdef1b", "plain too", hours=1)
    commit("k1", "CR-1 done", hours=1)
    deploy("staging", "s1", hours=2)
    links = URL + "CR-1/links/"

    refused(mo.post(links, {"service": "cart-api", "change": "abcdef"}), 400, "change")  # short
    refused(
        mo.post(links, {"service": "cart-api", "change": "abcdef1"}), 400, "change"
    )  # ambiguous
    refused(mo.post(links, {"service": "cart-api", "change": "ffff"}), 400, "change")
    refused(mo.post(links, {"service": "cart-api"}), 400, "change")
    refused(mo.post(links, {"service": "cart-api", "change": "k1", "deployment": "s1"}), 400)
    refused(mo.post(links, {"service": "mobile-bff", "change": "k1"}), 400, "service")  # not his
    refused(mo.post(links, {"service": "cart-api", "deployment": "nope"}), 400, "deployment")
    assert mo.post(links, {"service": "cart-api", "change": "abcdef1a"}).status_code == 201
    assert mo.post(links, {"service": "cart-api", "deployment": "s1"}).status_code == 201

    refused(mo.delete(links + "?service=cart-api&change=k1"), 409, "detail")
    assert mo.delete(links + "?service=cart-api&change=abcdef1a").status_code == 204
    refused(mo.delete(links + "?service=cart-api&change=abcdef1a"), 404, "detail")
    assert mo.delete(links + "?service=cart-api&deployment=s1").status_code == 204
    detail = mo.get(URL + "CR-1/").json()
    assert [c["sha"] for c in detail["changes"]] == ["k1"]
    assert detail["deployments"] == []


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("mo", "CR-1/", 200),
        ("val", "CR-1/", 200),
        ("sam", "CR-1/", 200),
        ("kim", "CR-1/", 404),
        ("mo", "CR-2/", 404),
        ("mo", "CR-0/", 404),
        ("mo", "CR-1234567890/", 404),
        ("mo", "twelve/", 404),
    ],
)
def test_who_reads_what(org, raise_request, api_client_for, who, path, status):
    raise_request()

    response = api_client_for(org.users[who]).get(URL + path)

    assert response.status_code == status, response.content


def test_another_teams_requests_are_absent_from_lists(org, raise_request, api_client_for):
    raise_request()

    assert api_client_for(org.users["kim"]).get(URL).json()["results"] == []
    assert api_client_for(None).get(URL).status_code == 401


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status"),
    [
        ("val", "post", "", NEW, 403),  # a viewer of the team
        ("sam", "post", "", NEW, 403),  # a stakeholder
        ("kim", "post", "", NEW, 400),  # checkout is not a team kim sees
        ("mo", "post", "CR-1/accept/", {}, 403),  # members do not triage
        ("val", "post", "CR-1/accept/", {}, 403),
        ("sam", "post", "CR-1/reject/", {"comment": "no"}, 403),
        ("kim", "post", "CR-1/accept/", {}, 403),  # a member somewhere: refused before the body
        ("val", "patch", "CR-1/", {"title": "x"}, 403),
        ("val", "post", "CR-1/links/", {"service": "cart-api", "change": "x"}, 403),
        ("kim", "patch", "CR-1/", {"title": "x"}, 404),  # another team's request
        ("kim", "post", "CR-1/start/", {}, 404),
    ],
)
def test_refused_writes_change_nothing(org, raise_request, api_client_for, who, method, path,
                                       body, status):  # fmt: skip
    raise_request()
    before = _state()

    response = getattr(api_client_for(org.users[who]), method)(URL + path, body)

    refused(response, status)
    assert _state() == before
