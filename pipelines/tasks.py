"""Celery interfaces to the pipelines services: ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from pipelines.change_requests.services import cr_refresh_delivery, cr_refresh_taken
from pipelines.connectors.base import POLLED_KINDS
from pipelines.ingest import rawevents_process
from pipelines.models import CISource, RawEvent
from pipelines.policies.evaluation import policies_evaluate
from pipelines.services import sync_source_queue
from pipelines.sync import TransientSyncError, source_sync
from portal.models import Service

WEBHOOK_SWEEP_AFTER_SECONDS = 120


@shared_task(
    acks_late=True,
    # A database error outside the sync proper (the task starting while Postgres restarts) is
    # retried too; inside it, source_sync turns it into a TransientSyncError.
    autoretry_for=(TransientSyncError, OperationalError, InterfaceError),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def source_sync_task(source_id: int, sync_run_id: int, full: bool = False) -> None:
    source_sync(source_id=source_id, sync_run_id=sync_run_id, full=full)


@shared_task(acks_late=True)
def rawevents_process_task(raw_event_ids: list[int]) -> None:
    rawevents_process(ids=raw_event_ids)


@shared_task
def dispatch_due_sources_task() -> int:
    """Queue a sync for every active source whose next poll is due (beat runs this).

    Each source is claimed by a conditional UPDATE of ``next_poll_at`` (hc's sendalerts): if
    two beats fire at once, only the one whose UPDATE changed the row queues the sync.
    """
    now = timezone.now()
    queued = 0
    due = CISource.objects.filter(is_active=True, kind__in=POLLED_KINDS).filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)
    )
    for source in due.only("id", "next_poll_at", "poll_interval_seconds"):
        claimed = CISource.objects.filter(pk=source.pk, next_poll_at=source.next_poll_at).update(
            next_poll_at=now + timezone.timedelta(seconds=source.poll_interval_seconds)
        )
        if claimed:
            sync_source_queue(source=source, trigger="poll")
            queued += 1
    return queued


@shared_task
def sweep_pending_rawevents_task() -> int:
    """Re-queue webhook deliveries still pending after a while (Redis was down, a worker died)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=WEBHOOK_SWEEP_AFTER_SECONDS)
    ids = list(
        RawEvent.objects.filter(status=RawEvent.Status.PENDING, received_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:5000]
    )
    for start in range(0, len(ids), 500):
        rawevents_process_task.delay(ids[start : start + 500])
    return len(ids)


@shared_task(acks_late=True)
def policies_evaluate_task(service_ids: list[int] | None = None) -> dict[str, int]:
    """Evaluate the lifecycle policies' rules for these services (all when None): queued after
    syncs and webhook deliveries, and run by beat every 15 minutes. Idempotent (an upsert)."""
    services = None if service_ids is None else Service.objects.filter(pk__in=service_ids)
    return dict(policies_evaluate(services=services))


@shared_task(acks_late=True)
def change_requests_refresh_task() -> int:
    """Deliver the accepted change requests a production deployment now carries: queued after
    syncs, webhook batches and pushed deployments, and run by beat every 15 minutes.
    Idempotent (a conditional UPDATE per request)."""
    cr_refresh_taken()
    return len(cr_refresh_delivery())
