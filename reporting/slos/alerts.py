"""SLO alerts: open and resolve them once each, and notify through an outbox.

The same contract as reporting.alerts (docs/metrics.md, "Alerts"): an alert level newly
firing opens one ``SloAlert``; while it keeps firing nothing more is sent; when it stops, the
alert is resolved. Each opening and resolution writes one ``SloNotification`` per channel in
the evaluation's transaction; ``notifications_send`` delivers them after commit, a failure is
retried on the next evaluation, up to ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail

from portal import outbound
from reporting.alerts import WEBHOOK_TIMEOUT_SECONDS, outbox_drain
from reporting.slos import budget
from reporting.slos.models import Slo, SloAlert, SloNotification


def alert_message(slo: Slo, status: budget.Status, level: str) -> str:
    """What fired, in words: the fastest firing rule of the level, and the budget left."""
    rules = [r for r in budget.firing_rules(status.burn_rates, slo.window) if r.level == level]
    rule = max(rules, key=lambda r: status.burn_rates[r.long] or 0)
    left = (
        f"{status.budget_remaining * 100:.1f} % of the error budget left"
        if status.budget_remaining is not None
        else "budget unknown"
    )
    return (
        f"{slo.service.name}: {slo.name} ({slo.describe}) burns its error budget "
        f"{status.burn_rates[rule.long]:.1f}x over {rule.long} and "
        f"{status.burn_rates[rule.short]:.1f}x over {rule.short} (the {level} limit is "
        f"{rule.threshold(slo.window):.2f}x); {left}."
    )


def _notify(slo: Slo, alert: SloAlert, event: str) -> None:
    channels = []
    if slo.email_list:
        channels.append(SloNotification.Channel.EMAIL)
    if slo.webhook_url:
        channels.append(SloNotification.Channel.WEBHOOK)
    SloNotification.objects.bulk_create(
        [SloNotification(alert=alert, event=event, channel=c) for c in channels],
        ignore_conflicts=True,
    )


def alerts_apply(slo: Slo, status: budget.Status | None, *, now: datetime) -> tuple[int, int]:
    """Open alerts for the levels newly firing, resolve those no longer firing (``status``
    None: the SLO is paused, nothing fires). Call inside the transaction holding the SLO's row
    lock. Returns (opened, resolved)."""
    firing = status.levels if status is not None else frozenset()
    open_alerts = {alert.level: alert for alert in slo.alerts.filter(resolved_at=None)}
    opened = resolved = 0
    for level in sorted(firing - open_alerts.keys()):
        alert = SloAlert.objects.create(
            slo=slo,
            level=level,
            message=alert_message(slo, status, level),
            burn_rates=status.burn_rates,
            opened_at=now,
        )
        _notify(slo, alert, SloNotification.Event.FIRING)
        opened += 1
    for level in sorted(open_alerts.keys() - firing):
        alert = open_alerts[level]
        alert.resolved_at = now
        alert.save(update_fields=["resolved_at"])
        _notify(slo, alert, SloNotification.Event.RESOLVED)
        resolved += 1
    return opened, resolved


def _text(notification: SloNotification) -> tuple[str, str]:
    alert = notification.alert
    level = alert.get_level_display()
    if notification.event == SloNotification.Event.FIRING:
        return f"[Flightdeck] SLO {level}: {alert.slo}", alert.message
    return (
        f"[Flightdeck] Resolved: SLO {level}: {alert.slo}",
        f"Resolved at {alert.resolved_at:%Y-%m-%d %H:%M} UTC. It was: {alert.message}",
    )


def _deliver(notification: SloNotification) -> None:
    alert = notification.alert
    slo = alert.slo
    subject, body = _text(notification)
    if notification.channel == SloNotification.Channel.EMAIL:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, slo.email_list)
        return
    # Through the SSRF guard: the URL was checked when saved, the address is checked again now.
    with outbound.guarded_session() as session:
        response = session.post(
            slo.webhook_url,
            json={
                "text": f"{subject}\n{body}",
                "slo": slo.slug,
                "service": slo.service.slug,
                "level": alert.level,
                "event": notification.event,
                "burn_rates": alert.burn_rates,
                "budget_remaining": slo.budget_remaining,
            },
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    response.raise_for_status()


def notifications_send() -> tuple[int, int]:
    """Deliver pending notifications; each is claimed (row lock, skip locked), so two senders
    never send one twice. Returns (sent, failed this round)."""
    return outbox_drain(
        SloNotification.objects.select_related("alert__slo__service"),
        _deliver,
        "SLO notification",
    )
