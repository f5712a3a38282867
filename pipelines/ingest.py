"""Raw events in, records out: store what arrived, then normalise each event exactly once.

Storing is idempotent (unique ``(source, delivery_id)``: a webhook's delivery id, or a polled
item's content hash), so replays store nothing new. Processing claims the pending events it
takes with one ``UPDATE ... RETURNING`` (two workers never take the same event) and writes
records and event statuses in one transaction, so a killed worker leaves the events pending,
to be processed again, and the upserts make that harmless. A payload that fails validation is
marked failed with a readable reason; it never stops the batch or half-writes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
import pydantic
from django.db import DatabaseError, IntegrityError, connection, transaction

from pipelines.change_requests.services import cr_refresh_queue
from pipelines.connectors.base import (
    Connector,
    RawItem,
    Repository,
    SourceOptions,
    connector_class,
)
from pipelines.models import CISource, RawEvent
from pipelines.policies.evaluation import policies_evaluate_queue
from pipelines.records import records_apply
from pipelines.signals import records_stored
from portal.models import Service

MALFORMED = (pydantic.ValidationError, ValueError, KeyError, TypeError, AttributeError)


def describe_error(error: Exception) -> str:
    """One readable line (healthchecks' format_first_error): where, and what is wrong."""
    if isinstance(error, pydantic.ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        return f"{where}: {first['msg']}{more}"
    return f"{type(error).__name__}: {error}"[:1000]


def service_slug_for(source: CISource, repository: str) -> str | None:
    for entry in source.repositories:
        if str(entry.get("name", "")).lower() == repository.lower():
            return entry.get("service")
    return None


# --- storing -----------------------------------------------------------------------------------


def rawevents_store_items(*, source: CISource, items: Sequence[RawItem]) -> list[int]:
    """Store polled items; return the ids of those not seen before (pending)."""
    delivery_ids = {}
    for item in items:
        delivery_ids.setdefault("poll:" + item.fingerprint(), item)
    RawEvent.objects.bulk_create(
        [
            RawEvent(
                source=source,
                origin=RawEvent.Origin.POLL,
                kind=item.kind,
                repository=item.repository,
                delivery_id=delivery_id,
                payload=item.payload,
                context=item.context,
            )
            for delivery_id, item in delivery_ids.items()
        ],
        ignore_conflicts=True,
    )
    return list(
        RawEvent.objects.filter(
            source=source, delivery_id__in=list(delivery_ids), status=RawEvent.Status.PENDING
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def rawevent_store_webhook(
    *, source: CISource, event: str, delivery_id: str, payload: dict
) -> tuple[RawEvent, bool]:
    """Store one verified delivery. Returns (event, created); a repeat returns the stored one."""
    try:
        with transaction.atomic():
            return RawEvent.objects.create(
                source=source,
                origin=RawEvent.Origin.WEBHOOK,
                kind=event,
                delivery_id=delivery_id,
                payload=payload,
            ), True
    except IntegrityError:
        return RawEvent.objects.get(source=source, delivery_id=delivery_id), False


# --- processing --------------------------------------------------------------------------------


@dataclass(slots=True)
class ClaimedEvent:
    """A raw event taken for processing (lighter than a model instance, thousands per batch)."""

    pk: int
    source_id: int
    origin: str
    kind: str
    repository: str
    payload: dict
    context: dict
    status: str = RawEvent.Status.PROCESSED
    error: str = ""
    source: CISource | None = None


def rawevents_process(*, ids: Sequence[int], evaluate_policies: bool = True) -> Counter:
    """Normalise the pending events among ``ids``; return counts of records and outcomes.

    Then (on commit) the lifecycle policies are evaluated for the services touched, unless
    ``evaluate_policies`` is off: a sync processes batches this way and evaluates once at
    its end."""
    counts: Counter = Counter()
    with transaction.atomic():
        events = _claim(ids)
        if not events:
            return counts
        # Sources once per batch, not joined per event (their JSON state would be decoded again
        # for every row).
        sources = CISource.objects.only(
            "id", "kind", "name", "repositories", "slug", "service_label", "min_severity"
        ).in_bulk({event.source_id for event in events})
        for event in events:
            event.source = sources[event.source_id]
        grouped: dict[tuple[int, str], list] = defaultdict(list)
        events_of_group: dict[tuple[int, str], list[ClaimedEvent]] = defaultdict(list)
        for event in events:
            try:
                produced = _normalise(event)
            except MALFORMED as error:
                event.status, event.error = RawEvent.Status.FAILED, describe_error(error)
                continue
            if not produced:
                event.status = RawEvent.Status.IGNORED
                event.error = (
                    "nothing to record: an event kind we do not use, a repository "
                    "this source does not map to a service, or an alert naming no service"
                )
                continue
            event.status, event.error = RawEvent.Status.PROCESSED, ""
            for slug, records in produced:
                grouped[(event.source_id, slug)].extend(records)
                events_of_group[(event.source_id, slug)].append(event)

        services = Service.objects.in_bulk({slug for _, slug in grouped}, field_name="slug")
        for (source_id, slug), records in grouped.items():
            failed = _apply_group(sources[source_id], services.get(slug), slug, records, counts)
            if failed:
                for event in events_of_group[(source_id, slug)]:
                    event.status, event.error = RawEvent.Status.FAILED, failed
        _mark_exceptions(events)
        if grouped:
            records_stored.send(sender=RawEvent)
            cr_refresh_queue()  # change requests production now carries are delivered
        if evaluate_policies and services:
            policies_evaluate_queue(service_ids=[service.pk for service in services.values()])
    counts.update(event.status for event in events)
    return counts


# Claims, locks and reads the pending events in one write per row: marked processed at once
# (rolled back with everything else if the worker dies), the few exceptions re-marked after.
_CLAIM_SQL = (
    f"UPDATE {RawEvent._meta.db_table} SET status = %s, error = '', "  # noqa: S608
    "processed_at = now(), attempts = attempts + 1 "
    "WHERE id = ANY(%s) AND status = %s "
    "RETURNING id, source_id, origin, kind, repository, payload, context"
)


def _claim(ids: Sequence[int]) -> list[ClaimedEvent]:
    """The pending events among ``ids``, now claimed by this transaction.

    A concurrent claim of the same rows waits for this transaction and then finds them no
    longer pending, so no event is ever normalised twice.
    """
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [RawEvent.Status.PROCESSED, list(ids), RawEvent.Status.PENDING])
        rows = cursor.fetchall()
    # Django leaves jsonb undecoded at the driver (its field decodes it), so decode here.
    return [
        ClaimedEvent(
            pk=row[0],
            source_id=row[1],
            origin=row[2],
            kind=row[3],
            repository=row[4],
            payload=_json(row[5]),
            context=_json(row[6]),
        )
        for row in sorted(rows)
    ]


def _json(value):
    # orjson: several times faster than json on the 2-12 kB payloads a sync reads back.
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _mark_exceptions(events: list[ClaimedEvent]) -> None:
    """Events that did not end as processed: one UPDATE per (status, error)."""
    outcomes: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event in events:
        if event.status != RawEvent.Status.PROCESSED:
            outcomes[(event.status, event.error)].append(event.pk)
    for (status, error), ids in outcomes.items():
        RawEvent.objects.filter(id__in=ids).update(status=status, error=error)


def _normalise(event: ClaimedEvent) -> list[tuple[str, list]]:
    """(service slug, records) for each item the event carries, for mapped repositories.

    Monitoring tools name the service in each alert (``Connector.route``); a name the
    repositories list does not map is then taken as the service's slug."""
    connector: type[Connector] = connector_class(event.source.kind)
    if event.origin == RawEvent.Origin.POLL:
        items = [RawItem(event.kind, event.repository, event.payload, event.context)]
    else:
        items = connector.webhook_items(event.kind, event.payload)
    items = connector.route(items, _options(event.source))
    produced = []
    for item in items:
        slug = service_slug_for(event.source, item.repository)
        if slug is None and connector.names_services and item.repository:
            slug = item.repository
        if slug is not None:
            produced.append((slug, connector.normalise(item)))
    return produced


def _options(source: CISource) -> SourceOptions:
    """What ``Connector.route`` needs of the source (the fields ``rawevents_process`` loads)."""
    return SourceOptions(
        service_label=source.service_label or "service",
        repositories=tuple(
            Repository(name=str(r.get("name", "")), service=str(r.get("service", "")))
            for r in source.repositories
        ),
    )


def _apply_group(source, service, slug, records, counts: Counter) -> str:
    """Apply one service's records in a savepoint; return an error text if it failed."""
    if service is None:
        return f"service {slug!r} (named by the source's mapping or the alert) does not exist"
    try:
        with transaction.atomic():
            counts.update(records_apply(source=source, service=service, records=records))
    except DatabaseError as error:
        return f"could not store the records: {describe_error(error)}"
    return ""
