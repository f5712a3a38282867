"""The whole API, walked from its urlconf: every endpoint x method x role against the expected
table of tests/reliability/access_rules.py, in one world (access_world.py).

A new endpoint without a rule fails the walk. A *leak* is a cell where a user saw or changed what
they must not: a 2xx (or rows written) where a refusal was expected, or any answer but 404 for
an object they must not know of. An *unexpected* cell is any other difference from the table.

Order of checks: refused cells are asked with the valid body (a refusal changes nothing even
with good input), and cells on an object the role must not see are asked once more with an
empty body: a 400 there would tell that the object exists (validation before lookup), so it
counts as a leak. On an object the role sees, a 400 instead of 403 reveals nothing new and
would count as unexpected.
"""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from tests.reliability import access_world
from tests.reliability.access_roles import SEES, SEES_CHECKOUT, expected
from tests.reliability.access_rules import rules
from tests.reliability.access_world import ROLES, attempt, url_patterns

# URL keyword -> the world's lookup that fills it (else the endpoint's own resource).
KWARG_LOOKUPS = {
    "roadmap_slug": "roadmap",
    "number": "version",
    "capability": "capability",
    "target_id": "target",
    "item": "trainingitem",
}
RESOURCE_OF = {"service_promotion_api": "service", "review_policy_api": "reviewpolicy"}
METHODS = ("get", "post", "put", "patch", "delete")
OUTSIDERS = ("outsider", "nobody")  # signed in, and no reader of Checkout
QUERIES = {"pipelinetemplate-render-config": "?target=github"}


# The module's world (built once) and each test's way into it.
world = access_world.world
db_in_world = access_world.db_in_world


def api_endpoints(lookups: dict):
    """(name, resource, url, methods, whether the URL names an object) of every /api/v1/ route
    in the urlconf, format-suffix twins and the API root aside."""
    for route, pattern in url_patterns():
        if not route.startswith("api/v1/") or "(?P<format>" in route or "<drf_format" in route:
            continue
        if pattern.name == "api-root":
            continue
        actions = getattr(pattern.callback, "actions", None)
        if actions:
            resource = pattern.callback.initkwargs["basename"]
        else:
            resource = RESOURCE_OF.get(pattern.name)
        kwargs = {
            name: lookups[KWARG_LOOKUPS.get(name, resource)]
            for name in pattern.pattern.regex.groupindex
        }
        if actions:
            # DRF adds "head" (answered as GET) to a viewset's actions on its first request.
            methods = [method for method in actions if method != "head"]
        else:
            view = pattern.callback.view_class
            methods = [m for m in METHODS if hasattr(view, m)]
        url = reverse(pattern.name, kwargs=kwargs) + QUERIES.get(pattern.name, "")
        yield pattern.name, resource, url, methods, bool(kwargs)


def client_for(users: dict, role: str) -> APIClient:
    client = APIClient(raise_request_exception=False)  # a 500 is a cell like any other
    if role != "anonymous":
        client.force_authenticate(users[role])
    return client


def send(client, method: str, url: str, body):
    if body == "FILE":  # the one multipart endpoint: a small text file as evidence
        upload = SimpleUploadedFile("notes.txt", b"evidence", content_type="text/plain")
        return attempt(client, method, url, {"file": upload}, format="multipart")
    return attempt(client, method, url, body)


def rows_of(response) -> list:
    data = response.json()
    return data["results"] if isinstance(data, dict) and "results" in data else data


def foreign_rows(rows: list, lookups: dict, resource: str) -> list:
    """Rows of a list that name a Checkout object: its id, slug or key, its team or service."""
    own = lookups.get(resource)
    return [
        row
        for row in rows
        if isinstance(row, dict)
        and (
            own in (row.get("id"), row.get("slug"), row.get("key"), row.get("service"))
            or {"checkout", "cart-api"} & {v for v in row.values() if isinstance(v, str)}
        )
    ]


def test_every_api_cell_answers_as_the_roles_table_says(db_in_world):
    world = db_in_world
    table = rules(world.lookups)
    clients = {role: client_for(world.users, role) for role in ROLES}
    unmapped, leaks, unexpected, cells, endpoints = [], [], [], 0, 0

    for name, resource, url, methods, addressed in api_endpoints(world.lookups):
        endpoints += 1
        for method in methods:
            rule = table.get((name, method))
            if rule is None:
                unmapped.append(f"{method.upper()} {name}")
                continue
            for role in ROLES:
                want = expected(role, rule, resource)
                got = send(clients[role], method, url, rule.body)
                cells += 1
                where = f"{method.upper()} {url} as {role}: {got.status}, expected {want}"
                refused = want in (401, 403, 404) or (want == 400 and rule.unseen == 400)
                if refused and (got.status < 300 or got.written):
                    leaks.append(f"{where} (wrote {got.written})")
                elif want == 404 and got.status != 404:
                    leaks.append(f"{where} (tells the object exists)")
                elif got.status != want:
                    unexpected.append(where)
                if want == 404 and addressed and method != "get":
                    cells += 1
                    empty = send(clients[role], method, url, {})
                    if empty.status != 404:
                        leaks.append(f"{where}; with an empty body {empty.status}, not 404")
                team_list = SEES.get(resource, SEES_CHECKOUT) == SEES_CHECKOUT and "-list" in name
                if team_list and method == "get" and got.status == 200 and role in OUTSIDERS:
                    seen = foreign_rows(rows_of(got.response), world.lookups, resource)
                    if seen:
                        leaks.append(f"{where}: lists Checkout's {seen}")

    print(
        f"\n{cells} cells ({endpoints} endpoints x {len(ROLES)} roles x methods): "
        f"{len(leaks)} leaks, {len(unexpected)} unexpected"
    )
    assert not unmapped, f"endpoints without a rule in access_rules.py: {unmapped}"
    assert not leaks and not unexpected, "\n".join(["LEAKS", *leaks, "UNEXPECTED", *unexpected])
