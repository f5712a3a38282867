"""The status digest: each subscriber gets the report of their last full period by email,
with the PDF attached, once.

``status_digests_send`` runs hourly (beat). For each subscriber who is due (``digest_due``):

1. Organisation-wide stakeholders without a subscription get the default one (weekly, Monday).
2. The report of the subscriber's previous period is the scheduled one, made once per period
   and reused for everyone (``scheduled_report_for``).
3. The subscription is claimed by a conditional UPDATE of ``last_sent_on`` (as healthchecks'
   sendalerts claims a check): of two runs racing, exactly one sends.
4. The email goes out after the claim, outside any transaction. If it fails, the claim is
   undone, so the next hourly run tries again; once sent, the username joins the report's
   recipients, and a report already sent to someone is not sent to them again.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from portal.exceptions import ApplicationError
from portal.models import Role
from reporting.models import DigestSubscription, StatusReport
from reporting.status.pdf import pdf_filename, render_pdf
from reporting.status.periods import digest_due, previous_period
from reporting.status.services import (
    may_save_reports,
    scheduled_report_for,
    status_report_add_recipient,
    utc_today,
)
from roadmap.selectors import awaiting_decision

logger = logging.getLogger(__name__)

Frequency = DigestSubscription.Frequency


def digest_subscription_set(*, actor, frequency: str, weekday: int) -> DigestSubscription:
    """The actor's own digest settings (there is no one else's to change)."""
    if not may_save_reports(actor):
        raise PermissionDenied("Status digests go to leads, admins and stakeholders.")
    errors = {}
    if frequency not in Frequency.values:
        errors["frequency"] = [f"One of {', '.join(Frequency.values)}."]
    if weekday not in DigestSubscription.Weekday.values:
        errors["weekday"] = ["A day from 0 (Monday) to 6 (Sunday)."]
    if errors:
        raise ApplicationError("Those digest settings do not work.", errors)
    subscription, _created = DigestSubscription.objects.update_or_create(
        user=actor, defaults={"frequency": frequency, "weekday": weekday}
    )
    return subscription


def digest_subscription_of(user) -> DigestSubscription:
    """The user's settings, or the default (unsaved): weekly on Mondays for stakeholders,
    off for everyone else."""
    found = DigestSubscription.objects.filter(user=user).first()
    if found is not None:
        return found
    stakeholder = user.memberships.filter(team=None, role=Role.STAKEHOLDER).exists()
    return DigestSubscription(
        user=user, frequency=Frequency.WEEKLY if stakeholder else Frequency.OFF
    )


def _subscriptions() -> list[DigestSubscription]:
    stakeholders = (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__team=None,
            memberships__role=Role.STAKEHOLDER,
            status_digest__isnull=True,
        )
        .distinct()
    )
    DigestSubscription.objects.bulk_create(
        [DigestSubscription(user=user) for user in stakeholders], ignore_conflicts=True
    )
    return list(
        DigestSubscription.objects.exclude(frequency=Frequency.OFF)
        .filter(user__is_active=True)
        .select_related("user")
        .order_by("pk")
    )


def _claim(subscription: DigestSubscription, today: date) -> bool:
    """Mark it sent today, if nobody did since we read it: True for exactly one racer."""
    return (
        DigestSubscription.objects.filter(
            pk=subscription.pk, last_sent_on=subscription.last_sent_on
        ).update(last_sent_on=today)
        == 1
    )


def _unclaim(subscription: DigestSubscription, today: date) -> None:
    DigestSubscription.objects.filter(pk=subscription.pk, last_sent_on=today).update(
        last_sent_on=subscription.last_sent_on
    )


def digest_message(*, report: StatusReport, user, pdf: bytes) -> EmailMessage:
    content = report.content
    body = render_to_string(
        "reporting/status_report_email.txt",
        {
            "r": content,
            "user": user,
            "awaiting": list(awaiting_decision(user)),
            "report_url": settings.SITE_URL + reverse("status_report_detail", args=[report.slug]),
            "site_url": settings.SITE_URL,
        },
    )
    message = EmailMessage(
        subject=f"Flightdeck status: {content['period']['label']}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach(pdf_filename(report), pdf, "application/pdf")
    return message


def status_digests_send(*, today: date | None = None) -> dict[str, int]:
    """Send every digest that is due; returns counts of sent, failed and skipped."""
    today = today or utc_today()
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    pdfs: dict[int, bytes] = {}
    for subscription in _subscriptions():
        user = subscription.user
        if not digest_due(
            frequency=subscription.frequency,
            weekday=subscription.weekday,
            last_sent_on=subscription.last_sent_on,
            today=today,
        ):
            continue
        if not user.email or not may_save_reports(user):
            counts["skipped"] += 1
            continue
        start, end = previous_period(subscription.frequency, today)
        report = scheduled_report_for(period_start=start, period_end=end)
        if not _claim(subscription, today):
            continue  # another run got there first
        if user.username in report.recipients:
            continue  # they had this period's report already (their weekday changed)
        if report.pk not in pdfs:
            pdfs[report.pk] = render_pdf(report)
        try:
            digest_message(report=report, user=user, pdf=pdfs[report.pk]).send()
        except OSError as error:  # smtplib's errors are OSErrors
            _unclaim(subscription, today)
            counts["failed"] += 1
            logger.warning("status digest to %s failed: %s", user.username, error)
            continue
        status_report_add_recipient(report=report, username=user.username)
        counts["sent"] += 1
    return counts
