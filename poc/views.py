"""POC pages: the list with the proposal form, one POC (scores side by side, evidence,
evaluation, criteria, decision, timeline), lifecycle buttons, and competing POCs compared.
Writes go through poc.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from poc import decisions, services
from poc.filtersets import PocFilterSet
from poc.forms import (
    CommentForm,
    CriteriaForm,
    DecideForm,
    EvaluationForm,
    EvidenceForm,
    ProposeForm,
)
from poc.models import Evidence, Poc
from poc.selectors import competing, score_summary, timeline, visible_pocs
from portal.access import access_for, visible_teams
from portal.exceptions import ApplicationError, add_to_form
from portal.uploads import attachment_response, read_upload

User = get_user_model()


def _proposable_teams(user):
    access = access_for(user)
    return visible_teams(user).filter(
        pk__in=[t.pk for t in visible_teams(user) if access.works_in(t.pk)]
    )


def _people(teams):
    return User.objects.filter(memberships__team__in=teams).distinct().order_by("username")


@login_required
def poc_list(request):
    teams = _proposable_teams(request.user)
    # Prefixed: the filters above it have fields of the same names (and ids).
    form = ProposeForm(request.POST or None, teams=teams, people=_people(teams), prefix="new")
    if request.method == "POST" and form.is_valid():
        try:
            poc = services.poc_propose(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "Proposed: a lead approves it to run.")
            return redirect("poc_detail", slug=poc.slug)
    filters = PocFilterSet(
        request.GET or None,
        queryset=visible_pocs(request.user).select_related("team", "owner", "decision"),
        request=request,
    )
    pocs = filters.qs if not filters.is_bound or filters.is_valid() else filters.queryset.none()
    rows = [(poc, score_summary(poc)) for poc in pocs.prefetch_related("criteria")]
    context = {"filters": filters, "rows": rows, "form": form}
    return render(request, "poc/list.html", context)


def _visible(request, slug: str) -> Poc:
    return get_object_or_404(
        visible_pocs(request.user).select_related("team", "quadrant", "owner", "radar_entry"),
        slug=slug,
    )


@login_required
def poc_detail(request, slug: str):
    poc = _visible(request, slug)
    user, access = request.user, access_for(request.user)
    which = request.POST.get("form") if request.method == "POST" else None
    is_evaluator = poc.evaluators.filter(pk=user.pk).exists()
    criteria = list(poc.criteria.all())
    forms = {
        "evaluation": EvaluationForm(
            request.POST if which == "evaluation" else None, criteria=criteria
        ),
        "evidence": EvidenceForm(
            request.POST if which == "evidence" else None,
            request.FILES if which == "evidence" else None,
        ),
        "criteria": CriteriaForm(
            request.POST if which == "criteria" else None,
            initial={"criteria": "\n".join(f"{c.name} = {c.weight.normalize()}" for c in criteria)},
        ),
        "decide": DecideForm(request.POST if which == "decide" else None),
    }
    if which in forms and forms[which].is_valid():
        try:
            _write(which, forms[which], poc, user)
        except ApplicationError as error:
            add_to_form(forms[which], error)
        else:
            return redirect("poc_detail", slug=poc.slug)
    summary = score_summary(poc)
    evaluated = poc.evaluations.filter(evaluator=user).exists()
    running = poc.status in {Poc.Status.RUNNING, Poc.Status.IN_REVIEW}
    people = {u.username: u for u in User.objects.filter(username__in=summary.by_evaluator)}
    scored_by = [(people[name], summary.by_evaluator[name]) for name in summary.by_evaluator]
    matrix = [
        (c, [next(((s, n) for e, s, n in c.scores if e == name), None) for name in people])
        for c in summary.criteria
    ]
    context = {
        "poc": poc,
        "summary": summary,
        "scored_by": scored_by,
        "matrix": matrix,
        "evidence": poc.evidence.defer("file_data").select_related("added_by"),
        "decision": getattr(poc, "decision", None),
        "timeline": timeline(poc),
        "competing": competing(poc, user),
        "forms": forms,
        "works_on": services.works_on(user, poc),
        "can_score": is_evaluator and running and not evaluated,
        "can_decide": access.is_lead and poc.status == Poc.Status.IN_REVIEW,
        "can_edit_criteria": services.works_on(user, poc)
        and not summary.by_evaluator
        and poc.status not in {Poc.Status.DECIDED, Poc.Status.WITHDRAWN},
        "actions": _allowed_actions(poc, user),
        "comment": CommentForm(),
    }
    return render(request, "poc/detail.html", context)


def _write(which: str, form, poc: Poc, user) -> None:
    data = form.cleaned_data
    if which == "evaluation":
        services.evaluation_submit(
            actor=user, poc=poc, scores=form.scores(), summary=data["summary"]
        )
    elif which == "evidence":
        upload = read_upload(data["file"]) if data["file"] else None
        services.evidence_add(
            actor=user, poc=poc, title=data["title"], url=data["url"],
            measurement=data["measurement"], upload=upload,
        )  # fmt: skip
    elif which == "criteria":
        services.criteria_set(actor=user, poc=poc, criteria=data["criteria"])
    elif which == "decide":
        decisions.poc_decide(
            actor=user, poc=poc, outcome=data["outcome"], rationale=data["rationale"],
            conditions=data["conditions"], review_by=data["review_by"],
            follow_ups=form.follow_ups(),
        )  # fmt: skip


def _allowed_actions(poc: Poc, user) -> list[tuple[str, str]]:
    """(action, button label) the user may take now."""
    labels = {
        "approve": "Approve to run",
        "start": "Start",
        "review": "Send for review",
        "withdraw": "Withdraw",
    }
    lead, works = access_for(user).is_lead, services.works_on(user, poc)
    return [
        (name, labels[name])
        for name, transition in services.TRANSITIONS.items()
        if poc.status in transition.sources and (lead if transition.leads_only else works)
    ]


@login_required
@require_POST
def poc_action(request, slug: str, action: str):
    poc = _visible(request, slug)
    form = CommentForm(request.POST)
    if not form.is_valid():  # a bad comment refuses the step, rather than dropping the comment
        messages.error(request, "Not done: " + form.errors.as_text())
        return redirect("poc_detail", slug=poc.slug)
    try:
        services.poc_transition(
            actor=request.user, poc=poc, action=action, comment=form.cleaned_data["comment"]
        )
    except ApplicationError as error:
        messages.error(request, error.in_words())
    else:
        poc.refresh_from_db()
        messages.success(request, f"Now {poc.get_status_display().lower()}.")
    return redirect("poc_detail", slug=poc.slug)


@login_required
def evidence_download(request, slug: str, pk: int):
    evidence = get_object_or_404(
        Evidence.objects.filter(poc__in=visible_pocs(request.user), poc__slug=slug).exclude(
            file_name=""
        ),
        pk=pk,
    )
    return attachment_response(evidence.file_name, evidence.file_data)


@login_required
def poc_compare(request, problem: str):
    pocs = visible_pocs(request.user).filter(problem_key=problem).prefetch_related("criteria")
    rows = [(poc, score_summary(poc)) for poc in pocs.select_related("team", "decision")]
    keys = []
    for _poc, summary in rows:
        keys += [(c.key, c.name) for c in summary.criteria if (c.key, c.name) not in keys]
    table = [
        (key, name, [next((c for c in s.criteria if c.key == key), None) for _p, s in rows])
        for key, name in keys
    ]
    context = {"problem": problem, "rows": rows, "table": table}
    return render(request, "poc/compare.html", context)
