"""Celery interfaces to the SLO services: beat evaluates every minute (portal/settings.py),
incident changes queue an evaluation of their services' SLOs.

Imported while models load (reporting.slos.signals), so the services are imported in the
task bodies."""

from __future__ import annotations

from celery import shared_task


@shared_task
def slos_evaluate_task(
    service_ids: list[int] | None = None, incidents_only: bool = False
) -> dict[str, int]:
    """Evaluate the SLOs that are due (beat: no arguments), or at once the incident-measured
    SLOs of ``service_ids`` (None: of every service) after incidents changed."""
    from reporting.slos.evaluation import slos_evaluate, slos_evaluate_taken

    if incidents_only:
        slos_evaluate_taken(service_ids=service_ids)
    return slos_evaluate(service_ids=service_ids, incidents_only=incidents_only)


@shared_task
def slo_notifications_send_task() -> dict[str, int]:
    """Send the SLO alert outbox (after a page's write opened or resolved an alert)."""
    from reporting.slos.alerts import notifications_send

    sent, failed = notifications_send()
    return {"sent": sent, "failed": failed}
