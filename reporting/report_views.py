"""Status report pages: the live report of last week with what awaits the reader's decision,
saved reports as they were sent (and their PDF), and one's digest settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from portal.exceptions import ApplicationError, add_to_form
from reporting.status.content import build_report
from reporting.status.digest import digest_subscription_of, digest_subscription_set
from reporting.status.forms import DigestForm, PeriodForm
from reporting.status.pdf import pdf_response
from reporting.status.periods import last_full_week
from reporting.status.services import (
    may_save_reports,
    readable_reports,
    render_report_html,
    require_may_save,
    status_report_create,
    utc_today,
)
from roadmap.selectors import awaiting_decision

SAVED_SHOWN = 100


@login_required
def status_reports(request):
    user = request.user
    may_save = may_save_reports(user)
    start, end = last_full_week(utc_today())
    form = PeriodForm(request.POST or None, initial={"period_start": start, "period_end": end})
    if request.method == "POST":
        require_may_save(user)
        if form.is_valid():
            try:
                report = status_report_create(actor=user, **form.cleaned_data)
            except ApplicationError as error:
                add_to_form(form, error)
            else:
                messages.success(request, f"Saved the status report {report.slug}.")
                return redirect("status_report_detail", slug=report.slug)
    content = build_report(period_start=start, period_end=end, viewer=user)
    context = {
        "live_html": render_report_html(content),
        "awaiting": awaiting_decision(user),
        "may_save": may_save,
        "form": form,
        "reports": readable_reports(user)[:SAVED_SHOWN],
    }
    return render(request, "reporting/status_report_list.html", context)


@login_required
def status_report_detail(request, slug: str):
    report = get_object_or_404(readable_reports(request.user), slug=slug)
    return render(request, "reporting/status_report_detail.html", {"report": report})


@login_required
def status_report_pdf(request, slug: str):
    return pdf_response(get_object_or_404(readable_reports(request.user), slug=slug))


@login_required
def status_digest(request):
    user = request.user
    if not may_save_reports(user):
        raise PermissionDenied("Status digests go to leads, admins and stakeholders.")
    subscription = digest_subscription_of(user)
    form = DigestForm(
        request.POST or None,
        initial={"frequency": subscription.frequency, "weekday": subscription.weekday},
    )
    if request.method == "POST" and form.is_valid():
        try:
            subscription = digest_subscription_set(actor=user, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, f"Digest: {subscription.get_frequency_display()}.")
            return redirect("status_digest")
    return render(
        request,
        "reporting/status_report_digest.html",
        {"form": form, "subscription": subscription},
    )
