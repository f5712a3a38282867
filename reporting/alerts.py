"""Alert rules: find breaches, open and resolve alerts once each, and notify through an outbox.

``alerts_evaluate`` runs every few minutes (beat). For each active rule it computes the set of
subjects in breach now (the rule's scope for a DORA key, each service whose default branch is
red too long, each source failing too long). A subject newly in breach opens an Alert; one no
longer in breach resolves its Alert. Each of those writes its notifications (email, webhook) in
the same transaction, and ``notifications_send`` delivers them after commit: a crash between
the two re-sends nothing twice and forgets nothing (the outbox row stays pending).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Max, Min, Q, QuerySet
from django.utils import timezone

from pipelines.models import CISource, PipelineRun
from portal import outbound
from portal.models import Service
from reporting.metrics.dora import Window
from reporting.models import Alert, AlertNotification, AlertRule
from reporting.selectors import ORGANISATION, RollupScope, dora_totals

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
WEBHOOK_TIMEOUT_SECONDS = 5
SCOPE = "scope"  # the subject of a DORA rule: its whole scope


@dataclass(frozen=True)
class Breach:
    subject: str
    message: str
    value: float | None = None


def _scope_services(rule: AlertRule):
    if rule.service_id:
        return Service.objects.filter(pk=rule.service_id)
    if rule.team_id:
        return Service.objects.filter(team_id=rule.team_id)
    return Service.objects.all()


def _scope_name(rule: AlertRule) -> str:
    if rule.service_id:
        return rule.service.name
    if rule.team_id:
        return rule.team.name
    return "the organisation"


def _dora_value(rule: AlertRule, now: datetime) -> float | None:
    """The rule's key over the last ``window_days`` full days up to today, in the rule's unit."""
    end = now.astimezone(UTC).date()
    window = Window(end - timedelta(days=rule.window_days - 1), end)
    scope = ORGANISATION
    if rule.service_id:
        scope = RollupScope.of_services([rule.service_id])
    elif rule.team_id:
        scope = RollupScope.of_teams([rule.team_id])
    totals = dora_totals(scope=scope, window=window)
    Metric = AlertRule.Metric
    values = {
        Metric.CHANGE_FAILURE_RATE: totals.change_failure_rate,
        Metric.REWORK_RATE: totals.rework_rate,
        Metric.LEAD_TIME: totals.lead_time_median,
        Metric.RECOVERY: totals.recovery_median,
        Metric.FREQUENCY: totals.per_day,
    }
    value = values[rule.metric]
    if value is None:
        return None
    if rule.metric in {Metric.CHANGE_FAILURE_RATE, Metric.REWORK_RATE}:
        return value * 100
    if rule.metric in {Metric.LEAD_TIME, Metric.RECOVERY}:
        return value / 3600
    return value


def _dora_breaches(rule: AlertRule, now: datetime) -> list[Breach]:
    value = _dora_value(rule, now)
    if value is None:  # nothing to measure is not a breach
        return []
    above = rule.comparison == AlertRule.Comparison.ABOVE
    if (value > rule.threshold) if above else (value < rule.threshold):
        label = AlertRule.Metric(rule.metric).label
        return [
            Breach(
                SCOPE,
                f"{label} is {value:.1f} over the last {rule.window_days} days for "
                f"{_scope_name(rule)} ({rule.comparison} the limit of {rule.threshold:g}).",
                value,
            )
        ]
    return []


def _red_branch_breaches(rule: AlertRule, now: datetime) -> list[Breach]:
    """Services whose default branch's latest finished run failed, and whose first failure
    since the last success is at least ``hours`` old."""
    runs = PipelineRun.objects.filter(
        service__in=_scope_services(rule), branch=F("service__default_branch")
    ).exclude(finished_at=None)
    latest = {
        r["service_id"]: r["status"]
        for r in runs.order_by("service_id", "-finished_at")
        .distinct("service_id")
        .values("service_id", "status")
    }
    red = [service_id for service_id, status in latest.items() if status == "failure"]
    last_green = dict(
        runs.filter(service_id__in=red, status="success")
        .values("service_id")
        .annotate(at=Max("finished_at"))
        .values_list("service_id", "at")
    )
    breaches = []
    failures = runs.filter(service_id__in=red, status="failure")
    since_of = {}
    for service_id in red:
        after = failures.filter(service_id=service_id)
        if last_green.get(service_id):
            after = after.filter(finished_at__gt=last_green[service_id])
        since_of[service_id] = after.aggregate(at=Min("finished_at"))["at"]
    names = Service.objects.in_bulk(red)
    for service_id, since in since_of.items():
        hours = (now - since).total_seconds() / 3600
        if hours >= rule.hours:
            service = names[service_id]
            breaches.append(
                Breach(
                    service.slug,
                    f"The default branch ({service.default_branch}) of {service.name} has been "
                    f"red for {hours:.1f} hours (limit {rule.hours} h).",
                    hours,
                )
            )
    return breaches


def _source_breaches(rule: AlertRule, now: datetime) -> list[Breach]:
    """Active sources whose last error is newer than their last success, with no success for
    ``hours`` (or none ever, for a source older than that)."""
    limit = now - timedelta(hours=rule.hours)
    failing = CISource.objects.filter(is_active=True, last_error_at__isnull=False).filter(
        Q(last_success_at__isnull=True, created_at__lte=limit)
        | Q(last_success_at__lte=limit, last_error_at__gt=F("last_success_at"))
    )
    return [
        Breach(
            source.slug,
            f"{source.name} has not synced since "
            f"{source.last_success_at:%Y-%m-%d %H:%M} UTC: {source.last_error[:300]}"
            if source.last_success_at
            else f"{source.name} has never synced: {source.last_error[:300]}",
        )
        for source in failing
    ]


BREACHES = {
    AlertRule.Kind.DORA: _dora_breaches,
    AlertRule.Kind.RED_BRANCH: _red_branch_breaches,
    AlertRule.Kind.SOURCE_FAILING: _source_breaches,
}


def _notify(rule: AlertRule, alert: Alert, event: str) -> None:
    channels = []
    if rule.email_list:
        channels.append(AlertNotification.Channel.EMAIL)
    if rule.webhook_url:
        channels.append(AlertNotification.Channel.WEBHOOK)
    AlertNotification.objects.bulk_create(
        [AlertNotification(alert=alert, event=event, channel=c) for c in channels],
        ignore_conflicts=True,
    )


def rule_evaluate(rule: AlertRule, *, now: datetime) -> tuple[int, int]:
    """Open alerts for new breaches and resolve those that ended; returns (opened, resolved)."""
    with transaction.atomic():
        # One evaluation per rule at a time: a second beat waits here, then finds the work done.
        rule = (
            AlertRule.objects.select_for_update(of=("self",))
            .select_related("team", "service")
            .get(pk=rule.pk)
        )
        breaches = {b.subject: b for b in BREACHES[rule.kind](rule, now)} if rule.is_active else {}
        open_alerts = {a.subject: a for a in rule.alerts.filter(resolved_at=None)}
        for subject in breaches.keys() - open_alerts.keys():
            breach = breaches[subject]
            alert = Alert.objects.create(
                rule=rule,
                subject=subject,
                message=breach.message,
                value=breach.value,
                opened_at=now,
            )
            _notify(rule, alert, AlertNotification.Event.FIRING)
        for subject in open_alerts.keys() - breaches.keys():
            alert = open_alerts[subject]
            alert.resolved_at = now
            alert.save(update_fields=["resolved_at"])
            _notify(rule, alert, AlertNotification.Event.RESOLVED)
        return len(breaches.keys() - open_alerts.keys()), len(open_alerts.keys() - breaches.keys())


def alerts_evaluate(*, now: datetime | None = None) -> dict[str, int]:
    """Evaluate every rule (inactive ones resolve their open alerts), then send the outbox."""
    now = now or timezone.now()
    opened = resolved = 0
    for rule in AlertRule.objects.all():
        rule_opened, rule_resolved = rule_evaluate(rule, now=now)
        opened, resolved = opened + rule_opened, resolved + rule_resolved
    sent, failed = notifications_send()
    return {"opened": opened, "resolved": resolved, "sent": sent, "failed": failed}


def _text(notification: AlertNotification) -> tuple[str, str]:
    alert, rule = notification.alert, notification.alert.rule
    if notification.event == AlertNotification.Event.FIRING:
        return f"[Flightdeck] {rule.name}", alert.message
    return (
        f"[Flightdeck] Resolved: {rule.name}",
        f"Resolved at {alert.resolved_at:%Y-%m-%d %H:%M} UTC. It was: {alert.message}",
    )


def _deliver(notification: AlertNotification) -> None:
    rule = notification.alert.rule
    subject, body = _text(notification)
    if notification.channel == AlertNotification.Channel.EMAIL:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, rule.email_list)
        return
    # Through the SSRF guard: the URL was checked when saved, the address is checked again now.
    with outbound.guarded_session() as session:
        response = session.post(
            rule.webhook_url,
            json={
                "text": f"{subject}\n{body}",
                "rule": rule.name,
                "event": notification.event,
                "subject": notification.alert.subject,
                "value": notification.alert.value,
            },
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    response.raise_for_status()


def notifications_send() -> tuple[int, int]:
    """Deliver pending notifications; each is claimed, so two senders never send one twice.

    Returns (sent, failed this round). A failure stays pending until MAX_ATTEMPTS, then failed.
    """
    return outbox_drain(
        AlertNotification.objects.select_related("alert__rule"), _deliver, "alert notification"
    )


def outbox_drain(pending: QuerySet, deliver: Callable, what: str) -> tuple[int, int]:
    """Send an outbox's pending notifications (``pending``: a queryset of a model with
    ``Status`` PENDING/SENT/FAILED, ``attempts``, ``last_error`` and ``sent_at``) one at a
    time, each claimed with a row lock that other senders skip. Returns (sent, failed)."""
    status = pending.model.Status
    sent = failed = 0
    tried: list[int] = []  # a failure waits for the next round, not the next loop
    while True:
        with transaction.atomic():
            notification = (
                pending.select_for_update(skip_locked=True, of=("self",))
                .filter(status=status.PENDING)
                .exclude(pk__in=tried)
                .order_by("pk")
                .first()
            )
            if notification is None:
                break
            tried.append(notification.pk)
            notification.attempts += 1
            try:
                deliver(notification)
            except (OSError, requests.RequestException) as error:
                notification.last_error = str(error)[:1000]
                if notification.attempts >= MAX_ATTEMPTS:
                    notification.status = status.FAILED
                failed += 1
                logger.warning("%s %s failed: %s", what, notification.pk, error)
            else:
                notification.status = status.SENT
                notification.sent_at = timezone.now()
                notification.last_error = ""
                sent += 1
            notification.save()
    return sent, failed
