"""Incidents from normalised records (``records_apply``): upserted, moved forward, with a timeline.

``incidents_apply`` writes one incident per ``(source, service, external id)`` and appends its
timeline (``IncidentEvent``). The rules:

1. Issue trackers send ``snapshot`` records (the issue as it is now): they set the opening and
   the resolution, so an issue reopened upstream reopens its incident. Monitoring tools send
   notifications that come late, twice, or out of order (Alertmanager re-sends firing alerts
   every ``repeat_interval``; an HA pair sends each one twice): their moments only move the
   incident forward, earliest acknowledgement and mitigation kept, a resolution kept, except
   a ``reopened`` event at or after the resolution.
2. The status follows the moments (resolved, mitigated, acknowledged, else triggered); what a
   tool says about the status can only raise it to acknowledged or mitigated.
3. A severity, summary, labels or deployment the record does not give stays as it was: a
   person's triage in the portal survives the next poll.
4. A record less severe than the source's ``min_severity`` does not open an incident; it still
   updates one that exists (a PagerDuty priority lowered after the incident was opened).
5. Timeline: a state change is written when it changes the incident (``opened`` once, then each
   new acknowledgement, mitigation, resolution or reopening), with who from the tool's event;
   updates (notes, priority changes) once per dedupe key. Replays add nothing.

Concurrency: new incidents are inserted with ``ON CONFLICT DO NOTHING RETURNING``; the others
are read ``FOR UPDATE`` and then written, so two workers processing the firing and the resolved
notification of one alert at once cannot undo each other (the second waits for the first).
Callers hold the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection
from django.utils import timezone
from psycopg2.extras import Json, execute_values

from pipelines.connectors.base import SEVERITIES, IncidentRecord, less_severe
from pipelines.connectors.monitoring import event_key
from pipelines.incidents.services import reviews_require
from pipelines.models import CISource, Deployment, Incident, IncidentEvent

FIELDS = (
    "title",
    "opened_at",
    "resolved_at",
    "url",
    "deployment_id",
    "severity",
    "status",
    "acknowledged_at",
    "mitigated_at",
    "summary",
    "labels",
)
UNIQUE = ("source_id", "service_id", "external_id")
MOMENTS = (
    ("acknowledged", "acknowledged_at"),
    ("mitigated", "mitigated_at"),
    ("resolved", "resolved_at"),
)
STATE_CHANGES = {"opened", "acknowledged", "mitigated", "resolved", "reopened"}
STATUSES = ("triggered", "acknowledged", "mitigated", "resolved")

Timeline = list[tuple[str, datetime, str, str, str]]  # kind, at, actor name, text, dedupe key


def incidents_apply(*, source: CISource, service, records: Sequence[IncidentRecord]) -> int:
    """Upsert the incidents of ``records`` (in arrival order) and their timelines; return how
    many incidents were written."""
    if not records:
        return 0
    by_id: dict[str, list[IncidentRecord]] = defaultdict(list)
    for record in records:
        by_id[record.external_id].append(record)
    deployments = dict(
        Deployment.objects.filter(
            source=source,
            service=service,
            external_id__in={r.deployment_external_id for r in records if r.deployment_external_id},
        ).values_list("external_id", "id")
    )

    def fold(row: dict | None, folded: Iterable[IncidentRecord]) -> tuple[dict, Timeline]:
        timeline: Timeline = []
        for record in folded:
            deployment_id = deployments.get(record.deployment_external_id)
            row, entries = _fold(row, record, deployment_id, source.name)
            timeline += entries
        return row, timeline

    # 1. Incidents as the records alone make them, from the first record severe enough.
    fresh: dict[str, tuple[dict, Timeline]] = {}
    for external_id, chain in by_id.items():
        start = next(
            (i for i, r in enumerate(chain) if not less_severe(r.severity, source.min_severity)),
            None,
        )
        if start is not None:
            fresh[external_id] = fold(None, chain[start:])
    inserted = _write(
        source, service, {key: row for key, (row, _) in fresh.items()}, insert_only=True
    )
    entries = [(pk, entry) for key, pk in inserted.items() for entry in fresh[key][1]]

    # 2. The others exist (or are below the minimum and were never opened): moved forward.
    rest = [key for key in by_id if key not in inserted]
    locked = (
        Incident.objects.select_for_update()
        .filter(source=source, service=service, external_id__in=rest)
        .order_by("id")
        .values("id", "external_id", *FIELDS)
    )
    updated: dict[str, dict] = {}
    for current in locked:
        key, pk = current.pop("external_id"), current.pop("id")
        updated[key], timeline = fold(current, by_id[key])
        entries += [(pk, entry) for entry in timeline]
    _write(source, service, updated, insert_only=False)

    IncidentEvent.objects.bulk_create(
        [
            IncidentEvent(
                incident_id=pk,
                kind=kind,
                at=at,
                actor_name=actor[:200],
                text=text,
                dedupe_key=key[:300],
            )
            for pk, (kind, at, actor, text, key) in entries
        ],
        ignore_conflicts=True,  # the partial unique (incident, dedupe_key): replays add nothing
    )
    # A tool resolving a severe incident asks for its review, as the portal's workflow does.
    resolved = [pk for pk, (kind, *_) in entries if kind == IncidentEvent.Kind.RESOLVED]
    if resolved:
        reviews_require(incident_ids=resolved)
    return len(inserted) + len(updated)


def _fold(
    row: dict | None, record: IncidentRecord, deployment_id: int | None, source_name: str
) -> tuple[dict, Timeline]:
    """The incident ``row`` (None: not stored yet) after ``record``, and the timeline entries
    that brings (module docstring, rules 1-3 and 5)."""
    before = row or {}
    new = (
        dict(row)
        if row
        else {
            "title": "",
            "url": "",
            "summary": "",
            "labels": {},
            "severity": "",
            "deployment_id": None,
            "opened_at": record.opened_at,
            "acknowledged_at": None,
            "mitigated_at": None,
            "resolved_at": None,
        }
    )
    new["title"] = record.title[:500] or new["title"]
    if record.url and len(record.url) <= 500:
        new["url"] = record.url
    new["summary"] = record.summary or new["summary"]
    new["labels"] = dict(record.labels) or new["labels"]
    if record.severity in SEVERITIES:
        new["severity"] = record.severity
    if deployment_id is not None:
        new["deployment_id"] = deployment_id
    if record.snapshot:
        new["opened_at"], new["resolved_at"] = record.opened_at, record.resolved_at
    else:
        new["opened_at"] = min(new["opened_at"], record.opened_at)
        for _, field in MOMENTS[:2]:
            new[field] = min((m for m in (new[field], getattr(record, field)) if m), default=None)
        reopened = max((e.at for e in record.events if e.kind == "reopened"), default=None)
        if new["resolved_at"] and reopened and reopened >= new["resolved_at"]:
            new["resolved_at"] = record.resolved_at
        else:
            new["resolved_at"] = new["resolved_at"] or record.resolved_at
    if before.get("resolved_at") and not new["resolved_at"]:
        new["mitigated_at"] = None  # reopened: no longer mitigated either (the workflow's rule)
    new["status"] = _status(new, record.status, before.get("status", ""))
    return new, _timeline(row, new, record, source_name)


def _status(row: dict, said: str, was: str) -> str:
    """From the moments; raised to acknowledged or mitigated when the tool says so now, or
    said so before without a time (an Opsgenie alert acknowledged, its report not yet out)."""
    status = next((name for name, field in reversed(MOMENTS) if row[field]), "triggered")
    for hint in (said, was):
        if hint in ("acknowledged", "mitigated") and STATUSES.index(hint) > STATUSES.index(status):
            status = hint
    return status


def _timeline(row: dict | None, new: dict, record: IncidentRecord, source_name: str) -> Timeline:
    said = {event.kind: event for event in record.events}

    def entry(kind: str, at: datetime, key: str) -> tuple[str, datetime, str, str, str]:
        event = said.get(kind)
        actor = (event.actor_name if event else "") or source_name
        return kind, at, actor, event.text if event else "", key

    timeline: Timeline = []
    if row is None:
        timeline.append(entry("opened", new["opened_at"], "opened"))
    for kind, field in MOMENTS:
        at = new[field]
        if at and at != (row or {}).get(field):
            timeline.append(entry(kind, at, f"{kind}:{at.isoformat()}"))
    if row and row["resolved_at"] and not new["resolved_at"]:
        reopened = said.get("reopened")
        at = reopened.at if reopened else timezone.now()
        timeline.append(entry("reopened", at, f"reopened:{row['resolved_at'].isoformat()}"))
    for event in record.events:
        if event.kind not in STATE_CHANGES:
            key = event.dedupe_key or event_key(event.kind, event.at, event.text)
            actor = event.actor_name or source_name
            timeline.append((event.kind, event.at, actor, event.text, key))
    return timeline


def _write(source, service, rows: dict[str, dict], *, insert_only: bool) -> dict[str, int]:
    """``INSERT ... ON CONFLICT`` of ``rows`` (external id -> fields): ``DO NOTHING`` returning
    the ids of the rows inserted (``insert_only``), else ``DO UPDATE``. Identifiers come from
    model metadata and values are parameters: no injection surface."""
    if not rows:
        return {}
    now = timezone.now()
    columns = [*UNIQUE, *FIELDS, "updated_at"]
    values = [
        (
            source.pk,
            service.pk,
            key,
            *(Json(row[f]) if f == "labels" else row[f] for f in FIELDS),
            now,
        )
        for key, row in rows.items()
    ]
    quoted = ", ".join(f'"{column}"' for column in columns)
    conflict = ", ".join(f'"{column}"' for column in UNIQUE)
    if insert_only:
        action = "NOTHING RETURNING external_id, id"
    else:
        action = "UPDATE SET " + ", ".join(
            f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in UNIQUE
        )
    sql = (
        f'INSERT INTO "{Incident._meta.db_table}" ({quoted}) VALUES %s '  # noqa: S608
        f"ON CONFLICT ({conflict}) DO {action}"
    )
    with connection.cursor() as cursor:
        returned = execute_values(cursor.cursor, sql, values, page_size=1000, fetch=insert_only)
    return dict(returned) if insert_only else {}
