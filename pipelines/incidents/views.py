"""Incident pages, under /incidents/: the list (with "open an incident"), one incident with its
timeline and the workflow's forms, its post-incident review with the actions, the reviews
with overdue actions, the reports, and the review policy (leads). Writes go through
pipelines.incidents.services; the views only pick the form and show the outcome."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from pipelines.incidents import reports, selectors, services
from pipelines.incidents.forms import (
    ActionForm,
    ImprovementConvertForm,
    InitiativeConvertForm,
    NoteForm,
    OpenForm,
    PolicyForm,
    ReportForm,
    ReviewForm,
    StepForm,
    TrainingConvertForm,
    TriageForm,
    services_to_open_for,
)
from pipelines.models import IncidentStatus, PostIncidentReview, ReviewPolicy
from portal.access import access_for, require_lead
from portal.exceptions import ApplicationError, add_to_form
from reporting.metrics.dora import Window

PAGE_SIZE = 50
STEPS = {
    "acknowledge": (services.incident_acknowledge, "Acknowledged."),
    "mitigate": (services.incident_mitigate, "Mitigated."),
    "resolve": (services.incident_resolve, "Resolved."),
}


def _query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def incident_list(request):
    filterset, rows = selectors.incident_list(user=request.user, filters=request.GET)
    may_open = services_to_open_for(request.user).exists()
    opening = request.method == "POST" and request.POST.get("form") == "open"
    # Its own ids: the filters above have a Service and a Severity too (id_service, ...).
    form = OpenForm(request.POST if opening else None, user=request.user, auto_id="open-%s")
    if opening and form.is_valid():
        try:
            incident = services.incident_open(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "Incident opened: triage it and post updates here.")
            return redirect("incident_detail", pk=incident.pk)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    attributed = selectors.attributed_deployments(page.object_list)
    for incident in page.object_list:
        incident.attributed = attributed.get(incident.pk)
    context = {
        "filterset": filterset,
        "page": page,
        "query": _query(request),
        "open_form": form if may_open else None,
        "opening": opening,
    }
    return render(request, "pipelines/incidents/list.html", context)


@login_required
def incident_detail(request, pk: int):
    incident = selectors.incident_get(user=request.user, pk=pk)
    user = request.user
    which = request.POST.get("form") if request.method == "POST" else None

    def bound(name):
        return request.POST if which == name else None

    forms = {
        "triage": TriageForm(
            bound("triage"),
            user=user,
            incident=incident,
            initial={
                "severity": incident.severity or None,
                "owner_team": incident.owner_team.slug if incident.owner_team else "",
                "commander": incident.commander.username if incident.commander else "",
            },
        ),
        "note": NoteForm(bound("note")),
    }
    if which and _respond(request, which, forms, incident):
        if which == "review" and PostIncidentReview.objects.filter(incident=incident).exists():
            return redirect("incident_review", pk=incident.pk)
        return redirect("incident_detail", pk=incident.pk)
    attributed = selectors.attributed_deployment(incident)
    review = PostIncidentReview.objects.filter(incident=incident).first()
    context = {
        "incident": incident,
        "timeline": selectors.incident_timeline(incident),
        "attributed": attributed,
        "attributed_explicitly": attributed is not None and attributed.pk == incident.deployment_id,
        "review": review,
        "review_needed": incident.severity in ReviewPolicy.current().required_severities,
        "forms": forms,
        "open_form": which,
        "may_respond": services.may_respond(user, incident),
        "is_open": incident.status != IncidentStatus.RESOLVED,
    }
    return render(request, "pipelines/incidents/detail.html", context)


def _respond(request, which: str, forms: dict, incident) -> bool:
    """Do what the posted form asks; True when done or refused with a message (redirect),
    False when a form shows its errors."""
    user = request.user
    try:
        if which in STEPS or which == "reopen":
            step = StepForm(request.POST)
            if not step.is_valid():  # a bad note refuses the step, rather than dropping the note
                messages.error(request, "Check the note: " + step.errors.as_text())
                return True
            note = step.cleaned_data["note"]
            if which == "reopen":
                services.incident_reopen(actor=user, incident=incident, reason=note)
                messages.success(request, "Reopened.")
            else:
                service, done = STEPS[which]
                service(actor=user, incident=incident, note=note)
                messages.success(request, done)
            return True
        if which == "review":
            services.review_start(actor=user, incident=incident)
            return True
        form = forms.get(which)
        if form is None or not form.is_valid():
            return False
        if which == "triage":
            services.incident_triage(actor=user, incident=incident, **form.cleaned_data)
            messages.success(request, "Triaged.")
        else:
            services.incident_note(actor=user, incident=incident, text=form.cleaned_data["text"])
    except ApplicationError as error:
        form = forms.get(which)
        if form is not None:
            add_to_form(form, error)
            return False
        messages.error(request, error.in_words())
    return True


# --- reviews --------------------------------------------------------------------------------------


@login_required
def review_list(request):
    filterset, rows = selectors.review_list(user=request.user, filters=request.GET)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page": page,
        "query": _query(request),
        "overdue": list(selectors.overdue_actions(user=request.user)[:50]),
        "policy": ReviewPolicy.current(),
        "today": timezone.localdate(),
    }
    return render(request, "pipelines/incidents/review_list.html", context)


ACTION_STEPS = {
    "done": (services.action_done, "Marked done."),
    "reopen_action": (services.action_reopen, "Open again."),
}
CONVERSIONS = {
    "to_initiative": (InitiativeConvertForm, services.action_to_initiative, "On the roadmap."),
    "to_improvement": (
        ImprovementConvertForm,
        services.action_to_improvement_action,
        "A maturity improvement action now.",
    ),
    "to_training": (TrainingConvertForm, services.action_to_training_item, "A training need."),
}


@login_required
def review_detail(request, pk: int):
    """The review of incident ``pk``."""
    review = selectors.review_get(user=request.user, incident_pk=pk)
    incident = review.incident
    which = request.POST.get("form") if request.method == "POST" else None
    edit = ReviewForm(
        request.POST if which == "edit" else None,
        initial={name: getattr(review, name) for name in ReviewForm.base_fields},
    )
    add = ActionForm(
        request.POST if which == "action" else None,
        user=request.user,
        incident=incident,
        auto_id="action-%s",
    )
    if which and _review_write(request, which, review, edit, add):
        return redirect("incident_review", pk=incident.pk)
    actions = list(
        review.actions.select_related(
            "owner",
            "team",
            "initiative",
            "improvement_action",
            "training_item__plan",
            "review__incident__service",
        )
    )
    context = {
        "review": review,
        "incident": incident,
        "timeline": selectors.incident_timeline(incident),
        "actions": actions,
        "edit": edit,
        "add": add,
        "open_form": which,
        "may_edit": services.may_respond(request.user, incident),
        "may_update": {a.pk for a in actions if services.may_update_action(request.user, a)},
        "is_lead": access_for(request.user).is_lead,
        "convert_forms": {
            "to_initiative": InitiativeConvertForm(auto_id=False),
            "to_improvement": ImprovementConvertForm(auto_id=False),
            "to_training": TrainingConvertForm(auto_id=False),
        },
    }
    return render(request, "pipelines/incidents/review.html", context)


def _review_write(request, which: str, review, edit, add) -> bool:
    user = request.user
    try:
        if which == "edit":
            if not edit.is_valid():
                return False
            services.review_update(actor=user, review=review, **edit.cleaned_data)
            messages.success(request, "Saved.")
        elif which == "publish":
            services.review_publish(actor=user, review=review)
            messages.success(request, "Published.")
        elif which == "action":
            if not add.is_valid():
                return False
            services.action_add(actor=user, review=review, **add.cleaned_data)
            messages.success(request, "Action added.")
        elif which in ACTION_STEPS or which in CONVERSIONS:
            _action_write(request, which, review)
    except ApplicationError as error:
        if which in ("edit", "action"):
            add_to_form(edit if which == "edit" else add, error)
            return False
        messages.error(request, error.in_words())
    return True


def _action_write(request, which: str, review) -> None:
    action = get_object_or_404(review.actions, pk=request.POST.get("action") or 0)
    if which in ACTION_STEPS:
        service, done = ACTION_STEPS[which]
        service(actor=request.user, action=action)
        messages.success(request, done)
        return
    form_class, service, done = CONVERSIONS[which]
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "Check the choices: " + form.errors.as_text())
        return
    service(actor=request.user, action=action, **form.cleaned_data)
    messages.success(request, done)


# --- reports and the policy -------------------------------------------------------------------


@login_required
def incident_reports(request):
    form = ReportForm(request.GET or None, user=request.user)
    days, team = 90, None
    if form.is_bound and form.is_valid():
        days, team = form.cleaned_data["days"], form.cleaned_data["team"]
    today = timezone.now().date()
    window = Window(today - timedelta(days=days - 1), today)
    context = {
        "form": form,
        "report": reports.incident_report(user=request.user, window=window, team=team),
    }
    return render(request, "pipelines/incidents/reports.html", context)


@login_required
def review_policy(request):
    require_lead(request.user)
    policy = ReviewPolicy.current()
    form = PolicyForm(
        request.POST or None,
        initial={"required_severities": policy.required_severities, "due_days": policy.due_days},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.review_policy_update(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "Review policy saved.")
            return redirect("review_policy")
    return render(request, "pipelines/incidents/policy.html", {"form": form, "policy": policy})
