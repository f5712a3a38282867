"""Raw records -> plain rows for the metric functions (reporting.metrics), for one window.

Reads exactly what the definitions need (docs/metrics.md):

- successful production deployments finished from the window's start on (later ones bound the
  time attribution of incidents to counted deployments);
- the changes those counted deployments brought, with all of each change's deployments, so a
  change first deployed before the window is not counted again;
- incidents opened from the window's start on, or open during the window (rework rule), or
  naming a counted deployment, and the deployments named by explicit attributions.

The rollups (reporting.rollups) are computed from these rows; the explanation page reads them
for the deployments it lists.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from portal.models import Service
from reporting.metrics.dora import (
    ChangeRow,
    DeploymentRow,
    DoraResult,
    IncidentRow,
    Window,
    compute,
)
from reporting.metrics.health import JobRow, RunRow

# Plain SQL with array parameters: a rollup refresh after a 10,000-deployment batch reads tens
# of thousands of ids, and an ORM ``__in`` list compiles one placeholder per id (profiled:
# a fifth of the refresh). Only constants are interpolated; values are parameters (S608).
_DEPLOYMENT = """
    SELECT d.id, d.service_id, d.finished_at, e.is_production, d.status = 'success', d.is_rework
    FROM pipelines_deployment d JOIN portal_environment e ON e.id = d.environment_id"""
_SUCCESSFUL_PRODUCTION = (
    "d.status = 'success' AND e.is_production AND d.service_id = ANY(%(services)s)"
)
# Each query looks ids up in an array the previous one produced: index scans whatever the
# planner believes about the tables (a nested subquery once took minutes on freshly loaded,
# not yet analysed tables).
_QUERIES = {
    "deployments": f"{_DEPLOYMENT} WHERE {_SUCCESSFUL_PRODUCTION} AND d.finished_at >= %(begins)s",
    "changes_of": """
        SELECT DISTINCT change_id FROM pipelines_deployment_changes
        WHERE deployment_id = ANY(%(counted)s)""",
    "links": """
        SELECT change_id, deployment_id FROM pipelines_deployment_changes
        WHERE change_id = ANY(%(changes)s)""",
    "changes": """
        SELECT id, service_id, sha, committed_at FROM pipelines_change
        WHERE id = ANY(%(changes)s)""",
    # Opened from the window's start on, or open during it (rework), or naming a counted
    # deployment (whenever it opened).
    "incidents": """
        SELECT id, service_id, opened_at, resolved_at, deployment_id FROM pipelines_incident
        WHERE service_id = ANY(%(services)s) AND (
            opened_at >= %(begins)s
            OR opened_at < %(ends)s AND (resolved_at IS NULL OR resolved_at > %(begins)s))
        OR deployment_id = ANY(%(counted)s)""",
    "by_id": f"{_DEPLOYMENT} WHERE d.id = ANY(%(ids)s)",
}


def _fetch(cursor, query: str, **parameters) -> list[tuple]:
    cursor.execute(_QUERIES[query], parameters)
    return cursor.fetchall()


def _deployment_rows(rows: list[tuple]) -> dict[int, DeploymentRow]:
    return {row[0]: DeploymentRow(*row) for row in rows}


@dataclass(frozen=True)
class DoraRows:
    """Everything the definitions need for one scope and window (and any window inside it)."""

    deployments: list[DeploymentRow]
    changes: list[ChangeRow]
    incidents: list[IncidentRow]


def dora_for(*, services: QuerySet[Service], window: Window) -> DoraResult:
    """The five keys for ``services`` over ``window``."""
    rows = dora_rows(services=services, window=window)
    return compute(
        window=window, deployments=rows.deployments, changes=rows.changes, incidents=rows.incidents
    )


def dora_rows(*, services: QuerySet[Service], window: Window) -> DoraRows:
    """Read the rows of ``services`` that ``window`` (or any window inside it) needs."""
    scope = {
        "services": list(services.values_list("id", flat=True)),
        "begins": window.begins,
        "ends": window.ends,
    }
    with connection.cursor() as cursor:
        deployments = _deployment_rows(_fetch(cursor, "deployments", **scope))
        scope["counted"] = [d.id for d in deployments.values() if d.finished_at in window]
        scope["changes"] = [row[0] for row in _fetch(cursor, "changes_of", **scope)]
        deployments_of: dict[int, list[int]] = defaultdict(list)
        for change_id, deployment_id in _fetch(cursor, "links", **scope):
            deployments_of[change_id].append(deployment_id)
        changes = [
            ChangeRow(service_id, sha, committed_at, tuple(deployments_of[change_id]))
            for change_id, service_id, sha, committed_at in _fetch(cursor, "changes", **scope)
        ]
        incidents = [IncidentRow(*row) for row in _fetch(cursor, "incidents", **scope)]
        # Earlier deployments of the changes (their first deployment may be before the window)
        # and the deployments incidents name.
        missing = {d for ids in deployments_of.values() for d in ids}
        missing |= {i.deployment_id for i in incidents if i.deployment_id}
        missing -= set(deployments)
        if missing:
            deployments.update(_deployment_rows(_fetch(cursor, "by_id", ids=list(missing))))
    return DoraRows(deployments=list(deployments.values()), changes=changes, incidents=incidents)


# The runs created in a range, and every run on the same commits (any time: a job is flaky
# on a commit when it failed and later passed there, however far apart).
_RUNS = """
    WITH ranged AS (
        SELECT id, service_id, sha FROM pipelines_pipelinerun
        WHERE service_id = ANY(%(services)s) AND created_at >= %(begins)s
          AND created_at < %(ends)s),
    runs AS (
        SELECT id FROM ranged
        UNION
        SELECT r.id FROM pipelines_pipelinerun r
        JOIN (SELECT DISTINCT service_id, sha FROM ranged WHERE sha <> '') commits
          ON r.service_id = commits.service_id AND r.sha = commits.sha)"""
_RUN_ROWS = f"""{_RUNS}
    SELECT r.id, r.service_id, r.status, r.created_at, r.started_at, r.finished_at, r.sha,
           r.branch = s.default_branch
    FROM pipelines_pipelinerun r JOIN portal_service s ON s.id = r.service_id
    WHERE r.id IN (SELECT id FROM runs)"""  # noqa: S608
_JOB_ROWS = f"""{_RUNS}
    SELECT j.run_id, j.name, j.status, j.started_at, j.finished_at, j.runner
    FROM pipelines_jobrun j WHERE j.run_id IN (SELECT id FROM runs)"""  # noqa: S608


def health_rows(*, service_ids: list[int], begins, ends) -> tuple[list[RunRow], list[JobRow]]:
    """The runs of the services created in [begins, ends), the runs on the same commits at
    any time, and the jobs of all of them."""
    scope = {"services": service_ids, "begins": begins, "ends": ends}
    with connection.cursor() as cursor:
        cursor.execute(_RUN_ROWS, scope)
        runs = [RunRow(*row) for row in cursor.fetchall()]
        cursor.execute(_JOB_ROWS, scope)
        jobs = [JobRow(*row) for row in cursor.fetchall()]
    return runs, jobs
