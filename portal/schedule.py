"""Celery beat's schedule. Beat only dispatches; each task claims its own work, so a tick sent
twice (two beats by mistake) does no harm. Every entry expires before its next tick, so a queue
backed up behind a long task does not pile up copies of it."""

from __future__ import annotations


def _every(seconds: float, task: str, *, expires: float) -> dict:
    return {"task": task, "schedule": float(seconds), "options": {"expires": expires}}


def beat_schedule(*, dispatch_seconds: int) -> dict[str, dict]:
    """``dispatch_seconds``: how often due sources are queued (each polls at its own interval)."""
    return {
        "dispatch-due-sources": _every(
            dispatch_seconds,
            "pipelines.tasks.dispatch_due_sources_task",
            expires=dispatch_seconds * 5 / 6,  # 25 s of 30: gone before the next tick
        ),
        "sweep-pending-webhooks": _every(
            120, "pipelines.tasks.sweep_pending_rawevents_task", expires=110
        ),
        "refresh-rollups": _every(60, "reporting.tasks.refresh_rollups_task", expires=55),
        "evaluate-alerts": _every(300, "reporting.tasks.alerts_evaluate_task", expires=280),
        # Lifecycle policies are also evaluated after each sync and webhook batch; this catches
        # sliding windows, waiver expiry and anything a broker outage dropped (docs/policies.md).
        "evaluate-policies": _every(900, "pipelines.tasks.policies_evaluate_task", expires=840),
        # Change requests are also refreshed after each sync, webhook batch and pushed
        # deployment; this catches anything a broker outage dropped (docs/change-requests.md).
        "refresh-change-requests": _every(
            900, "pipelines.tasks.change_requests_refresh_task", expires=840
        ),
        # Hourly: each subscriber's digest goes out on the first run of their day (UTC), once.
        "send-status-digests": _every(3600, "reporting.tasks.send_status_digests", expires=3300),
        # SLOs: budgets and burn rates every minute (also after incident changes), so the
        # 5-minute burn window of the fast-burn page has fresh data (docs/slos.md).
        "evaluate-slos": _every(60, "reporting.slos.tasks.slos_evaluate_task", expires=55),
    }
