"""DORA metrics at size: 200 services in 20 teams, 1,000,000 deployments, 3,000,000 changes,
20,000 incidents and 5,000,000 pipeline runs over two years, on a throwaway embedded PostgreSQL.

Targets (issue 4): organisation DORA over 365 days p95 <= 150 ms through the API, one service
<= 30 ms, a dashboard page <= 300 ms; 10,000 new deployments update the rollups in <= 2 s. The
ratio to a plain ``SELECT count(*)`` over the deployments table is reported for scale.

Requests go through Django's test client in-process (ORM, access scoping, serialisation,
templates; no network), as in api_lists.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta

TEAMS, SERVICES_PER_TEAM = 20, 10
DEPLOYMENTS, CHANGES_PER_DEPLOYMENT = 1_000_000, 3
INCIDENTS, RUNS = 20_000, 5_000_000
DAYS = 730
NEW_DEPLOYMENTS = 10_000
REPEATS = 40

# Generated in SQL: building 9 million rows through the ORM would take longer than the benchmark.
# Triggers are off while generating (session_replication_role); the rollups are then rebuilt,
# and that rebuild is timed too.
_GENERATE = [
    """
    INSERT INTO pipelines_deployment (source_id, external_id, status, started_at, finished_at,
        url, updated_at, service_id, environment_id, sha, ref, is_rework, created_at)
    SELECT %(source)s, 'd' || g,
        CASE WHEN g %% 10 = 0 THEN 'failure' ELSE 'success' END,
        t - interval '6 minutes', t, '', now(),
        (%(services)s::bigint[])[1 + g %% %(service_count)s],
        CASE WHEN g %% 7 = 0 THEN %(staging)s ELSE %(production)s END,
        md5(g::text), 'main', g %% 40 = 0, now()
    FROM (SELECT g, %(since)s::timestamptz + (g::float8 / %(deployments)s * %(days)s)
                 * interval '1 day' + (g %% 97) * interval '1 minute' AS t
          FROM generate_series(1, %(deployments)s) g) x
    """,
    """
    INSERT INTO pipelines_change (service_id, sha, committed_at, title, pull_request, url)
    SELECT d.service_id, d.id || '-' || k,
        d.finished_at - ((d.id * 7919 + k * 104729) %% 600000) * interval '1 second',
        'change', '', ''
    FROM pipelines_deployment d, generate_series(1, %(changes_per_deployment)s) k
    """,
    """
    INSERT INTO pipelines_deployment_changes (deployment_id, change_id)
    SELECT split_part(sha, '-', 1)::bigint, id FROM pipelines_change
    """,
    """
    INSERT INTO pipelines_incident (source_id, external_id, service_id, title, opened_at,
        resolved_at, url, updated_at, severity, status, summary, labels)
    SELECT %(source)s, 'i' || d.id, d.service_id, 'incident',
        d.finished_at + (d.id %% 360) * interval '1 minute',
        d.finished_at + (d.id %% 360 + 20 + d.id %% 1400) * interval '1 minute', '', now(),
        '', 'resolved', '', '{}'
    FROM pipelines_deployment d
    WHERE d.id %% (%(deployments)s / %(incidents)s) = 1
    """,
    """
    INSERT INTO pipelines_pipelinerun (source_id, external_id, status, started_at, finished_at,
        url, updated_at, service_id, name, branch, sha, event, attempt, created_at)
    SELECT %(source)s, 'r' || g, CASE WHEN g %% 9 = 0 THEN 'failure' ELSE 'success' END,
        t + interval '40 seconds', t + (300 + g %% 900) * interval '1 second', '', now(),
        (%(services)s::bigint[])[1 + g %% %(service_count)s], 'ci', 'main', md5(g::text),
        'push', 1, t
    FROM (SELECT g, %(since)s::timestamptz + (g::float8 / %(runs)s * %(days)s)
                 * interval '1 day' AS t
          FROM generate_series(1, %(runs)s) g) x
    """,
]


def _generate(
    now: datetime, *, deployments: int = DEPLOYMENTS, incidents: int = INCIDENTS, runs: int = RUNS
) -> dict:
    """The data set in SQL; the load test (benchmarks/load.py) reuses it at a smaller size."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from pipelines.services import push_source
    from portal.models import Environment, Membership, Role, Service, Team

    teams = Team.objects.bulk_create(
        Team(name=f"Team {n:02d}", slug=f"team-{n:02d}") for n in range(TEAMS)
    )
    services = Service.objects.bulk_create(
        Service(team=team, name=f"{team.slug} svc {s}", slug=f"{team.slug}-svc-{s}")
        for team in teams
        for s in range(SERVICES_PER_TEAM)
    )
    production = Environment.objects.create(
        name="production", slug="production", is_production=True
    )
    staging = Environment.objects.create(name="staging", slug="staging", position=1)
    lead = get_user_model().objects.create(username="bench-lead")
    Membership.objects.create(user=lead, team=None, role=Role.LEAD)
    parameters = {
        "source": push_source().pk,
        "services": [s.pk for s in services],
        "service_count": len(services),
        "production": production.pk,
        "staging": staging.pk,
        "since": now - timedelta(days=DAYS),
        "days": DAYS,
        "deployments": deployments,
        "changes_per_deployment": CHANGES_PER_DEPLOYMENT,
        "incidents": incidents,
        "runs": runs,
    }
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        for statement in _GENERATE:
            started = time.perf_counter()
            cursor.execute(statement, parameters)
            print(f"generated {cursor.rowcount:,} rows in {time.perf_counter() - started:.0f} s")
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE")
    return {"lead": lead, "service": services[0], "team": teams[0]}


def _measure(client, path: str) -> tuple[float, float]:
    client.get(path)  # warm caches and connections
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return statistics.median(timings), statistics.quantiles(timings, n=20)[-1]


def _count_ms() -> float:
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        for _ in range(5):
            started = time.perf_counter()
            cursor.execute("SELECT count(*) FROM pipelines_deployment")
            cursor.fetchone()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _ingest(now: datetime) -> tuple[float, float]:
    """10,000 deployments (50 per service, 3 changes each) through records_apply, the path
    connectors and the push API write through; then the rollup refresh, timed apart."""
    from django.db import transaction

    from pipelines.connectors.base import ChangeRecord, DeploymentRecord, RunStatus
    from pipelines.records import records_apply
    from pipelines.services import push_source
    from portal.models import Service
    from reporting.rollups import refresh_pending

    source = push_source()
    services = list(Service.objects.order_by("pk"))
    per_service = NEW_DEPLOYMENTS // len(services)
    with transaction.atomic():
        started = time.perf_counter()
        for service in services:
            records = []
            for n in range(per_service):
                finished = now - timedelta(minutes=5 * n + 1)
                external_id = f"new-{service.pk}-{n}"
                records.append(
                    DeploymentRecord(
                        external_id=external_id,
                        environment="production",
                        status=RunStatus.SUCCESS,
                        started_at=finished - timedelta(minutes=6),
                        finished_at=finished,
                        sha=f"{external_id}-c",
                    )
                )
                records += [
                    ChangeRecord(
                        sha=f"{external_id}-{k}",
                        committed_at=finished - timedelta(hours=k + 1),
                        deployment_external_id=external_id,
                    )
                    for k in range(CHANGES_PER_DEPLOYMENT)
                ]
            records_apply(source=source, service=service, records=records)
        stored = time.perf_counter()
        refresh_pending()
        refreshed = time.perf_counter()
    return stored - started, refreshed - stored


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

        from reporting.rollups import rebuild

        setup_test_environment()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        people = _generate(now)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        rows_written = rebuild()
        rebuilt = time.perf_counter() - started
        print(f"generated in {generated:.0f} s; rebuilt {rows_written:,} rows in {rebuilt:.0f} s")

        client = Client()
        client.force_login(people["lead"])
        end = now.date()
        year = f"start={end - timedelta(days=364)}&end={end}"
        count_ms = _count_ms()
        rows = [
            (
                "DORA data set",
                "generate / rollup_rebuild",
                f"{generated:.0f} s / {rebuilt:.0f} s ({rows_written:,} rows)",
                "-",
            ),
            ("DORA data set", "SELECT count(*) FROM deployments", f"{count_ms:.1f} ms", "-"),
        ]
        for label, path, target in [
            ("organisation, 365 days", f"/api/v1/metrics/dora/?{year}", 150),
            (
                "one service, 365 days",
                f"/api/v1/metrics/dora/?service={people['service'].slug}&{year}",
                30,
            ),
            ("one team, 365 days", f"/api/v1/metrics/dora/?team={people['team'].slug}&{year}", 150),
            ("organisation weekly trend, 365 days", f"/api/v1/metrics/dora/trend/?{year}", 150),
            ("dashboard page, organisation, 90 days", "/metrics/", 300),
            ("dashboard page, organisation, 365 days", "/metrics/?days=365", 300),
        ]:
            p50, p95 = _measure(client, path)
            rows.append(
                (
                    f"GET {label}",
                    "p50 / p95 (p95 / count(*))",
                    f"{p50:.1f} / {p95:.1f} ms ({p95 / count_ms:.1f}x)",
                    f"p95 <= {target} ms",
                )
            )
        stored, refreshed = _ingest(now)
        rows.append(
            (
                f"ingest {NEW_DEPLOYMENTS:,} deployments x {CHANGES_PER_DEPLOYMENT} changes",
                "store / rollup update",
                f"{stored:.2f} s / {refreshed:.2f} s",
                "rollup update <= 2 s",
            )
        )
        return rows
    finally:
        servers.stop()
