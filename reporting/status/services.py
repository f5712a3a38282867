"""Saving status reports: who may, which periods, and the report stored as it was sent.

Saved reports are organisation-wide, so only those who see every team (admins, leads,
stakeholders) save, list and open them; members and viewers see the live report of their own
teams on the status page and nothing else (docs/status-reports.md, "Who sees what").
"""

from __future__ import annotations

from datetime import UTC, date

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from portal.access import access_for
from portal.audit import audit_record
from portal.exceptions import ApplicationError
from reporting.models import StatusReport
from reporting.status.content import build_report
from reporting.status.periods import period_slug

MAX_DAYS = 366
# Metrics have nothing older, and the date arithmetic of trends and look-backs stays in range.
EARLIEST = date(2000, 1, 1)
SLUG_ATTEMPTS = 5


def utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def may_save_reports(user) -> bool:
    """Saved reports are organisation-wide: admins, leads and stakeholders save and read them."""
    return access_for(user).sees_all_teams


def readable_reports(user):
    """Saved reports are organisation-wide: those who see every team read them, others none."""
    if may_save_reports(user):
        return StatusReport.objects.select_related("created_by")
    return StatusReport.objects.none()


def require_may_save(user) -> None:
    if not may_save_reports(user):
        raise PermissionDenied("Only leads, admins and stakeholders save status reports.")


def check_period(*, period_start: date, period_end: date) -> None:
    """A period that has begun, ends no later than today (UTC) and spans at most MAX_DAYS."""
    errors: dict[str, list[str]] = {}
    if period_start < EARLIEST:
        errors["period_start"] = [f"Must be on or after {EARLIEST.isoformat()}."]
    if period_end < period_start:
        errors["period_end"] = ["Must not be before the start."]
    elif period_end > utc_today():
        errors["period_end"] = ["Must not be in the future (days are UTC)."]
    elif (period_end - period_start).days + 1 > MAX_DAYS:
        errors["period_end"] = [f"A report covers at most {MAX_DAYS} days."]
    if errors:
        raise ApplicationError("That is not a period a report can cover.", errors)


def render_report_html(content: dict) -> str:
    """The report's body, as it is shown, printed and mailed (stored with the report)."""
    trend = content["dora"]["trend"]
    context = {
        "r": content,
        "trend_max": max((p["deployment_frequency"]["count"] for p in trend), default=0) or 1,
    }
    return render_to_string("reporting/status_report_body.html", context)


def _free_slug(base: str) -> str:
    taken = set(StatusReport.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _save(*, period_start: date, period_end: date, actor, scheduled: bool) -> StatusReport:
    """Build the content (slow: outside the transaction), then store it under a free slug."""
    content = build_report(period_start=period_start, period_end=period_end)
    html = render_report_html(content)
    base = period_slug(period_start, period_end)
    for _attempt in range(SLUG_ATTEMPTS):
        try:
            with transaction.atomic():
                report = StatusReport.objects.create(
                    slug=_free_slug(base),
                    period_start=period_start,
                    period_end=period_end,
                    content=content,
                    html=html,
                    scheduled=scheduled,
                    created_by=actor,
                )
                audit_record(
                    actor=actor,
                    action="status_report.create",
                    instance=report,
                    after={"slug": report.slug, "period": [str(period_start), str(period_end)]},
                )
                return report
        except IntegrityError:
            # Another save took the slug, or (scheduled) another digest run made this period's.
            existing = _scheduled(period_start, period_end) if scheduled else None
            if existing is not None:
                return existing
    raise ApplicationError("Could not find a free name for the report; try again.")


def _scheduled(period_start: date, period_end: date) -> StatusReport | None:
    return StatusReport.objects.filter(
        scheduled=True, period_start=period_start, period_end=period_end
    ).first()


def status_report_create(*, actor, period_start: date, period_end: date) -> StatusReport:
    """Save the report of a period now (a second one for the same period gets ``-2``)."""
    require_may_save(actor)
    check_period(period_start=period_start, period_end=period_end)
    return _save(period_start=period_start, period_end=period_end, actor=actor, scheduled=False)


def scheduled_report_for(*, period_start: date, period_end: date) -> StatusReport:
    """The digest's report of a period: made once, then every recipient gets that one."""
    return _scheduled(period_start, period_end) or _save(
        period_start=period_start, period_end=period_end, actor=None, scheduled=True
    )


def status_report_add_recipient(*, report: StatusReport, username: str) -> None:
    with transaction.atomic():
        report = StatusReport.objects.select_for_update().get(pk=report.pk)
        if username not in report.recipients:
            report.recipients = [*report.recipients, username]
            report.save(update_fields=["recipients"])
