"""Keep the daily rollups (reporting.models: DoraDay, PipelineDay) equal to the raw records.

Writers call ``refresh_pending`` at the end of their transaction (ingestion, the push API),
reads call it before reading, and a periodic task drains what other paths left (an admin
edit); ``rebuild`` recomputes everything (``manage.py rollup_rebuild``).

A refresh takes the spans the triggers noted, widens each back to the service's previous
successful production deployment (a deployment arriving late takes incidents from it), and
recomputes those days of those services from the raw records with ``dora.compute``: the rows
are always what a rebuild would write.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.db import connection, transaction
from psycopg2.extras import Json, execute_values

from portal.models import Service
from reporting.metrics.daily import split_by_day
from reporting.metrics.dora import Window, compute
from reporting.metrics.health import health_days
from reporting.models import DoraDay, PipelineDay, RollupDirt, pack, pack_split
from reporting.raw_rows import dora_rows, health_rows

LOCK_NAMESPACE = 0x524F4C4C  # "ROLL": advisory locks per service id, 0 for the organisation rows
ORGANISATION_LOCK = 0  # taken before the team and organisation rows are recomputed
BATCH_SLACK_DAYS = 7  # services whose spans differ by less are computed in one read

_CLAIM_SQL = f"""
    WITH gone AS (DELETE FROM {RollupDirt._meta.db_table} RETURNING *)
    SELECT rollup, service_id,
           CASE WHEN bool_or(from_at IS NULL) THEN NULL ELSE min(from_at) END,
           CASE WHEN bool_or(to_at IS NULL) THEN NULL ELSE max(to_at) END
    FROM gone GROUP BY rollup, service_id ORDER BY service_id"""  # noqa: S608

# Per service: the successful production deployment just before a moment (the one a later
# arrival can take incidents from), and the first and last moment it has records for.
_BOUNDS_SQL = """
    SELECT s.service_id,
      (SELECT d.finished_at FROM pipelines_deployment d
        WHERE d.service_id = s.service_id AND d.finished_at < s.from_at
          AND d.status = 'success' AND d.environment_id IN (
            SELECT id FROM portal_environment WHERE is_production)
        ORDER BY d.finished_at DESC LIMIT 1),
      CASE WHEN s.from_at IS NULL THEN LEAST(
        (SELECT min(d.finished_at) FROM pipelines_deployment d WHERE d.service_id = s.service_id),
        (SELECT min(r.created_at) FROM pipelines_pipelinerun r WHERE r.service_id = s.service_id))
      END,
      CASE WHEN s.to_at IS NULL THEN GREATEST(
        (SELECT max(d.finished_at) FROM pipelines_deployment d WHERE d.service_id = s.service_id),
        (SELECT max(r.created_at) FROM pipelines_pipelinerun r WHERE r.service_id = s.service_id))
      END
    FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[])
      AS s(service_id, from_at, to_at)"""
# The last run on any commit that a run created in the span is on: a failure arriving late can
# make a job that passed later on the same commit flaky, so pipeline days are rewritten to it.
_LAST_ON_SAME_COMMITS_SQL = """
    SELECT max(later.created_at) FROM pipelines_pipelinerun r
    JOIN pipelines_pipelinerun later ON later.service_id = r.service_id AND later.sha = r.sha
    WHERE r.service_id = ANY(%s) AND r.created_at >= %s AND r.created_at < %s AND r.sha <> ''"""

_SUMS = """sum(r.deployments), sum(r.failed), sum(r.rework), sum(r.lead_time_count),
    sum(r.recovery_count), string_agg(r.lead_times_whole, ''::bytea),
    string_agg(r.lead_times, ''::bytea), string_agg(r.recovery_times_whole, ''::bytea),
    string_agg(r.recovery_times, ''::bytea)"""
_COLUMNS = """(service_id, team_id, day, deployments, failed, rework, lead_time_count,
    recovery_count, lead_times_whole, lead_times, recovery_times_whole, recovery_times)"""
# Team and organisation rows: sums of the service rows of each day in a window.
_AGGREGATES_SQL = [
    f"""DELETE FROM {DoraDay._meta.db_table}
        WHERE service_id IS NULL AND day BETWEEN %(start)s AND %(end)s""",  # noqa: S608
    f"""INSERT INTO {DoraDay._meta.db_table} {_COLUMNS}
        SELECT NULL, s.team_id, r.day, {_SUMS}
        FROM {DoraDay._meta.db_table} r JOIN portal_service s ON s.id = r.service_id
        WHERE r.day BETWEEN %(start)s AND %(end)s GROUP BY s.team_id, r.day""",  # noqa: S608
    f"""INSERT INTO {DoraDay._meta.db_table} {_COLUMNS}
        SELECT NULL, NULL, r.day, {_SUMS} FROM {DoraDay._meta.db_table} r
        WHERE r.service_id IS NOT NULL AND r.day BETWEEN %(start)s AND %(end)s
        GROUP BY r.day""",  # noqa: S608
]


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def refresh_pending() -> int:
    """Recompute the days the triggers noted since the last refresh; return the services done."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL)
        noted = cursor.fetchall()
        if not noted:
            return 0
        dora = _spans(cursor, [row[1:] for row in noted if row[0] == RollupDirt.Rollup.DORA])
        pipelines = _spans(cursor, [row[1:] for row in noted if row[0] != RollupDirt.Rollup.DORA])
        # Service locks in id order, then the organisation's: concurrent refreshes queue, and
        # the later one reads what the earlier one committed.
        for service_id in sorted(dora.keys() | pipelines.keys()):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, service_id])
        for window, service_ids in _batches(pipelines):
            _recompute_health(cursor, service_ids, window)
        batches = _batches(dora)
        for window, service_ids in batches:
            _recompute(cursor, service_ids, window)
        if batches:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, ORGANISATION_LOCK]
            )
        for window in _merged({window for window, _ids in batches}):
            _recompute_aggregates(cursor, window)
    return len(dora.keys() | pipelines.keys())


def _spans(cursor, noted) -> dict[int, Window]:
    """Service id -> the days to recompute, widened back to the deployment before the first."""
    if not noted:
        return {}
    cursor.execute(_BOUNDS_SQL, [list(column) for column in zip(*noted, strict=True)])
    bounds = {row[0]: row[1:] for row in cursor.fetchall()}
    spans = {}
    now = datetime.now(UTC)
    for service_id, from_at, to_at in noted:
        previous, first, last = bounds[service_id]
        # Unbounded ends reach the service's first or last record (none left: only stale rows
        # to remove); the start goes back to the deployment before it.
        start_at = from_at or first or to_at or now
        end_at = max(to_at or last or start_at, start_at)
        if previous is not None:
            start_at = min(start_at, previous)
        spans[service_id] = Window(_day(start_at), _day(end_at))
    return spans


def _batches(spans: dict[int, Window]) -> list[tuple[Window, list[int]]]:
    """Services grouped so that each group is read once, without reading far more than needed."""
    batches: list[tuple[Window, list[int]]] = []
    for service_id, span in sorted(spans.items(), key=lambda item: item[1].start):
        if batches:
            window, ids = batches[-1]
            union = Window(min(window.start, span.start), max(window.end, span.end))
            if union.days <= max(window.days, span.days) + BATCH_SLACK_DAYS:
                batches[-1] = (union, [*ids, service_id])
                continue
        batches.append((span, [service_id]))
    return batches


def _merged(windows: set[Window]) -> list[Window]:
    merged: list[Window] = []
    for window in sorted(windows, key=lambda w: w.start):
        if merged and window.start.toordinal() <= merged[-1].end.toordinal() + 1:
            merged[-1] = Window(merged[-1].start, max(merged[-1].end, window.end))
        else:
            merged.append(window)
    return merged


def _recompute(cursor, service_ids: list[int], window: Window) -> None:
    """Replace the rows of ``service_ids`` in ``window`` with what the raw records give."""
    rows = dora_rows(services=Service.objects.filter(pk__in=service_ids), window=window)
    result = compute(
        window=window, deployments=rows.deployments, changes=rows.changes, incidents=rows.incidents
    )
    cursor.execute(
        f"DELETE FROM {DoraDay._meta.db_table} "  # noqa: S608
        "WHERE service_id = ANY(%s) AND day BETWEEN %s AND %s",
        [service_ids, window.start, window.end],
    )
    _insert(cursor, split_by_day(result))


def _insert(cursor, days) -> None:
    execute_values(
        cursor.cursor,
        f"INSERT INTO {DoraDay._meta.db_table} {_COLUMNS} VALUES %s",  # noqa: S608
        [
            (
                service_id,
                None,
                totals.day,
                totals.deployments,
                totals.failed,
                totals.rework,
                len(totals.lead_times),
                len(totals.recovery_times),
                *pack_split(totals.lead_times),
                *pack_split(totals.recovery_times),
            )
            for (service_id, _day), totals in days.items()
        ],
        page_size=1000,
    )


def _recompute_health(cursor, service_ids: list[int], window: Window) -> None:
    """Replace the pipeline days of ``service_ids`` in ``window``, and up to the last run on
    the same commits as its runs."""
    cursor.execute(_LAST_ON_SAME_COMMITS_SQL, [service_ids, window.begins, window.ends])
    (last,) = cursor.fetchone()
    days = Window(window.start, max(window.end, _day(last)) if last else window.end)
    runs, jobs = health_rows(service_ids=service_ids, begins=days.begins, ends=days.ends)
    parts = health_days(runs, jobs, now=datetime.now(UTC))
    cursor.execute(
        f"DELETE FROM {PipelineDay._meta.db_table} "  # noqa: S608
        "WHERE service_id = ANY(%s) AND day BETWEEN %s AND %s",
        [service_ids, days.start, days.end],
    )
    execute_values(
        cursor.cursor,
        f"INSERT INTO {PipelineDay._meta.db_table} (service_id, day, decided, succeeded, "  # noqa: S608
        "durations, queues, main_runs, details) VALUES %s",
        [
            (
                service_id,
                part.day,
                part.decided,
                part.succeeded,
                pack(part.durations),
                pack(part.queues),
                part.main_runs.tobytes(),
                Json(
                    {
                        "runners": part.runner_minutes,
                        "jobs": part.job_durations,
                        "flaky": part.flaky,
                    }
                ),
            )
            for (service_id, day), part in parts.items()
            if days.start <= day <= days.end
        ],
        page_size=1000,
    )


def _recompute_aggregates(cursor, window: Window) -> None:
    """The team and organisation rows of ``window`` from its service rows."""
    for statement in _AGGREGATES_SQL:
        cursor.execute(statement, {"start": window.start, "end": window.end})


def rebuild() -> int:
    """Recompute every rollup row from the raw records; return the rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        for service_id in Service.objects.order_by("pk").values_list("pk", flat=True):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, service_id])
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, ORGANISATION_LOCK])
        RollupDirt.objects.all().delete()
        DoraDay.objects.all().delete()
        PipelineDay.objects.all().delete()
        cursor.execute(
            "SELECT service_id, min(at), max(at) FROM ("
            " SELECT service_id, finished_at AS at FROM pipelines_deployment"
            " WHERE finished_at IS NOT NULL"
            " UNION ALL SELECT service_id, created_at FROM pipelines_pipelinerun"
            ") records GROUP BY service_id ORDER BY service_id"
        )
        spans = {sid: Window(_day(first), _day(last)) for sid, first, last in cursor.fetchall()}
        for service_id, span in spans.items():
            _recompute(cursor, [service_id], span)
            _recompute_health(cursor, [service_id], span)
        for window in _merged(set(spans.values())):
            _recompute_aggregates(cursor, window)
        return DoraDay.objects.count() + PipelineDay.objects.count()
