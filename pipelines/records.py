"""Upserting normalised records: idempotent, in bulk, and never moving backwards.

``records_apply`` is the one writer of runs, jobs, deployments, changes and incidents from
connectors (the push API writes through it too). Rules:

1. Every record is keyed on its natural key ((source, external_id); deployments and incidents
   also by service; changes by (service, sha)), so replays and overlapping polls never duplicate.
2. A finished status is never replaced by an unfinished one: a late ``in_progress`` webhook does
   not undo the ``completed`` run a poll already stored.
3. A change's ``committed_at`` only moves earlier: the squash-merged pull request's first commit
   beats the squash commit's own time, whichever arrives first.
4. Links (job -> run, deployment -> run, deployment -> changes, incident -> deployment) are made
   by external id in the same transaction, whatever order the records arrived in.
5. Incidents keep their timeline and only move forward (``pipelines.incident_records``).

Callers hold the transaction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields
from functools import cache

from django.db import connection
from django.utils import timezone
from django.utils.text import slugify
from psycopg2.extras import execute_values

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    IncidentRecord,
    JobRecord,
    Record,
    RunRecord,
    RunStatus,
)
from pipelines.incident_records import incidents_apply
from pipelines.models import Change, CISource, Deployment, JobRun, PipelineRun
from portal import services as core_services
from portal.models import Environment, Service

UNFINISHED = {RunStatus.QUEUED.value, RunStatus.RUNNING.value}
# Set by _link_runs and _apply_deployments after the upsert; an upsert must not clear them.
LINKED_SEPARATELY = {"run_id"}


def _keep_progress(records: Sequence, existing: dict[str, str]) -> list:
    """Drop records that would turn a finished status back into an unfinished one, and keep
    the most advanced record per external id within the batch."""
    chosen: dict[str, object] = {}
    for record in records:
        key = record.external_id
        new_unfinished = record.status.value in UNFINISHED
        if new_unfinished and existing.get(key, RunStatus.QUEUED.value) not in UNFINISHED:
            continue
        previous = chosen.get(key)
        if previous is not None and new_unfinished and previous.status.value not in UNFINISHED:
            continue
        chosen[key] = record
    return list(chosen.values())


def _existing_statuses(model, source: CISource, external_ids: Iterable[str]) -> dict[str, str]:
    return dict(
        model.objects.filter(source=source, external_id__in=list(external_ids)).values_list(
            "external_id", "status"
        )
    )


def _upsert(model, rows: list[dict], unique: list[str]) -> None:
    """``INSERT ... ON CONFLICT (unique) DO UPDATE`` of plain rows (attname -> value).

    Written in SQL through ``execute_values``: building a model instance per row cost more than
    the database's own work (profiled in docs/performance.md). Every row has the same keys;
    rows are unique on ``unique`` within the batch (callers deduplicate).
    """
    if not rows:
        return
    now = timezone.now()
    insert_only = set()
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False):
            for row in rows:
                row[field.attname] = now
        elif getattr(field, "auto_now_add", False):
            insert_only.add(field.attname)
            for row in rows:
                row.setdefault(field.attname, now)
    columns = list(rows[0])
    updates = [
        c
        for c in columns
        if c not in unique and c not in LINKED_SEPARATELY and c not in insert_only
    ]
    quoted = ", ".join('"' + column + '"' for column in columns)
    conflict = ", ".join('"' + column + '"' for column in unique)
    assignments = ", ".join(f'"{column}" = EXCLUDED."{column}"' for column in updates)
    # Identifiers come from model metadata, values are parameters: no injection surface.
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({quoted}) VALUES %s '  # noqa: S608
        f"ON CONFLICT ({conflict}) DO UPDATE SET {assignments}"
    )
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor, sql, [tuple(row[c] for c in columns) for row in rows], page_size=1000
        )


def _environments(names: set[str], hints: dict[str, bool | None]) -> dict[str, Environment]:
    """Environments by name, creating unknown ones (production by the name rule or the hint)."""
    found = {env.name: env for env in Environment.objects.filter(name__in=names)}
    by_slug = {
        env.slug: env
        for env in Environment.objects.filter(slug__in=[slugify(n) for n in names - set(found)])
    }
    for name in sorted(names - set(found)):
        existing = by_slug.get(slugify(name))
        # A vendor's "production" flag can make an environment production; a false flag does
        # not override the name rule (GitHub reports production_environment: false for
        # environments literally named "production").
        found[name] = existing or core_services.environment_create(
            actor=None, name=name, is_production=True if hints.get(name) else None
        )
    return found


def records_apply(*, source: CISource, service: Service, records: Sequence[Record]) -> Counter:
    """Upsert ``records`` of ``service`` from ``source``; return counts by record type."""
    by_type: dict[type, list] = defaultdict(list)
    for record in records:
        by_type[type(record)].append(record)
    counts: Counter = Counter()

    runs = _keep_progress(
        by_type[RunRecord],
        _existing_statuses(PipelineRun, source, (r.external_id for r in by_type[RunRecord])),
    )
    _upsert(
        PipelineRun,
        [
            {"source_id": source.pk, "service_id": service.pk, **_values(run, PipelineRun)}
            for run in runs
        ],
        ["source_id", "external_id"],
    )
    counts["runs"] = len(runs)

    jobs = _keep_progress(
        by_type[JobRecord],
        _existing_statuses(JobRun, source, (j.external_id for j in by_type[JobRecord])),
    )
    _upsert(
        JobRun,
        [{"source_id": source.pk, **_values(job, JobRun)} for job in jobs],
        ["source_id", "external_id"],
    )
    counts["jobs"] = len(jobs)

    deployments = _apply_deployments(source, service, by_type[DeploymentRecord])
    counts["deployments"] = len(deployments)
    counts["changes"] = _apply_changes(source, service, by_type[ChangeRecord])
    counts["incidents"] = _apply_incidents(source, service, by_type[IncidentRecord])
    if runs or jobs:
        _link_runs(source, {r.external_id for r in runs} | {j.run_external_id for j in jobs})
    return counts


def _values(record, model) -> dict:
    """The record's fields as model kwargs: statuses as their values, text cut to the column."""
    values = {f.name: getattr(record, f.name) for f in fields(record)}
    if "status" in values:
        values["status"] = values["status"].value
    for name, value in values.items():
        if isinstance(value, str):
            max_length = _max_lengths(model).get(name)
            if max_length and len(value) > max_length:
                values[name] = value[: max_length - 1] + "…"
    return values


@cache
def _max_lengths(model) -> dict[str, int]:
    return {f.name: f.max_length for f in model._meta.concrete_fields if f.max_length}


def _apply_deployments(source, service, records: list[DeploymentRecord]) -> list:
    existing = dict(
        Deployment.objects.filter(
            source=source, service=service, external_id__in=[d.external_id for d in records]
        ).values_list("external_id", "status")
    )
    deployments = _keep_progress(records, existing)
    if not deployments:
        return []
    environments = _environments(
        {d.environment for d in deployments}, {d.environment: d.is_production for d in deployments}
    )
    objects = []
    for record in deployments:
        values = _values(record, Deployment)
        for transient in ("environment", "is_production", "run_external_id"):
            values.pop(transient)
        objects.append(
            {
                "source_id": source.pk,
                "service_id": service.pk,
                "environment_id": environments[record.environment].pk,
                **values,
            }
        )
    _upsert(Deployment, objects, ["source_id", "service_id", "external_id"])
    run_ids = dict(
        PipelineRun.objects.filter(
            source=source,
            external_id__in=[d.run_external_id for d in deployments if d.run_external_id],
        ).values_list("external_id", "id")
    )
    for record in deployments:
        if record.run_external_id in run_ids:
            Deployment.objects.filter(
                source=source, service=service, external_id=record.external_id
            ).update(run_id=run_ids[record.run_external_id])
    return deployments


def _apply_changes(source, service, records: list[ChangeRecord]) -> int:
    if not records:
        return 0
    merged: dict[str, ChangeRecord] = {}
    for record in records:  # one row per sha in the batch, earliest time, richest details
        merged[record.sha] = _merge_change(merged.get(record.sha), record)
    stored = {c.sha: c for c in Change.objects.filter(service=service, sha__in=list(merged))}
    objects = []
    for sha, record in merged.items():
        old = stored.get(sha)
        objects.append(
            {
                "service_id": service.pk,
                "sha": sha,
                "committed_at": min(record.committed_at, old.committed_at)
                if old
                else record.committed_at,
                "title": (record.title or (old.title if old else ""))[:500],
                "pull_request": record.pull_request or (old.pull_request if old else ""),
                "merged_at": record.merged_at or (old.merged_at if old else None),
                "url": record.url or (old.url if old else ""),
            }
        )
    _upsert(Change, objects, ["service_id", "sha"])

    links = {(r.deployment_external_id, r.sha) for r in records if r.deployment_external_id}
    if links:
        deployment_ids = dict(
            Deployment.objects.filter(
                source=source, service=service, external_id__in={d for d, _ in links}
            ).values_list("external_id", "id")
        )
        change_ids = dict(
            Change.objects.filter(service=service, sha__in={s for _, s in links}).values_list(
                "sha", "id"
            )
        )
        through = Deployment.changes.through
        through.objects.bulk_create(
            [
                through(deployment_id=deployment_ids[d], change_id=change_ids[s])
                for d, s in links
                if d in deployment_ids
            ],
            ignore_conflicts=True,
        )
    return len(objects)


def _merge_change(old: ChangeRecord | None, new: ChangeRecord) -> ChangeRecord:
    if old is None:
        return new
    return ChangeRecord(
        sha=new.sha,
        committed_at=min(old.committed_at, new.committed_at),
        title=new.title or old.title,
        pull_request=new.pull_request or old.pull_request,
        merged_at=new.merged_at or old.merged_at,
        deployment_external_id=new.deployment_external_id or old.deployment_external_id,
        url=new.url or old.url,
    )


def _apply_incidents(source, service, records: list[IncidentRecord]) -> int:
    """Incidents have their own rules (moments that only move forward, timelines, the
    minimum severity): ``pipelines.incident_records``."""
    return incidents_apply(source=source, service=service, records=records)


# Table names come from model metadata and values are parameters: no injection surface.
_JOBS, _RUNS = JobRun._meta.db_table, PipelineRun._meta.db_table
LINK_JOBS_SQL = (
    f"UPDATE {_JOBS} AS job SET run_id = run.id FROM {_RUNS} AS run "  # noqa: S608
    "WHERE job.run_id IS NULL AND job.source_id = %s AND run.source_id = %s "
    "AND run.external_id = job.run_external_id AND job.run_external_id = ANY(%s)"
)


def _link_runs(source: CISource, run_external_ids: set[str]) -> None:
    """Attach the batch's jobs to their runs, whichever arrived first (one statement; limited
    to this batch's runs so it uses the (source, run_external_id) index)."""
    with connection.cursor() as cursor:
        cursor.execute(LINK_JOBS_SQL, [source.pk, source.pk, list(run_external_ids)])
