"""Change request pages: the list with intake and triage, one request followed to production,
and the customer lead time per team. Writes go through pipelines.change_requests.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from pipelines.change_requests import selectors, services
from pipelines.change_requests.forms import (
    EditForm,
    IntakeForm,
    LinkForm,
    TriageForm,
    teams_to_raise_for,
)
from portal.access import access_for, visible_teams
from portal.exceptions import ApplicationError, add_to_form

PAGE_SIZE = 50
LEAD_TIME_MONTHS = {3: "3 months", 6: "6 months", 12: "12 months"}


def _triage(request, change_request, form: TriageForm) -> bool:
    """Accept or reject from a form; the refusal goes on the form. True if done."""
    try:
        services.cr_triage(actor=request.user, request=change_request, **form.cleaned_data)
    except ApplicationError as error:
        add_to_form(form, error)
        messages.error(request, f"{change_request.key}: {error.in_words()}")
        return False
    verb = "accepted" if form.cleaned_data["decision"] == "accept" else "rejected"
    messages.success(request, f"{change_request.key} {verb}.")
    return True


@login_required
def change_request_list(request):
    access = access_for(request.user)
    filterset, rows = selectors.change_request_list(user=request.user, filters=request.GET)
    which = request.POST.get("form") if request.method == "POST" else None
    # Its own ids: the filters above have a Team, a Value and an Urgency too (id_team, ...).
    intake = IntakeForm(
        request.POST if which == "intake" else None, user=request.user, auto_id="intake-%s"
    )
    if which == "intake" and intake.is_valid():
        try:
            created = services.cr_create(actor=request.user, **intake.cleaned_data)
        except ApplicationError as error:
            add_to_form(intake, error)
        else:
            messages.success(
                request,
                f"{created.key} logged: a lead triages it. Mention {created.key} in commit "
                "messages, pull request titles or deployment refs to link them.",
            )
            return redirect("change_request_detail", key=created.key)
    if which == "triage":
        change_request = selectors.change_request_get(
            user=request.user, key=request.POST.get("key", "")
        )
        form = TriageForm(request.POST)
        if form.is_valid():
            _triage(request, change_request, form)
        else:
            messages.error(request, "Choose accept or reject; a rejection needs a reason.")
        return redirect(f"{request.path}?{request.GET.urlencode()}")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
        "intake": intake if teams_to_raise_for(request.user).exists() else None,
        "open_intake": which == "intake",
        "triage_teams": _triage_teams(access),
        "is_lead": access.is_lead,
    }
    return render(request, "pipelines/change_requests/list.html", context)


def _triage_teams(access) -> set[int] | None:
    """The teams whose requests the user triages (None: every team)."""
    if access.is_lead:
        return None
    return {t for t in access.team_ids if access.has_team_role(t, "admin", "lead")}


@login_required
def change_request_detail(request, key: str):
    change_request = selectors.change_request_get(user=request.user, key=key)
    if key != change_request.key:
        return redirect("change_request_detail", key=change_request.key)
    user = request.user
    which = request.POST.get("form") if request.method == "POST" else None

    def bound(name):
        return request.POST if which == name else None

    forms = {
        "triage": TriageForm(bound("triage")),
        "edit": EditForm(
            bound("edit"),
            initial={
                "title": change_request.title,
                "value": change_request.value,
                "urgency": change_request.urgency,
                "description": change_request.description,
            },
        ),
        "link": LinkForm(bound("link"), user=user),
    }
    if which and _write(request, which, forms, change_request):
        return redirect("change_request_detail", key=change_request.key)

    followed = selectors.change_request_followed(change_request)
    status = change_request.Status
    context = {
        "cr": change_request,
        "followed": followed,
        "forms": forms,
        "open_form": which,
        "may_triage": change_request.status == status.INTAKE
        and services.may_triage(user, change_request.team_id),
        "may_work": services.may_raise(user, change_request.team_id),
        "may_start": change_request.status == status.ACCEPTED
        and services.may_raise(user, change_request.team_id),
        "editable": change_request.status != status.DELIVERED,
        "awaiting_delivery": change_request.status in services.AWAITING_DELIVERY,
    }
    return render(request, "pipelines/change_requests/detail.html", context)


def _write(request, which: str, forms: dict, change_request) -> bool:
    """Do what the posted form asks; True when done (the page redirects)."""
    user = request.user
    if which == "start":
        try:
            services.cr_start(actor=user, request=change_request)
        except ApplicationError as error:
            messages.error(request, error.in_words())
            return True
        messages.success(request, f"{change_request.key} is in progress.")
        return True
    if which == "unlink":
        return _unlink(request, change_request)
    form = forms.get(which)
    if form is None or not form.is_valid():
        return False
    try:
        if which == "triage":
            return _triage(request, change_request, form)
        if which == "edit":
            services.cr_update(actor=user, request=change_request, **form.cleaned_data)
            messages.success(request, "Saved.")
        else:
            created = services.cr_link(actor=user, request=change_request, **form.record())
            messages.success(request, "Linked." if created else "It was linked already.")
    except ApplicationError as error:
        if which == "link":
            form.add_refusal(error)
        else:
            add_to_form(form, error)
        return False
    return True


def _unlink(request, change_request) -> bool:
    form = LinkForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Nothing to unlink.")
        return True
    try:
        services.cr_unlink(actor=request.user, request=change_request, **form.record())
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Link removed.")
    return True


@login_required
def change_request_lead_time(request):
    months = request.GET.get("months", "6")
    months = int(months) if months.isdigit() and int(months) in LEAD_TIME_MONTHS else 6
    team_slug = request.GET.get("team") or None
    team = get_object_or_404(visible_teams(request.user), slug=team_slug) if team_slug else None
    report = selectors.team_lead_times(
        user=request.user, today=timezone.now().date(), months=months, team=team
    )
    context = {
        "report": report,
        "months": months,
        "ranges": LEAD_TIME_MONTHS,
        "team": team,
        "teams": visible_teams(request.user).order_by("name"),
    }
    return render(request, "pipelines/change_requests/lead_time.html", context)
