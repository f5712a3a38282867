"""Evaluating SLOs (docs/slos.md): measure, record, alert; and queueing evaluations.

1. Measure: from the service's incident impact windows (the database), or from Prometheus
   (network, outside any transaction: reporting.slos.prometheus).
2. Record, in one transaction holding the SLO's row lock: the numbers in one UPDATE, then the
   alerts that open or resolve with their outbox rows (reporting.slos.alerts). A measurement
   older than the one recorded already is dropped (a slow Prometheus answer must not
   overwrite a newer incident-triggered evaluation).
3. A failed measurement records only ``last_error``/``last_error_at``: the previous numbers
   and alerts stay, as nobody can tell whether the budget still burns.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from reporting.slos import alerts, budget, selectors
from reporting.slos.models import Slo, SloNotification
from reporting.slos.prometheus import PrometheusError, prometheus_status

logger = logging.getLogger(__name__)

EVALUATION_INTERVAL = timedelta(seconds=60)  # beat's claim: once a minute per SLO
QUEUED_SECONDS = 300  # an incident-triggered evaluation queued and not started yet


# --- evaluation ----------------------------------------------------------------------------------


def slo_measure(slo: Slo, *, now: datetime) -> budget.Status:
    """The SLO's status at ``now``; raises PrometheusError when Prometheus gives none."""
    if slo.measurement == Slo.Measurement.INCIDENTS:
        since = now - max(slo.window, max(budget.BURN_WINDOWS.values()))
        intervals = selectors.impact_intervals(slo=slo, since=since, now=now)
        return budget.incident_status(intervals, target=slo.target, window=slo.window, now=now)
    threshold = (
        slo.latency_threshold_ms / 1000 if slo.query_result == Slo.QueryResult.LATENCY else None
    )
    return prometheus_status(
        slo.prometheus_source,
        slo.query,
        target=slo.target,
        window=slo.window,
        latency_threshold=threshold,
        now=now,
    )


def slo_record(slo: Slo, status: budget.Status | None, *, now: datetime) -> tuple[int, int]:
    """Write the status (None: paused, resolve everything) and apply the alerts."""
    with transaction.atomic():
        locked = Slo.objects.select_for_update().select_related("service").get(pk=slo.pk)
        if locked.evaluated_at is not None and locked.evaluated_at > now:
            return 0, 0  # a newer evaluation got there first
        if not locked.is_active:
            status = None  # paused meanwhile: nothing fires
        if status is not None:
            Slo.objects.filter(pk=slo.pk).update(
                evaluated_at=now,
                sli=status.sli,
                budget_remaining=status.budget_remaining,
                burn_rates=status.burn_rates,
                level=status.level or Slo.Level.OK,
            )
        else:
            Slo.objects.filter(pk=slo.pk).update(level=Slo.Level.OK)
        locked.refresh_from_db()
        return alerts.alerts_apply(locked, status, now=now)


def slo_evaluate(*, slo: Slo, now: datetime | None = None) -> Slo:
    """Measure and record (the module docstring); the outbox is sent by the caller."""
    now = now or timezone.now()
    try:
        status = slo_measure(slo, now=now)
    except PrometheusError as error:
        Slo.objects.filter(pk=slo.pk).update(last_error=error.message, last_error_at=now)
        logger.info("SLO %s not evaluated: %s", slo.slug, error.message)
    else:
        slo_record(slo, status, now=now)
    return Slo.objects.get(pk=slo.pk)


def slos_evaluate(
    *,
    service_ids: list[int] | None = None,
    incidents_only: bool = False,
    now: datetime | None = None,
) -> dict[str, int]:
    """Evaluate active SLOs (of ``service_ids``; ``incidents_only``: those measured by
    incidents, at once), then send the outbox. Beat's run evaluates each SLO at most once a
    minute: it claims the SLO by moving ``next_evaluation_at`` in a conditional UPDATE, so
    two overlapping runs never query Prometheus twice for one SLO."""
    now = now or timezone.now()
    slos = Slo.objects.filter(is_active=True).select_related("service", "prometheus_source")
    if service_ids is not None:
        slos = slos.filter(service_id__in=service_ids)
    if incidents_only:
        slos = slos.filter(measurement=Slo.Measurement.INCIDENTS)
    else:
        due = Q(next_evaluation_at__isnull=True) | Q(next_evaluation_at__lte=now)
        slos = slos.filter(due)
    evaluated = errors = 0
    for slo in slos.order_by("pk"):
        if not incidents_only:
            claimed = Slo.objects.filter(pk=slo.pk).filter(due)
            if claimed.update(next_evaluation_at=now + EVALUATION_INTERVAL) != 1:
                continue  # another run took it
        slo = slo_evaluate(slo=slo, now=now)
        evaluated += 1
        errors += slo.is_failing
    sent, failed = alerts.notifications_send()
    return {"evaluated": evaluated, "errors": errors, "sent": sent, "failed": failed}


# --- queueing ------------------------------------------------------------------------------------


def _queued_key(service_ids: list[int] | None) -> str:
    return "slo:queued:" + (",".join(map(str, sorted(service_ids))) if service_ids else "all")


def enqueue(*, service_ids: list[int] | None, incidents_only: bool, key: str | None = None) -> None:
    """Queue ``slos_evaluate_task`` once the transaction commits, unless the same one (``key``)
    is queued and not started. A broker outage only delays it: beat evaluates every minute."""
    from reporting.slos.tasks import slos_evaluate_task

    def send() -> None:
        if key is not None and not cache.add(key, True, timeout=QUEUED_SECONDS):
            return
        try:
            slos_evaluate_task.delay(service_ids, incidents_only)
        except (OperationalError, OSError):
            if key is not None:
                cache.delete(key)
            logger.warning("broker unavailable; SLOs are evaluated on the next beat")

    transaction.on_commit(send, robust=True)


def notifications_queue() -> None:
    """Queue the outbox sender once the transaction commits, if anything is pending."""
    from reporting.slos.tasks import slo_notifications_send_task

    def send() -> None:
        if not SloNotification.objects.filter(status=SloNotification.Status.PENDING).exists():
            return
        try:
            slo_notifications_send_task.delay()
        except (OperationalError, OSError):
            logger.warning("broker unavailable; SLO notifications go with the next beat")

    transaction.on_commit(send, robust=True)


def slos_evaluate_queue(*, service_ids: list[int] | None) -> None:
    """Incidents of these services (None: of any) changed: evaluate their incident-measured
    SLOs once this commits. Services without such SLOs queue nothing."""
    slos = Slo.objects.filter(is_active=True, measurement=Slo.Measurement.INCIDENTS)
    if service_ids is not None:
        slos = slos.filter(service_id__in=service_ids)
    if not slos.exists():
        return
    enqueue(service_ids=service_ids, incidents_only=True, key=_queued_key(service_ids))


def slos_evaluate_taken(*, service_ids: list[int] | None) -> None:
    """The queued evaluation has started: incident changes from now on queue another."""
    cache.delete(_queued_key(service_ids))
