"""IDOR through filters, foreign keys and fields (ECOSYSTEM C7-9): another team's slug in a
filter, a foreign key to another team's object in a body, and read-only fields (status, the
approver, the team) in a PATCH: refused (400/403/404) or ignored, and 0 foreign rows changed.
"""

from __future__ import annotations

from rest_framework.test import APIClient

from pipelines.models import ChangeRequest
from poc.models import Poc
from portal.models import Service
from roadmap.models import Deliverable
from tests.reliability import access_world
from tests.reliability.access_roles import SEES, SEES_CHECKOUT
from tests.reliability.access_world import attempt
from tests.reliability.test_access_matrix import api_endpoints, foreign_rows, rows_of

# The module's world (built once) and each test's way into it.
world = access_world.world
db_in_world = access_world.db_in_world

FOREIGN_FILTERS = "?team=checkout&service=cart-api&owner_team=checkout"


def api_as(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def test_filters_naming_another_team_show_none_of_its_rows(db_in_world):
    world = db_in_world
    kim = api_as(world.users["outsider"])
    lists, refused, leaks = 0, 0, []

    for name, resource, url, methods, addressed in api_endpoints(world.lookups):
        if addressed or "get" not in methods or not name.endswith("-list"):
            continue
        if SEES.get(resource, SEES_CHECKOUT) != SEES_CHECKOUT:
            continue  # organisation-wide: everyone reads every row
        got = attempt(kim, "get", url.split("?")[0] + FOREIGN_FILTERS)
        lists += 1
        if got.status == 400:
            refused += 1  # the filter offers visible teams and services only
        elif got.status != 200:
            leaks.append(f"{url}: {got.status}")
        elif seen := foreign_rows(rows_of(got.response), world.lookups, resource):
            leaks.append(f"{url}: {seen}")

    print(f"\n{lists} lists filtered on Checkout by Mobile's member: {refused} 400, 0 rows shown")
    assert not leaks, leaks


def test_a_foreign_key_to_an_unseen_object_is_answered_as_an_unknown_one(db_in_world):
    """The 400 for another team's slug is word for word the 400 for a slug that does not
    exist: a body cannot probe for what the caller may not see."""
    world = db_in_world
    kim = api_as(world.users["outsider"])
    bodies = {
        "/api/v1/services/": ({"name": "Mine", "team": "{}"}, "team"),
        "/api/v1/pocs/": (
            {"title": "Mine", "tool": "X", "quadrant": "tools", "problem": "P", "team": "{}",
             "starts_on": "2027-01-01", "ends_on": "2027-02-01"},
            "team",
        ),
        "/api/v1/incidents/open/": ({"service": "{}", "title": "Mine"}, "service"),
        "/api/v1/change-requests/": (
            {"team": "{}", "title": "Mine", "requester": "Me"}, "team"
        ),
        "/api/v1/template-assignments/": (
            {"service": "{}", "template": world.lookups["pipelinetemplate"]}, "service"
        ),
    }  # fmt: skip
    foreign = {"team": "checkout", "service": "cart-api"}
    for url, (body, field) in bodies.items():
        answers = []
        for slug in (foreign[field], "no-such-thing"):
            filled = {k: slug if v == "{}" else v for k, v in body.items()}
            got = attempt(kim, "post", url, filled)
            error = got.response.json().get(field, got.response.json())
            answers.append((got.status, str(error).replace(slug, "<slug>"), got.written))
        assert answers[0] == answers[1], (url, answers)
        assert answers[0][0] in (400, 403) and not answers[0][2], (url, answers)
    print(f"\n{len(bodies)} foreign keys to Checkout: answered as unknown, 0 rows written")


def _state() -> list:
    return [
        list(Service.objects.order_by("pk").values_list("slug", "team_id")),
        list(Deliverable.objects.order_by("pk").values_list("slug", "status", "team_id")),
        list(Poc.objects.order_by("pk").values_list("slug", "status", "team_id")),
        list(ChangeRequest.objects.order_by("pk").values_list("number", "status", "team_id")),
    ]


def test_read_only_fields_are_refused_or_ignored(db_in_world):
    world = db_in_world
    mo, kim = api_as(world.users["member"]), api_as(world.users["outsider"])
    lookups = world.lookups
    patches = [
        (mo, f"/api/v1/services/{lookups['service']}/", {"team": "mobile"}),
        (kim, "/api/v1/services/mobile-bff/", {"team": "checkout"}),
        (mo, f"/api/v1/deliverables/{lookups['deliverable']}/", {"status": "accepted"}),
        (mo, f"/api/v1/deliverables/{lookups['deliverable']}/", {"team": "mobile"}),
        (mo, f"/api/v1/pocs/{lookups['poc']}/", {"status": "approved", "team": "mobile"}),
        (mo, f"/api/v1/change-requests/{lookups['changerequest']}/", {"status": "accepted"}),
        (mo, f"/api/v1/change-requests/{lookups['changerequest']}/", {"team": "mobile"}),
        (kim, f"/api/v1/change-requests/{world.mobile_lookups['changerequest']}/",
         {"team": "checkout"}),
        (mo, f"/api/v1/post-incident-reviews/{lookups['postincidentreview']}/",
         {"status": "published", "author": "lee"}),
    ]  # fmt: skip
    before, answers = _state(), []
    for client, url, body in patches:
        got = attempt(client, "patch", url, body, inspect=_state)
        answers.append(got.status)
        assert got.seen_after == before, (url, body, "a refused or ignored field changed a row")
        assert got.status in (200, 400, 403, 404), (url, body, got.status)
        if got.status == 200:  # accepted: the read-only fields must have been ignored
            shown = got.response.json()
            for field, value in body.items():
                assert shown.get(field) != value, (url, field, shown.get(field))
    print(
        f"\n{len(patches)} PATCHes of status/team/approver: "
        f"{sum(a != 200 for a in answers)} refused, {answers.count(200)} ignored, 0 rows changed"
    )
