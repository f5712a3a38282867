"""Celery interfaces to the reporting services."""

from __future__ import annotations

from celery import shared_task

from reporting.alerts import alerts_evaluate
from reporting.rollups import refresh_pending
from reporting.status.digest import status_digests_send


@shared_task
def refresh_rollups_task() -> int:
    """Drain rollup work left by writes that do not refresh themselves (admin edits, shells)."""
    return refresh_pending()


@shared_task
def alerts_evaluate_task() -> dict[str, int]:
    return alerts_evaluate()


@shared_task
def send_status_digests() -> dict[str, int]:
    """Email each due subscriber their status report (reporting.status.digest); idempotent."""
    return status_digests_send()
