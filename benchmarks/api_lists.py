"""API and page reads on a large organisation: 60 teams, 6,000 services, 1,200 members.

Runs in-process (Django's test client, no network) on a throwaway embedded PostgreSQL, so the
figure is the portal's own cost per request: ORM, access scoping, serialisation, templates.
Target: p95 under 150 ms per request, and a query count that does not grow with the page size.
"""

from __future__ import annotations

import os
import statistics
import time

TEAMS, SERVICES_PER_TEAM, MEMBERS_PER_TEAM = 60, 100, 20
REPEATS = 40


def _generate() -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from portal.models import Membership, Role, Service, Team

    teams = Team.objects.bulk_create(
        Team(name=f"Team {n:02d}", slug=f"team-{n:02d}") for n in range(TEAMS)
    )
    Service.objects.bulk_create(
        Service(
            team=team,
            name=f"{team.slug} service {s:03d}",
            slug=f"{team.slug}-svc-{s:03d}",
            tier=1 + s % 3,
        )
        for team in teams
        for s in range(SERVICES_PER_TEAM)
    )
    password = make_password("bench")
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"{team.slug}-m{m}", password=password)
        for team in teams
        for m in range(MEMBERS_PER_TEAM)
    )
    Membership.objects.bulk_create(
        Membership(user=user, team=teams[i // MEMBERS_PER_TEAM], role=Role.MEMBER)
        for i, user in enumerate(users)
    )
    lead = get_user_model().objects.create(username="bench-lead", password=password)
    Membership.objects.create(user=lead, team=None, role=Role.LEAD)
    return {"lead": lead, "member": users[0]}


def _measure(client, path: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm caches and connections
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    p95 = statistics.quantiles(timings, n=20)[-1]
    return statistics.median(timings), p95, len(queries)


def run() -> list[tuple[str, str, str, str]]:
    from portal import embedded

    servers = embedded.start(ephemeral=True)
    try:
        servers.export()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        os.environ["FLIGHTDECK_HOME"] = str(servers.home)
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        setup_test_environment()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)
        people = _generate()
        rows = []
        for who, paths in [
            (
                "lead",
                [
                    "/api/v1/services/?page_size=100",
                    "/api/v1/teams/?page_size=100",
                    "/services/",
                    "/",
                ],
            ),
            ("member", ["/api/v1/services/?page_size=100", "/"]),
        ]:
            client = Client()
            client.force_login(people[who])
            for path in paths:
                p50, p95, queries = _measure(client, path)
                rows.append(
                    (
                        f"GET {path} as {who}",
                        "p50 / p95, queries",
                        f"{p50:.1f} / {p95:.1f} ms, {queries} queries",
                        "p95 < 150 ms",
                    )
                )
        return rows
    finally:
        servers.stop()
